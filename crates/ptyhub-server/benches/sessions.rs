//! Sessions at scale through the real `ptyhub serve` binary (issue 18), its
//! threads, descriptors and memory read from its own `/proc/<pid>`:
//!
//! - creates: `SESSIONS_N` (1000) `cat` sessions one after the other, each
//!   `POST` timed (p50, p99), then attached over `ptyhub.v1` and echoing one
//!   keystroke;
//! - idle: the server's threads, descriptors, RSS and PSS with those
//!   sessions idle (no client) against the same server before any session;
//!   PSS per session, and the guards' PSS (`smaps_rollup`) per session;
//! - deleted: the server's RSS once all of them are deleted and forgotten
//!   (`linger = "1s"`), against idle;
//! - cycles: `SESSIONS_CYCLES` (10,000) sessions of `true`, created one
//!   after the other: threads, descriptors and RSS after every thousand
//!   (each once every session has ended and been forgotten).
//!
//! `cargo build --release -p ptyhub && cargo bench -p ptyhub-server --bench sessions`
//! (env `SESSIONS_N`, `SESSIONS_CYCLES`, `PTYHUB_BIN`). Without `--bench`
//! (as under `cargo test --all-targets`) it only does a tiny smoke run.

use std::time::{Duration, Instant};

use futures::SinkExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

#[path = "../../ptyhub-pty/benches/baseline/mod.rs"]
mod baseline;
mod served;

use baseline::{env_or, median, percentile};
use served::{Served, next, ptyhub_binary};

/// The server's threads, descriptors, RSS and PSS (KiB).
#[derive(Clone, Copy, Debug)]
struct Usage {
    threads: u64,
    fds: u64,
    rss_kib: u64,
    pss_kib: u64,
}

fn field(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn pss_kib(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .map(|t| field(&t, "Pss:"))
        .unwrap_or(0)
}

fn usage(pid: i32) -> Usage {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    Usage {
        threads: field(&status, "Threads:"),
        fds: std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count() as u64),
        rss_kib: field(&status, "VmRSS:"),
        pss_kib: pss_kib(pid),
    }
}

/// Usage once threads and descriptors are steady (blocking-pool threads
/// leave after 10 s idle; the sampler trims the heap within a second).
async fn settled(pid: i32) -> Usage {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = usage(pid);
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = usage(pid);
        if (now.threads == last.threads && now.fds == last.fds && now.threads <= 8)
            || Instant::now() > deadline
        {
            return now;
        }
        last = now;
    }
}

async fn listed(server: &Served) -> Vec<Value> {
    let (status, body) = server.http("GET", "/api/sessions", &Value::Null).await;
    assert_eq!(status, 200, "list: {body}");
    body.as_array()
        .or_else(|| body["sessions"].as_array())
        .cloned()
        .unwrap_or_default()
}

/// Waits until no session is listed (all ended and forgotten).
async fn all_forgotten(server: &Served) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !listed(server).await.is_empty() {
        assert!(
            Instant::now() < deadline,
            "sessions still listed after 120 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn guard_of(program: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{program}/stat")).ok()?;
    // After the command's closing parenthesis: state, then ppid.
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let n: usize = env_or("SESSIONS_N", if smoke { 20 } else { 1000 });
    let cycles: usize = env_or("SESSIONS_CYCLES", if smoke { 40 } else { 10_000 });
    if let Err(e) = ptyhub_pty::raise_open_files_limit() {
        eprintln!("open-files limit: {e}");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(bench(n, cycles));
}

async fn bench(n: usize, cycles: usize) {
    let server = Served::start_with(&ptyhub_binary(), "max_sessions = 20000\nlinger = \"1s\"\n");
    let pid = server.child.id() as i32;
    let idle = settled(pid).await;
    println!("idle server: {idle:?}");

    // Creates, each attached and echoing.
    let mut create_ms = Vec::with_capacity(n);
    let mut ids = Vec::with_capacity(n);
    let mut sockets = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        let id = server.create(&["cat"]).await;
        create_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        let mut ws = server.attach(&id).await;
        let key = format!("k{i}\r");
        ws.send(Message::binary(key.clone().into_bytes()))
            .await
            .expect("send");
        let mut seen = Vec::new();
        while !String::from_utf8_lossy(&seen).contains(&format!("k{i}")) {
            if let Message::Binary(b) = next(&mut ws).await {
                seen.extend_from_slice(&b);
            }
        }
        sockets.push(ws);
        ids.push(id);
    }
    drop(sockets);
    create_ms.sort_by(f64::total_cmp);
    println!(
        "{n} creates one after the other: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (each then attached and echoing)",
        median(create_ms.clone()),
        percentile(create_ms.clone(), 0.99),
        create_ms.last().copied().unwrap_or(0.0)
    );
    let busy = settled(pid).await;
    let guards: Vec<i32> = listed(&server)
        .await
        .iter()
        .filter_map(|s| s["pid"].as_i64())
        .filter_map(|p| guard_of(p as i32))
        .collect();
    let guard_pss: u64 = guards.iter().map(|&g| pss_kib(g)).sum();
    let per = |a: u64, b: u64| (a as f64 - b as f64) / n as f64;
    println!("{n} idle sessions: {busy:?}");
    println!(
        "per idle session: server PSS {:.1} KiB, RSS {:.1} KiB; threads {:+}, descriptors {:+} in all; guards' PSS {:.1} KiB each ({} guards)",
        per(busy.pss_kib, idle.pss_kib),
        per(busy.rss_kib, idle.rss_kib),
        busy.threads as i64 - idle.threads as i64,
        busy.fds as i64 - idle.fds as i64,
        guard_pss as f64 / guards.len().max(1) as f64,
        guards.len()
    );

    for id in &ids {
        server.delete(id).await;
    }
    all_forgotten(&server).await;
    let deleted = settled(pid).await;
    println!(
        "after the {n} were deleted and forgotten: {deleted:?}; RSS {:.2}x idle",
        deleted.rss_kib as f64 / idle.rss_kib as f64
    );

    // Create → exit cycles.
    let mut marks = Vec::new();
    let started = Instant::now();
    for c in 1..=cycles {
        server.create(&["true"]).await;
        // Every thousand: whether RSS levels off or keeps climbing.
        if c % 1000 == 0 || c == cycles {
            all_forgotten(&server).await;
            let u = settled(pid).await;
            println!("after {c} create→exit cycles: {u:?}");
            marks.push(u);
        }
    }
    println!(
        "{cycles} cycles in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    if let [first, .., last] = marks.as_slice() {
        println!(
            "first vs last thousand: threads {} → {}, descriptors {} → {}, RSS {} → {} KiB",
            first.threads, last.threads, first.fds, last.fds, first.rss_kib, last.rss_kib
        );
        let rss: Vec<String> = marks.iter().map(|u| u.rss_kib.to_string()).collect();
        println!("RSS every thousand cycles (KiB): {}", rss.join(" "));
    }
}
