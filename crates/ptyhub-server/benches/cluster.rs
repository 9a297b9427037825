//! Several machines (issue 17): the real `ptyhub serve` binary as three
//! nodes on one `redis-server` of the bench's own (a free loopback port, a
//! temporary config, stopped by its pid), all on this machine.
//!
//! - echo: single-byte keystrokes into `cat` on node A, attached directly
//!   to A and through node B (which forwards the socket), alternating in
//!   the same run; p50 and p99 of each, and the difference;
//! - flood: 100 MB of output read directly from A and through B: MB/s and
//!   the ratio;
//! - listing: `GET /api/sessions` through A with `CLUSTER_SESSIONS`
//!   sessions spread over the three nodes (A asks B and C): p50 and p99;
//! - a killed node: SIGKILL to C, then the time until A lists C's sessions
//!   as `error` / `node_lost`.
//!
//! `cargo build --release -p ptyhub && cargo bench -p ptyhub-server --bench cluster`
//! (env `CLUSTER_RUNS`, `CLUSTER_BYTES`, `CLUSTER_KEYS`, `CLUSTER_SESSIONS`,
//! `CLUSTER_LISTS`, `PTYHUB_BIN`). Without `--bench` (as under `cargo test
//! --all-targets`) it only does a tiny smoke run.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::SinkExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

#[path = "../../ptyhub-pty/benches/baseline/mod.rs"]
mod baseline;
mod served;

