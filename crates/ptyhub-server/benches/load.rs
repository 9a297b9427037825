//! Load benchmarks of the whole server (issue 5): the real `ptyhub serve`
//! binary on `127.0.0.1:0`, driven over HTTP and a `ptyhub.v1` WebSocket
//! by this process, each against a bare portable-pty PTY that this process
//! reads itself in the same run (the machine is small and noisy):
//!
//! - flood: 100 MB of `yes` output through the server and its socket: MB/s
//!   and the server process's CPU seconds per 100 MB (from
//!   `/proc/<pid>/stat`, so the client's work is not counted);
//! - echo: single-byte keystrokes into `cat` (the terminal's echo on), each
//!   a binary frame, timed until the echoed byte is back; p50 and p99. On
//!   the same socket, as many `ping` → `pong` round trips (no PTY on that
//!   path): what the socket, the server's loop and the runtimes cost alone.
//!
//! `cargo build --release -p ptyhub && cargo bench -p ptyhub-server --bench load`
//! (env `LOAD_RUNS`, `LOAD_BYTES`, `LOAD_KEYS`, `PTYHUB_BIN`). Without
//! `--bench` (as under `cargo test --all-targets`) it only does a tiny
//! smoke run.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use rustix::process::{Pid, Signal, kill_process};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

#[path = "../../ptyhub-pty/benches/baseline/mod.rs"]
mod baseline;

use baseline::{
    Flood, GATE_ECHO, WARMUP_KEYS, bare_echo, bare_output, cpu_seconds, flood_command, key, median,
    percentile, process_cpu, verdict,
};

const TOKEN: &str = "bench-token-0123456789abcdef";

/// How long any one step (a request, a flood, a keystroke) may take.
const DEADLINE: Duration = Duration::from_secs(60);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

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
        fn var<T: std::str::FromStr>(name: &str, default: T) -> T {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        }
        Plan {
            runs: var("LOAD_RUNS", if smoke { 1 } else { 5 }),
            bytes: var("LOAD_BYTES", if smoke { 1_000_000 } else { 100_000_000 }),
            keys: var("LOAD_KEYS", if smoke { 200 } else { 2000 }),
        }
    }
}

/// `ptyhub serve` next to this bench (cargo puts benches in
/// `target/<profile>/deps/`), or `$PTYHUB_BIN`.
fn ptyhub_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("PTYHUB_BIN") {
        return path.into();
    }
    let exe = std::env::current_exe().expect("own path");
    let dir = exe.parent().expect("a directory");
    [Some(dir), dir.parent()]
        .into_iter()
        .flatten()
        .map(|d| d.join("ptyhub"))
        .find(|p| p.is_file())
        .expect("no ptyhub binary next to this bench: run `cargo build --release -p ptyhub` first")
}

