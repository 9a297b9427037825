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

use std::time::Instant;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

#[path = "../../ptyhub-pty/benches/baseline/mod.rs"]
mod baseline;
mod served;

use served::{DEADLINE, Served, next, ptyhub_binary};

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