use baseline::{GATE_ECHO, WARMUP_KEYS, env_or, flood_command, key, median, percentile, verdict};
use served::{Served, next, ptyhub_binary};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The bench's own `redis-server`; SIGKILL by its pid on drop.
struct Redis {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Redis {
    fn start() -> Redis {
        let dir = tempfile::Builder::new()
            .prefix("ptyhub-bench-redis-")
            .tempdir()
            .expect("a temp dir");
        let port = free_port();
        let conf = dir.path().join("redis.conf");
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\nsave \"\"\nappendonly no\ndir {}\n",
                dir.path().display()
            ),
        )
        .expect("write redis.conf");
        let child = Command::new("redis-server")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (apt-get install -y redis-server)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server listens on {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Redis {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Err(e) = self.child.kill() {
            eprintln!("SIGKILL to redis-server: {e}");
        }
        if let Err(e) = self.child.wait() {
            eprintln!("waiting for redis-server: {e}");
        }
    }
}

/// Node `name` on a port of its own, on `redis`.
fn node(name: &str, redis: &Redis) -> Served {
    let port = free_port();
    let extra = format!(
        "max_sessions = 2000\nlinger = \"60s\"\n[cluster]\nredis_url = \"redis://127.0.0.1:{}/0\"\n\
         node = \"{name}\"\nadvertise_url = \"http://127.0.0.1:{port}\"\n",
        redis.port
    );
    Served::start_at(&ptyhub_binary(), &format!("127.0.0.1:{port}"), &extra)
}

/// Waits until `via` lists `n` sessions that `pred` accepts; the time it
/// took.
async fn until_listed(
    via: &Served,
    n: usize,
    within: Duration,
    pred: impl Fn(&Value) -> bool,
) -> Duration {
    let start = Instant::now();
    loop {
        let (status, body) = via.http("GET", "/api/sessions", &Value::Null).await;
        assert_eq!(status, 200, "{body}");
        let count = body["sessions"]
            .as_array()
            .map_or(0, |l| l.iter().filter(|s| pred(s)).count());
        if count >= n {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "{count} of {n} listed after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

struct Plan {
    runs: usize,
    bytes: u64,
    keys: usize,
    sessions: usize,
    lists: usize,
}

impl Plan {
    fn from_env(smoke: bool) -> Plan {
        Plan {
            runs: env_or("CLUSTER_RUNS", if smoke { 1 } else { 5 }),
            bytes: env_or("CLUSTER_BYTES", if smoke { 1_000_000 } else { 100_000_000 }),
            keys: env_or("CLUSTER_KEYS", if smoke { 100 } else { 2000 }),
            sessions: env_or("CLUSTER_SESSIONS", if smoke { 9 } else { 1000 }),
            lists: env_or("CLUSTER_LISTS", if smoke { 10 } else { 200 }),
        }
    }
}

/// A flood in a session of `owner`, read through `via`: MB/s.
async fn flood(owner: &Served, via: &Served, bytes: u64) -> f64 {
    let script = format!("read go; {}", flood_command(bytes));
    let id = owner.create(&["sh", "-c", &script]).await;
    let mut ws = via.attach(&id).await;
    let start = Instant::now();
    ws.send(Message::binary(&b"\n"[..]))
        .await
        .expect("start the flood");
    let mut total = 0u64;
    loop {
        match next(&mut ws).await {
            Message::Binary(b) => total += b.len() as u64,
            Message::Text(t) => {
                let event: Value = serde_json::from_str(&t).expect("JSON");
                match event["type"].as_str() {
                    Some("exit") => break,
                    Some("lagged") => panic!("the only client was lagged: {event}"),
                    _ => {}
                }
            }
            other => panic!("unexpected frame during the flood: {other:?}"),
        }
    }
    let wall = start.elapsed().as_secs_f64();
    assert!(total >= bytes + GATE_ECHO - 1, "read {total} of {bytes}");
    (total - GATE_ECHO) as f64 / wall / 1e6
}

/// Echo times (µs) of `keys` keystrokes into `cat` on `owner`, typed
/// through `via`.
async fn echo(owner: &Served, via: &Served, keys: usize) -> Vec<f64> {
    let id = owner.create(&["cat"]).await;
    let mut ws = via.attach(&id).await;
    let mut times = Vec::with_capacity(keys);
    for i in 0..WARMUP_KEYS + keys {
        let start = Instant::now();
        ws.send(Message::binary(vec![key(i)])).await.expect("type");
        let echoed = loop {
            match next(&mut ws).await {
                Message::Binary(b) => break b,
                Message::Text(_) => {}
                other => panic!("unexpected frame: {other:?}"),
            }
        };
        let took = start.elapsed();
        assert_eq!(&echoed[..], &[key(i)], "the echo, alone");
        if i >= WARMUP_KEYS {
            times.push(took.as_secs_f64() * 1e6);
        }
    }
    owner.delete(&id).await;
    times
}

async fn bench(plan: Plan) {
    let redis = Redis::start();
    let a = node("node-a", &redis);
    let b = node("node-b", &redis);
    // B must know A before it forwards to it.
    let probe = a.create(&["sleep", "100"]).await;
    until_listed(&b, 1, Duration::from_secs(10), |s| {
        s["id"] == probe.as_str()
    })
    .await;
    a.delete(&probe).await;

    let (mut direct_mbs, mut forwarded_mbs) = (Vec::new(), Vec::new());
    let (mut d50, mut d99, mut f50, mut f99) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for run in 0..plan.runs {
        // Alternate the order so that neither side always runs on a warmer machine.
        let (d, f) = if run % 2 == 0 {
            let d = flood(&a, &a, plan.bytes).await;
            (d, flood(&a, &b, plan.bytes).await)
        } else {
            let f = flood(&a, &b, plan.bytes).await;
            (flood(&a, &a, plan.bytes).await, f)
        };
        let (de, fe) = if run % 2 == 0 {
            let de = echo(&a, &a, plan.keys).await;
            (de, echo(&a, &b, plan.keys).await)
        } else {
            let fe = echo(&a, &b, plan.keys).await;
            (echo(&a, &a, plan.keys).await, fe)
        };
        let (p50d, p99d) = (percentile(de.clone(), 0.5), percentile(de, 0.99));
        let (p50f, p99f) = (percentile(fe.clone(), 0.5), percentile(fe, 0.99));
        println!(
            "run {run}: flood direct {d:.1} MB/s, through B {f:.1} MB/s | echo direct p50 {p50d:.1} p99 {p99d:.1} µs, through B p50 {p50f:.1} p99 {p99f:.1} µs"
        );
        direct_mbs.push(d);
        forwarded_mbs.push(f);
        d50.push(p50d);
        d99.push(p99d);
        f50.push(p50f);
        f99.push(p99f);
    }

    // Listing: sessions over three nodes, listed through A.
    let c = node("node-c", &redis);
    let nodes = [&a, &b, &c];
    let mut on_c = 0;
    for i in 0..plan.sessions {
        nodes[i % 3].create(&["sleep", "3600"]).await;
        if i % 3 == 2 {
            on_c += 1;
        }
    }
    until_listed(&a, plan.sessions, Duration::from_secs(30), |s| {
        s["status"] != "error"
    })
    .await;
    let mut lists = Vec::with_capacity(plan.lists);
    for _ in 0..plan.lists {
        let start = Instant::now();
        let (status, body) = a.http("GET", "/api/sessions", &Value::Null).await;
        lists.push(start.elapsed().as_secs_f64() * 1e3);
        assert_eq!(status, 200);
        assert!(body["sessions"].as_array().map_or(0, Vec::len) >= plan.sessions);
    }
    let (l50, l99) = (percentile(lists.clone(), 0.5), percentile(lists, 0.99));

    // A killed node: C's sessions reported lost.
    // By its pid, left unreaped: `Served`'s drop reaps it.
    let pid = rustix::process::Pid::from_child(&c.child);
    rustix::process::kill_process(pid, rustix::process::Signal::KILL).expect("SIGKILL node C");
    let lost = until_listed(&a, on_c, Duration::from_secs(30), |s| {
        s["node"] == "node-c" && s["exit"]["reason"] == "node_lost"
    })
    .await;
    drop(c);

    let (dm, fm) = (median(direct_mbs), median(forwarded_mbs));
    let (d50, d99, f50, f99) = (median(d50), median(d99), median(f50), median(f99));
    let ratio = fm / dm;
    println!();
    println!(
        "median of {} runs; floods of {} bytes, {} keystrokes each; listing {} times with {} sessions on 3 nodes:",
        plan.runs, plan.bytes, plan.keys, plan.lists, plan.sessions
    );
    println!("| what | flood MB/s | echo p50 µs | echo p99 µs |");
    println!("| --- | --- | --- | --- |");
    println!("| attached to the owner (A) | {dm:.1} | {d50:.1} | {d99:.1} |");
    println!("| through another node (B → A) | {fm:.1} | {f50:.1} | {f99:.1} |");
    println!();
    println!("| target | measured | |");
    println!("| --- | --- | --- |");
    println!(
        "| echo through a forwarding node: p50 at most +150 µs | +{:.1} µs | {} |",
        f50 - d50,
        verdict(f50 - d50 <= 150.0)
    );
    println!(
        "| flood through a forwarding node >= 0.8x direct | {ratio:.2}x | {} |",
        verdict(ratio >= 0.8)
    );
    println!(
        "| listing {} sessions over 3 nodes: p99 < 50 ms | p50 {l50:.1} ms, p99 {l99:.1} ms | {} |",
        plan.sessions,
        verdict(l99 < 50.0)
    );
    println!(
        "| a SIGKILLed node's sessions listed `node_lost` within 15 s | {:.1} s | {} |",
        lost.as_secs_f64(),
        verdict(lost < Duration::from_secs(15))
    );
    drop((a, b, redis));
}

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    if smoke {
        println!("smoke run (no --bench): tiny sizes, the numbers mean nothing");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(bench(Plan::from_env(smoke)));
}
