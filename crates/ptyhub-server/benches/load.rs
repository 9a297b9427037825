//! Load benchmarks of the whole server (issues 5 and 18): the real `ptyhub
//! serve` binary on `127.0.0.1:0`, driven over HTTP and a `ptyhub.v1`
//! WebSocket by this process, each against a bare portable-pty PTY that
//! this process reads itself in the same run (the machine is small and
//! noisy):
//!
//! - flood: 100 MB of `yes` output through the server and its socket: MB/s
//!   and the server process's CPU seconds per 100 MB (from
//!   `/proc/<pid>/stat`, so the client's work is not counted);
//! - echo: single-byte keystrokes into `cat` (the terminal's echo on), each
//!   a binary frame, timed until the echoed byte is back; p50 and p99. On
//!   the same socket, as many `ping` → `pong` round trips (no PTY on that
//!   path): what the socket, the server's loop and the runtimes cost alone.
//!
//! The echo and ping loops also run, in the same runs and interleaved with
//! the others, against a minimal relay (module `relay`): this binary run
//! again as a process of its own that relays WebSocket frames to and from
//! `cat` on a PTY and does nothing else. It is the right baseline for a
//! server: the bare PTY's echo crosses no process boundary and no socket,
//! the relay's crosses the same ones as ptyhub's. For each server, the
//! scheduler's counters of its threads (module `threads`) give what it
//! spends per keystroke and per ping: CPU time, times a thread was put on
//! a CPU (its wake-ups) and time spent waiting for one. `LOAD_RELAY_SHAPE`
//! gives the relay parts of ptyhub's shape, to measure what they cost.
//!
//! `cargo build --release -p ptyhub && cargo bench -p ptyhub-server --bench load`
//! (env `LOAD_RUNS`, `LOAD_BYTES`, `LOAD_KEYS`, `PTYHUB_BIN`,
//! `LOAD_RELAY_SHAPE`). Without `--bench` (as under `cargo test
//! --all-targets`) it only does a tiny smoke run.

use std::time::Instant;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

#[path = "../../ptyhub-pty/benches/baseline/mod.rs"]
mod baseline;
mod relay;
mod served;
mod threads;

use procfs::process::Process;
use relay::Relay;
use served::{DEADLINE, Served, Socket, next, ptyhub_binary};
use threads::Threads;

use baseline::{
    Flood, GATE_ECHO, WARMUP_KEYS, bare_echo, bare_output, cpu_seconds, env_or, flood_command, key,
    median, percentile, verdict,
};

/// The flood, then a marker line: once the server's screen shows the
/// marker, it has parsed every byte (`/wait` tells when).
fn marked_flood(bytes: u64) -> String {
    format!("{}; echo; echo flood-done", flood_command(bytes))
}

/// How much to do: the full benchmark, or the smoke run of `cargo test`.
struct Plan {
    runs: usize,
    bytes: u64,
    keys: usize,
}

impl Plan {
    fn from_env(smoke: bool) -> Plan {
        Plan {
            runs: env_or("LOAD_RUNS", if smoke { 1 } else { 5 }),
            bytes: env_or("LOAD_BYTES", if smoke { 1_000_000 } else { 100_000_000 }),
            keys: env_or("LOAD_KEYS", if smoke { 200 } else { 2000 }),
        }
    }
}

/// The flood through the server: (the server's side, this client's CPU).
/// The program waits for a line until the socket is attached from offset
/// 0; the time runs from before the session is created, as the baseline's
/// from before its spawn, to the exit event. The server's CPU is counted
/// until its screen has parsed the marker line.
async fn server_flood(server: &Served, bytes: u64) -> (Flood, f64) {
    let script = format!("read go; {}", marked_flood(bytes));
    let (cpu0, client0) = (server.cpu(), cpu_seconds());
    let start = Instant::now();
    let id = server.create(&["sh", "-c", &script]).await;
    let mut ws = server.attach(&id).await;
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
    let wall = start.elapsed();
    let client_cpu = cpu_seconds() - client0;
    let (status, body) = server
        .http(
            "POST",
            &format!("/api/sessions/{id}/wait"),
            &json!({"pattern": "^flood-done$", "timeout_ms": 60_000}),
        )
        .await;
    assert_eq!(status, 200, "the screen reaches the marker: {body}");
    let cpu = server.cpu() - cpu0;
    // The close frame follows the exit.
    while let Ok(Some(Ok(frame))) = tokio::time::timeout(DEADLINE, ws.next()).await {
        if frame.is_close() {
            break;
        }
    }
    (
        Flood {
            bytes: total - GATE_ECHO,
            wall,
            cpu,
        },
        client_cpu,
    )
}

