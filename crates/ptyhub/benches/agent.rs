//! Agent-state benchmarks against the real binary (BENCHMARKS.md):
//! - the delay from a hook POST, and from a notification byte (an OSC 9
//!   printed when a line of input arrives), to its SSE event;
//! - a 100 MB flood with detection on and off
//!   (`PTYHUB_AGENT_DETECTION=off`): wall time and the server's CPU time.
//!
//! `cargo bench -p ptyhub --bench agent`

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const TOKEN: &str = "bench-token-0123456789abcdef0123456789abcdef";

struct Server {
    child: Child,
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(detection: bool) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            "allow_arbitrary_commands = true\nterminate_grace = \"1s\"\n",
        )
        .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ptyhub"));
        cmd.args(["serve", "--bind", "127.0.0.1:0", "--config"])
            .arg(&config)
            .env("PTYHUB_TOKEN", TOKEN)
            .env("XDG_RUNTIME_DIR", dir.path())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if !detection {
            cmd.env("PTYHUB_AGENT_DETECTION", "off");
        }
        let mut child = cmd.spawn().unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        let mut base = String::new();
        for line in out.lines().map_while(Result::ok) {
            if let Some(at) = line.find("http://") {
                base = line[at..]
                    .split("/?")
                    .next()
                    .unwrap()
                    .trim_end_matches('/')
                    .to_owned();
                break;
            }
        }
        Server {
            child,
            base,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    async fn create(&self, argv: &[&str]) -> Value {
        self.http
            .post(format!("{}/api/sessions", self.base))
            .bearer_auth(TOKEN)
            .json(&json!({"command": argv}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// utime + stime of the server process.
    fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap()
            .split_whitespace()
            .collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        Duration::from_millis(ticks * 10)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Sse {
    response: reqwest::Response,
    buffer: String,
}

impl Sse {
    async fn next(&mut self, name: &str) -> Value {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = "";
                let mut data = "";
                for line in block.lines() {
                    if let Some(e) = line.strip_prefix("event:") {
                        event = e.trim();
                    } else if let Some(d) = line.strip_prefix("data:") {
                        data = d.trim();
                    }
                }
                if event == name {
                    return serde_json::from_str(data).unwrap();
                }
            }
            let chunk = self.response.chunk().await.unwrap().unwrap();
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn latency(server: &Server, n: usize) {
    let response = server
        .http
        .get(format!("{}/api/events", server.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let mut sse = Sse {
        response,
        buffer: String::new(),
    };
    // Hooks: alternate busy and ready, each a state change.
    let s = server.create(&["sleep", "600"]).await;
    let id = s["id"].as_str().unwrap().to_owned();
    let mut hook = Vec::new();
    for i in 0..n {
        let event = if i % 2 == 0 { "PreToolUse" } else { "Stop" };
        let t = Instant::now();
        let r = server
            .http
            .post(format!("{}/api/sessions/{id}/hook", server.base))
            .bearer_auth(TOKEN)
            .json(&json!({"hook_event_name": event}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        loop {
            let v = sse.next("session_agent").await;
            if v["session"]["id"] == id.as_str() && v["session"]["agent"]["detail"] == event {
                break;
            }
        }
        hook.push(t.elapsed());
    }
    // Notifications: the program prints an OSC 9 for each line it reads;
    // timed from the input POST (an upper bound of byte → event).
    let s = server
        .create(&[
            "bash",
            "-c",
            r#"while read l; do printf '\033]9;n%s\007' "$l"; done"#,
        ])
        .await;
    let id = s["id"].as_str().unwrap().to_owned();
    let mut note = Vec::new();
    for i in 0..n {
        let t = Instant::now();
        server
            .http
            .post(format!("{}/api/sessions/{id}/input", server.base))
            .bearer_auth(TOKEN)
            .json(&json!({"data": format!("{i}\r")}))
            .send()
            .await
            .unwrap();
        let want = format!("n{i}");
        loop {
            let v = sse.next("session_notification").await;
            if v["body"] == want.as_str() {
                break;
            }
        }
        note.push(t.elapsed());
    }
    for (what, mut d) in [
        ("hook POST → session_agent", hook),
        ("input → OSC 9 → session_notification", note),
    ] {
        d.sort();
        println!(
            "{what}: n={} p50={:.2?} p99={:.2?} max={:.2?}",
            d.len(),
            percentile(&d, 0.5),
            percentile(&d, 0.99),
            d[d.len() - 1]
        );
    }
}

/// One flood of `bytes` (100 MB in a bench run): wall time from create
/// to exit, server CPU.
async fn flood(server: &Server, bytes: u64) -> (Duration, Duration) {
    let cpu = server.cpu();
    let t = Instant::now();
    let s = server
        .create(&[
            "bash",
            "-c",
            &format!("head -c {bytes} /dev/zero | tr '\\0' 'x'"),
        ])
        .await;
    let id = s["id"].as_str().unwrap().to_owned();
    loop {
        let s: Value = server
            .http
            .get(format!("{}/api/sessions/{id}", server.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if s["exit"].is_object() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (t.elapsed(), server.cpu() - cpu)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    // `cargo test --all-targets` runs this without `--bench`: a smoke run
    // (every path once, small), not the measurement.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let (n, bytes, runs) = if smoke {
        (10, 1_000_000, 1)
    } else {
        (200, 100_000_000, 5)
    };
    let on = Server::start(true);
    latency(&on, n).await;
    let off = Server::start(false);
    let (mut wall_on, mut cpu_on, mut wall_off, mut cpu_off) = (vec![], vec![], vec![], vec![]);
    for _ in 0..runs {
        let (w, c) = flood(&off, bytes).await;
        wall_off.push(w);
        cpu_off.push(c);
        let (w, c) = flood(&on, bytes).await;
        wall_on.push(w);
        cpu_on.push(c);
    }
    let mb = bytes as f64 / 1e6;
    let (won, con, woff, coff) = (
        median(wall_on),
        median(cpu_on),
        median(wall_off),
        median(cpu_off),
    );
    println!(
        "{mb} MB flood, detection off: wall {woff:.2?} ({:.0} MB/s), server CPU {coff:.2?}",
        mb / woff.as_secs_f64()
    );
    println!(
        "{mb} MB flood, detection on:  wall {won:.2?} ({:.0} MB/s), server CPU {con:.2?}",
        mb / won.as_secs_f64()
    );
    println!(
        "ratio on/off: wall {:.3}, CPU {:.3}",
        won.as_secs_f64() / woff.as_secs_f64(),
        con.as_secs_f64() / coff.as_secs_f64()
    );
}