/// A running `ptyhub serve`; SIGTERM and reaped on drop.
struct Served {
    child: Child,
    process: procfs::process::Process,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Served {
    fn start(binary: &Path) -> Served {
        let dir = tempfile::Builder::new()
            .prefix("ptyhub-load-")
            .tempdir()
            .expect("a temp dir");
        let config = dir.path().join("ptyhub.toml");
        std::fs::write(
            &config,
            format!(
                "allow_arbitrary_commands = true\nruntime_dir = {:?}\n",
                dir.path().join("run")
            ),
        )
        .expect("write the config");
        let mut cmd = Command::new(binary);
        for var in ["PTYHUB_BIND", "PTYHUB_CONFIG"] {
            cmd.env_remove(var);
        }
        let mut child = cmd
            .args(["serve", "--bind", "127.0.0.1:0", "--config"])
            .arg(&config)
            .env("PTYHUB_TOKEN", TOKEN)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ptyhub serve");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("the URL line");
        // `ptyhub: open http://127.0.0.1:PORT/?token=...`
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_owned();
        // Nothing more is expected on stdout; drain it so the server never
        // blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let process = procfs::process::Process::new(child.id() as i32).expect("the server's /proc");
        Served {
            child,
            process,
            addr,
            _dir: dir,
        }
    }

    /// The server process's CPU seconds so far (its sessions' programs and
    /// guards are other processes).
    fn cpu(&self) -> f64 {
        process_cpu(&self.process)
    }

    /// One request; the status and the JSON body.
    async fn http(&self, method: &str, path: &str, body: &Value) -> (u16, Value) {
        let body = body.to_string();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {TOKEN}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        let exchange = async {
            let mut s = TcpStream::connect(&self.addr).await?;
            s.write_all(request.as_bytes()).await?;
            let mut response = Vec::new();
            s.read_to_end(&mut response).await?;
            Ok::<_, std::io::Error>(response)
        };
        let response = tokio::time::timeout(DEADLINE, exchange)
            .await
            .unwrap_or_else(|_| panic!("{method} {path}: no answer within {DEADLINE:?}"))
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let text = String::from_utf8_lossy(&response);
        let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
        assert!(
            !head.to_ascii_lowercase().contains("chunked"),
            "this small client reads plain bodies only: {head}"
        );
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status code");
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    /// Starts a session running `argv`; its id.
    async fn create(&self, argv: &[&str]) -> String {
        let (status, body) = self
            .http("POST", "/api/sessions", &json!({ "command": argv }))
            .await;
        assert_eq!(status, 201, "create: {body}");
        body["id"].as_str().expect("an id").to_owned()
    }

    async fn delete(&self, id: &str) {
        let (status, body) = self
            .http("DELETE", &format!("/api/sessions/{id}"), &Value::Null)
            .await;
        assert_eq!(status, 202, "delete: {body}");
    }

    /// Attaches from offset 0 (nothing missed, no snapshot) with the native
    /// protocol, and reads the `hello`.
    async fn attach(&self, id: &str) -> Socket {
        let mut request = format!("ws://{}/api/sessions/{id}/ws?since=0", self.addr)
            .into_client_request()
            .expect("a request");
        let headers = request.headers_mut();
        headers.insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("ptyhub.v1"),
        );
        headers.insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {TOKEN}")).expect("a header value"),
        );
        // Nagle off, as interactive clients do.
        let (mut ws, _) = tokio_tungstenite::connect_async_with_config(request, None, true)
            .await
            .expect("WebSocket attach");
        let hello = match next(&mut ws).await {
            Message::Text(t) => serde_json::from_str::<Value>(&t).expect("JSON"),
            other => panic!("expected hello, got {other:?}"),
        };
        assert_eq!(hello["type"], "hello", "{hello}");
        assert_eq!(hello["resumed"], true, "resumed from 0: {hello}");
        ws
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let pid = Pid::from_raw(self.child.id() as i32).expect("a pid");
        if let Err(e) = kill_process(pid, Signal::TERM) {
            eprintln!("SIGTERM to the server: {e}");
        }
        // Sessions end within terminate_grace (5 s) + 1 s at shutdown.
        let child = &mut self.child;
        std::thread::scope(|s| {
            // One message: a capacity of 1 never blocks the waiter.
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            s.spawn(move || tx.send(child.wait()));
            match rx.recv_timeout(Duration::from_secs(10)) {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => eprintln!("waiting for the server: {e}"),
                Err(_) => {
                    eprintln!("the server did not exit within 10 s of SIGTERM: SIGKILL");
                    if let Err(e) = kill_process(pid, Signal::KILL) {
                        eprintln!("SIGKILL to the server: {e}");
                    }
                }
            }
        });
    }
}