/// What the echo loop measured on one socket.
struct Echo {
    /// Keystroke round trips, µs.
    keys: Vec<f64>,
    /// `ping` → `pong` round trips, µs.
    pings: Vec<f64>,
    /// The serving process's threads over the timed keystrokes.
    key_threads: Threads,
    /// This bench's own threads (the client) over the same keystrokes.
    client_threads: Threads,
    /// The serving process's threads over the timed pings.
    ping_threads: Threads,
    /// The serving process's id.
    server_pid: i32,
    /// When the timed keystrokes and the timed pings began and ended,
    /// `CLOCK_MONOTONIC` seconds (the clock of `perf sched record -k
    /// CLOCK_MONOTONIC`, for `wakeups.py`).
    key_window: (f64, f64),
    ping_window: (f64, f64),
}

/// `CLOCK_MONOTONIC`, seconds.
fn monotonic() -> f64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    t.tv_sec as f64 + t.tv_nsec as f64 / 1e9
}

/// One keystroke: a binary frame, timed until its echo is back, µs.
async fn keystroke(ws: &mut Socket, i: usize) -> f64 {
    let start = Instant::now();
    ws.send(Message::binary(vec![key(i)])).await.expect("type");
    let echo = loop {
        match next(ws).await {
            Message::Binary(b) => break b,
            // Events (status, size) are not the echo.
            Message::Text(_) => {}
            other => panic!("unexpected frame: {other:?}"),
        }
    };
    let took = start.elapsed();
    assert_eq!(&echo[..], &[key(i)], "the echo, alone");
    took.as_secs_f64() * 1e6
}