/// The next frame, within [`DEADLINE`].
async fn next(ws: &mut Socket) -> Message {
    tokio::time::timeout(DEADLINE, ws.next())
        .await
        .expect("a frame within the deadline")
        .expect("the socket is open")
        .expect("a frame")
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

/// Echo times of `keys` keystrokes, each a binary frame, into `cat` in a
/// session of the server, then as many ping → pong round trips on the same
/// socket, µs.
async fn server_echo(server: &Served, keys: usize) -> (Vec<f64>, Vec<f64>) {
    let id = server.create(&["cat"]).await;
    let mut ws = server.attach(&id).await;
    let mut times = Vec::with_capacity(keys);
    for i in 0..WARMUP_KEYS + keys {
        let start = Instant::now();
        ws.send(Message::binary(vec![key(i)])).await.expect("type");
        let echo = loop {
            match next(&mut ws).await {
                Message::Binary(b) => break b,
                // Events (status, size) are not the echo.
                Message::Text(_) => {}
                other => panic!("unexpected frame: {other:?}"),
            }
        };
        let took = start.elapsed();
        assert_eq!(&echo[..], &[key(i)], "the echo, alone");
        if i >= WARMUP_KEYS {
            times.push(took.as_secs_f64() * 1e6);
        }
    }
    let mut pings = Vec::with_capacity(keys);
    for i in 0..WARMUP_KEYS + keys {
        let start = Instant::now();
        ws.send(Message::text(r#"{"type":"ping"}"#))
            .await
            .expect("ping");
        loop {
            if let Message::Text(t) = next(&mut ws).await
                && serde_json::from_str::<Value>(&t).expect("JSON")["type"] == "pong"
            {
                break;
            }
        }
        if i >= WARMUP_KEYS {
            pings.push(start.elapsed().as_secs_f64() * 1e6);
        }
    }
    server.delete(&id).await;
    (times, pings)
}

async fn bench(plan: Plan, server: Served) {
    let mut bare_floods = Vec::new();
    let mut server_floods = Vec::new();
    let mut client_cpus = Vec::new();
    let (mut bare_p50, mut bare_p99, mut hub_p50, mut hub_p99) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut ping_p50, mut ping_p99) = (Vec::new(), Vec::new());
    for run in 0..plan.runs {
        let bytes = plan.bytes;
        let keys = plan.keys;
        let bare = || async move {
            let flood = tokio::task::spawn_blocking(move || bare_output(&marked_flood(bytes)));
            flood.await.expect("bare flood")
        };
        let bare_keys = || async move {
            let echo = tokio::task::spawn_blocking(move || bare_echo(keys));
            echo.await.expect("bare echo")
        };
        // Alternate the order so that neither side always runs on a warmer machine.
        let (b, (h, client_cpu), bk, hk) = if run % 2 == 0 {
            let b = bare().await;
            let h = server_flood(&server, bytes).await;
            let bk = bare_keys().await;
            (b, h, bk, server_echo(&server, keys).await)
        } else {
            let h = server_flood(&server, bytes).await;
            let b = bare().await;
            let hk = server_echo(&server, keys).await;
            (b, h, bare_keys().await, hk)
        };
        assert_eq!(b.bytes, h.bytes, "both sides read the same stream");
        let (b50, b99) = (percentile(bk.clone(), 0.5), percentile(bk, 0.99));
        let (hk, pings) = hk;
        let (h50, h99) = (percentile(hk.clone(), 0.5), percentile(hk, 0.99));
        let (p50, p99) = (percentile(pings.clone(), 0.5), percentile(pings, 0.99));
        println!(
            "run {run}: flood bare {:.1} MB/s | server {:.1} MB/s, server CPU {:.2} s/100MB, client CPU {:.2} s/100MB | echo bare p50 {b50:.1} p99 {b99:.1} µs | server p50 {h50:.1} p99 {h99:.1} µs | ping p50 {p50:.1} p99 {p99:.1} µs",
            b.mb_per_s(),
            h.mb_per_s(),
            h.cpu_per_100mb(),
            client_cpu * 100e6 / h.bytes as f64,
        );
        client_cpus.push(client_cpu * 100e6 / h.bytes as f64);
        bare_floods.push(b);
        server_floods.push(h);
        bare_p50.push(b50);
        bare_p99.push(b99);
        hub_p50.push(h50);
        hub_p99.push(h99);
        ping_p50.push(p50);
        ping_p99.push(p99);
    }
    let bare_mbs = median(bare_floods.iter().map(Flood::mb_per_s).collect());
    let bare_cpu = median(bare_floods.iter().map(Flood::cpu_per_100mb).collect());
    let hub_mbs = median(server_floods.iter().map(Flood::mb_per_s).collect());
    let hub_cpu = median(server_floods.iter().map(Flood::cpu_per_100mb).collect());
    let client_cpu = median(client_cpus);
    let (b50, b99, h50, h99) = (
        median(bare_p50),
        median(bare_p99),
        median(hub_p50),
        median(hub_p99),
    );
    let (p50, p99) = (median(ping_p50), median(ping_p99));
    let ratio = hub_mbs / bare_mbs;
    println!();
    println!(
        "median of {} runs; floods of {} bytes of output, {} keystrokes each:",
        plan.runs, plan.bytes, plan.keys
    );
    println!("| what | MB/s | CPU s per 100 MB | echo p50 µs | echo p99 µs |");
    println!("| --- | --- | --- | --- | --- |");
    println!(
        "| bare PTY, read by the bench | {bare_mbs:.1} | {bare_cpu:.2} (the bench) | {b50:.1} | {b99:.1} |"
    );
    println!(
        "| ptyhub serve + WebSocket | {hub_mbs:.1} | {hub_cpu:.2} (server process; client {client_cpu:.2}) | {h50:.1} | {h99:.1} |"
    );
    println!("| ping → pong on the same socket (no PTY) | | | {p50:.1} | {p99:.1} |");
    println!();
    println!("| target | measured | |");
    println!("| --- | --- | --- |");
    println!(
        "| flood through the server vs bare PTY >= 0.85x | {ratio:.2}x | {} |",
        verdict(ratio >= 0.85)
    );
    println!("| server CPU per 100 MB | {hub_cpu:.2} s | (reported) |");
    println!(
        "| echo p50 within 25 µs of the bare PTY | +{:.1} µs | {} |",
        h50 - b50,
        verdict(h50 - b50 <= 25.0)
    );
    println!(
        "| echo p99 <= 90 µs | {h99:.1} µs | {} |",
        verdict(h99 <= 90.0)
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs us too:
    // then only a tiny smoke run.
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