/// One `ping` → `pong` round trip, µs.
async fn ping(ws: &mut Socket) -> f64 {
    let start = Instant::now();
    ws.send(Message::text(r#"{"type":"ping"}"#))
        .await
        .expect("ping");
    loop {
        if let Message::Text(t) = next(ws).await
            && serde_json::from_str::<Value>(&t).expect("JSON")["type"] == "pong"
        {
            break;
        }
    }
    start.elapsed().as_secs_f64() * 1e6
}

/// The echo loop, the same for every server: `keys` keystrokes into `cat`
/// on the other end of `ws`, then as many pings, each after
/// [`WARMUP_KEYS`] untimed ones; with `server`'s and this process's
/// scheduler counters over the timed part.
async fn drive(ws: &mut Socket, keys: usize, server: &Process) -> Echo {
    let client = Process::myself().expect("own process");
    for i in 0..WARMUP_KEYS {
        keystroke(ws, i).await;
    }
    let (server0, client0) = (Threads::of(server), Threads::of(&client));
    let mut times = Vec::with_capacity(keys);
    let key_start = monotonic();
    for i in WARMUP_KEYS..WARMUP_KEYS + keys {
        times.push(keystroke(ws, i).await);
    }
    let key_window = (key_start, monotonic());
    let key_threads = Threads::of(server).since(&server0);
    let client_threads = Threads::of(&client).since(&client0);
    for _ in 0..WARMUP_KEYS {
        ping(ws).await;
    }
    let server0 = Threads::of(server);
    let mut pings = Vec::with_capacity(keys);
    let ping_start = monotonic();
    for _ in 0..keys {
        pings.push(ping(ws).await);
    }
    let ping_window = (ping_start, monotonic());
    Echo {
        keys: times,
        pings,
        key_threads,
        client_threads,
        ping_threads: Threads::of(server).since(&server0),
        server_pid: server.pid,
        key_window,
        ping_window,
    }
}

/// The echo loop through `ptyhub serve`: a session of `cat`, attached from
/// offset 0, deleted after.
async fn server_echo(server: &Served, keys: usize) -> Echo {
    let id = server.create(&["cat"]).await;
    let mut ws = server.attach(&id).await;
    let echo = drive(&mut ws, keys, &server.process).await;
    server.delete(&id).await;
    echo
}

/// The echo loop through a fresh [`Relay`] process, ended after.
async fn relay_echo(keys: usize) -> Echo {
    let relay = Relay::start();
    let mut ws = relay.connect().await;
    let echo = drive(&mut ws, keys, &relay.process).await;
    // Its socket closed, the relay ends `cat` and exits; the drop reaps it.
    drop(ws);
    drop(relay);
    echo
}

/// One run's figures of an echo loop through a server.
struct EchoRun {
    p50: f64,
    p99: f64,
    ping50: f64,
    ping99: f64,
    /// The server process per timed keystroke: CPU µs, times its threads
    /// were put on a CPU, µs they waited in a run queue.
    cpu_us: f64,
    runs: f64,
    wait_us: f64,
    /// The same per ping.
    ping_cpu_us: f64,
    ping_runs: f64,
}

impl EchoRun {
    fn of(echo: &Echo) -> EchoRun {
        let keys = echo.keys.len() as f64;
        let pings = echo.pings.len() as f64;
        EchoRun {
            p50: percentile(echo.keys.clone(), 0.5),
            p99: percentile(echo.keys.clone(), 0.99),
            ping50: percentile(echo.pings.clone(), 0.5),
            ping99: percentile(echo.pings.clone(), 0.99),
            cpu_us: echo.key_threads.cpu_ns() as f64 / 1e3 / keys,
            runs: echo.key_threads.runs() as f64 / keys,
            wait_us: echo.key_threads.wait_ns() as f64 / 1e3 / keys,
            ping_cpu_us: echo.ping_threads.cpu_ns() as f64 / 1e3 / pings,
            ping_runs: echo.ping_threads.runs() as f64 / pings,
        }
    }
}

/// The median over runs of one figure.
fn median_of(runs: &[EchoRun], figure: impl Fn(&EchoRun) -> f64) -> f64 {
    median(runs.iter().map(figure).collect())
}

/// One figure of every run, for the bimodal ones.
fn each(values: impl Iterator<Item = f64>) -> String {
    values
        .map(|v| format!("{v:.1}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What an echo loop runs against.
#[derive(Clone, Copy)]
enum Side {
    Bare,
    Relay,
    Hub,
}

/// The echo loops' order in run `run`: every order in turn, so that no side
/// always runs first or last on this noisy machine.
fn echo_order(run: usize) -> [Side; 3] {
    use Side::{Bare, Hub, Relay};
    const ORDERS: [[Side; 3]; 6] = [
        [Bare, Relay, Hub],
        [Hub, Relay, Bare],
        [Relay, Bare, Hub],
        [Hub, Bare, Relay],
        [Bare, Hub, Relay],
        [Relay, Hub, Bare],
    ];
    ORDERS[run % ORDERS.len()]
}

async fn bench(plan: Plan, server: Served) {
    let mut bare_floods = Vec::new();
    let mut server_floods = Vec::new();
    let mut client_cpus = Vec::new();
    let (mut bare_p50, mut bare_p99) = (Vec::new(), Vec::new());
    let mut relay_runs = Vec::new();
    let mut hub_runs = Vec::new();
    for run in 0..plan.runs {
        let bytes = plan.bytes;
        let keys = plan.keys;
        let bare = || async move {
            let flood = tokio::task::spawn_blocking(move || bare_output(&marked_flood(bytes)));
            flood.await.expect("bare flood")
        };
        // Alternate the order so that neither side always runs on a warmer machine.
        let (b, (h, client_cpu)) = if run % 2 == 0 {
            let b = bare().await;
            (b, server_flood(&server, bytes).await)
        } else {
            let h = server_flood(&server, bytes).await;
            (bare().await, h)
        };
        assert_eq!(b.bytes, h.bytes, "both sides read the same stream");
        let (mut bare_keys, mut relay, mut hub) = (None, None, None);
        for side in echo_order(run) {
            match side {
                Side::Bare => {
                    let echo = tokio::task::spawn_blocking(move || bare_echo(keys));
                    bare_keys = Some(echo.await.expect("bare echo"));
                }
                Side::Relay => relay = Some(relay_echo(keys).await),
                Side::Hub => hub = Some(server_echo(&server, keys).await),
            }
        }
        let (bk, relay, hub) = (
            bare_keys.expect("bare echo ran"),
            relay.expect("relay echo ran"),
            hub.expect("ptyhub echo ran"),
        );
        let (b50, b99) = (percentile(bk.clone(), 0.5), percentile(bk, 0.99));
        let (r, hr) = (EchoRun::of(&relay), EchoRun::of(&hub));
        println!(
            "run {run}: flood bare {:.1} MB/s | server {:.1} MB/s, server CPU {:.2} s/100MB, client CPU {:.2} s/100MB | echo p50/p99 µs: bare {b50:.1}/{b99:.1}, relay {:.1}/{:.1}, ptyhub {:.1}/{:.1} | ping p50/p99 µs: relay {:.1}/{:.1}, ptyhub {:.1}/{:.1}",
            b.mb_per_s(),
            h.mb_per_s(),
            h.cpu_per_100mb(),
            client_cpu * 100e6 / h.bytes as f64,
            r.p50,
            r.p99,
            hr.p50,
            hr.p99,
            r.ping50,
            r.ping99,
            hr.ping50,
            hr.ping99,
        );
        println!(
            "run {run} per keystroke: relay {} | ptyhub {} | client, relay's loop {} | client, ptyhub's loop {}",
            relay.key_threads.per_step(keys),
            hub.key_threads.per_step(keys),
            relay.client_threads.per_step(keys),
            hub.client_threads.per_step(keys),
        );
        println!(
            "run {run} per ping: relay {} | ptyhub {}",
            relay.ping_threads.per_step(keys),
            hub.ping_threads.per_step(keys),
        );
        println!(
            "run {run} windows: client pid {} | relay pid {} keys {:.6}-{:.6} pings {:.6}-{:.6} | ptyhub pid {} keys {:.6}-{:.6} pings {:.6}-{:.6}",
            std::process::id(),
            relay.server_pid,
            relay.key_window.0,
            relay.key_window.1,
            relay.ping_window.0,
            relay.ping_window.1,
            hub.server_pid,
            hub.key_window.0,
            hub.key_window.1,
            hub.ping_window.0,
            hub.ping_window.1,
        );
        client_cpus.push(client_cpu * 100e6 / h.bytes as f64);
        bare_floods.push(b);
        server_floods.push(h);
        bare_p50.push(b50);
        bare_p99.push(b99);
        relay_runs.push(r);
        hub_runs.push(hr);
    }
    let bare_mbs = median(bare_floods.iter().map(Flood::mb_per_s).collect());
    let bare_cpu = median(bare_floods.iter().map(Flood::cpu_per_100mb).collect());
    let hub_mbs = median(server_floods.iter().map(Flood::mb_per_s).collect());
    let hub_cpu = median(server_floods.iter().map(Flood::cpu_per_100mb).collect());
    let client_cpu = median(client_cpus);
    let ratio = hub_mbs / bare_mbs;
    // Differences within a run (the machine's state is shared), then the
    // median over runs.
    let over_bare = |runs: &[EchoRun], figure: fn(&EchoRun) -> f64, bare: &[f64]| {
        median(runs.iter().zip(bare).map(|(r, b)| figure(r) - b).collect())
    };
    let (hub_over50, hub_over99) = (
        over_bare(&hub_runs, |r| r.p50, &bare_p50),
        over_bare(&hub_runs, |r| r.p99, &bare_p99),
    );
    let (relay_over50, relay_over99) = (
        over_bare(&relay_runs, |r| r.p50, &bare_p50),
        over_bare(&relay_runs, |r| r.p99, &bare_p99),
    );
    let hub_over_relay50 = median(
        hub_runs
            .iter()
            .zip(&relay_runs)
            .map(|(h, r)| h.p50 - r.p50)
            .collect(),
    );
    let (b50, b99) = (median(bare_p50.clone()), median(bare_p99));
    println!();
    println!(
        "median of {} runs; floods of {} bytes of output, {} keystrokes and {} pings each:",
        plan.runs, plan.bytes, plan.keys, plan.keys
    );
    println!("| what | MB/s | CPU s per 100 MB |");
    println!("| --- | --- | --- |");
    println!("| bare PTY, read by the bench | {bare_mbs:.1} | {bare_cpu:.2} (the bench) |");
    println!(
        "| ptyhub serve + WebSocket | {hub_mbs:.1} | {hub_cpu:.2} (server process; client {client_cpu:.2}) |"
    );
    println!();
    println!(
        "| echo through | echo p50 µs | echo p99 µs | ping p50 µs | ping p99 µs | server CPU µs per key | server threads put on a CPU per key | their run-queue wait µs per key | server CPU µs per ping | runs per ping |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    println!("| bare PTY, read by the bench | {b50:.1} | {b99:.1} | | | | | | | |");
    let relay_name = format!(
        "{} (own process, 2 workers)",
        relay::Shape::from_env().name()
    );
    for (name, runs) in [
        (relay_name.as_str(), &relay_runs),
        ("ptyhub serve", &hub_runs),
    ] {
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2} | {:.1} | {:.1} | {:.2} |",
            median_of(runs, |r| r.p50),
            median_of(runs, |r| r.p99),
            median_of(runs, |r| r.ping50),
            median_of(runs, |r| r.ping99),
            median_of(runs, |r| r.cpu_us),
            median_of(runs, |r| r.runs),
            median_of(runs, |r| r.wait_us),
            median_of(runs, |r| r.ping_cpu_us),
            median_of(runs, |r| r.ping_runs),
        );
    }
    println!();
    println!("per run, p50 µs:");
    println!("- echo, bare: {}", each(bare_p50.iter().copied()));
    println!("- echo, relay: {}", each(relay_runs.iter().map(|r| r.p50)));
    println!("- echo, ptyhub: {}", each(hub_runs.iter().map(|r| r.p50)));
    println!(
        "- ping, relay: {}",
        each(relay_runs.iter().map(|r| r.ping50))
    );
    println!(
        "- ping, ptyhub: {}",
        each(hub_runs.iter().map(|r| r.ping50))
    );
    println!();
    println!("| target | measured | |");
    println!("| --- | --- | --- |");
    println!(
        "| flood through the server vs bare PTY >= 0.85x | {ratio:.2}x | {} |",
        verdict(ratio >= 0.85)
    );
    println!("| server CPU per 100 MB | {hub_cpu:.2} s | (reported) |");
    println!(
        "| echo p50 within 25 µs of the bare PTY (issue 5) | +{hub_over50:.1} µs | {} |",
        verdict(hub_over50 <= 25.0)
    );
    let h99 = median_of(&hub_runs, |r| r.p99);
    println!(
        "| echo p99 <= 90 µs (issue 5) | {h99:.1} µs | {} |",
        verdict(h99 <= 90.0)
    );
    println!(
        "| echo p50 <= bare + 60 µs (issue 18) | +{hub_over50:.1} µs (relay +{relay_over50:.1}) | {} |",
        verdict(hub_over50 <= 60.0)
    );
    println!(
        "| echo p99 <= bare + 80 µs (issue 18) | +{hub_over99:.1} µs (relay +{relay_over99:.1}) | {} |",
        verdict(hub_over99 <= 80.0)
    );
    let (hub_ping, relay_ping) = (
        median_of(&hub_runs, |r| r.ping50),
        median_of(&relay_runs, |r| r.ping50),
    );
    println!(
        "| ping p50 <= 50 µs (issue 18) | {hub_ping:.1} µs (relay {relay_ping:.1}) | {} |",
        verdict(hub_ping <= 50.0)
    );
    println!("| echo p50, ptyhub over the relay | {hub_over_relay50:+.1} µs | (reported) |");
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs us too:
    // then only a tiny smoke run.
    if std::env::var_os(relay::ENV).is_some() {
        relay::serve();
        return;
    }
    let smoke = !std::env::args().any(|a| a == "--bench");
    if smoke {
        println!("smoke run (no --bench): tiny sizes, the numbers mean nothing");
    }
    let server = Served::start(&ptyhub_binary());
    // One thread: the client's own wake-ups stay off other cores, so what
    // it adds to a keystroke's round trip is as small as it can be.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(bench(Plan::from_env(smoke), server));
}
