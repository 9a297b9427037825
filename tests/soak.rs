//! Soak: 10,000 sessions created, exited and forgotten (`linger = "0s"`),
//! eight at a time; the server's descriptors, threads and resident memory
//! must stay flat. Prints the figures after every thousand (recorded in
//! BENCHMARKS.md):
//!
//! ```sh
//! cargo test -p ptyhub --test soak -- --nocapture
//! ```

mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use serde_json::json;

const CYCLES: usize = 10_000;
const WORKERS: usize = 8;
const BATCH: usize = 1_000;

/// The server's open descriptors, threads and resident set (KiB).
#[derive(Clone, Copy, Debug)]
struct Usage {
    fds: usize,
    threads: u64,
    rss_kib: u64,
}

fn usage(pid: u32) -> Usage {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Usage {
        fds,
        threads: field("Threads:"),
        rss_kib: field("VmRSS:"),
    }
}

/// One cycle: a session of `true`, waited for until it is forgotten.
async fn cycle(server: &TestServer) {
    let r = server
        .post("/api/sessions", json!({"command": ["true"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    let s: serde_json::Value = r.json().await.unwrap();
    let path = format!("/api/sessions/{}", s["id"].as_str().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = server.get(&path).send().await.unwrap();
        if r.status() == 404 {
            return;
        }
        assert!(Instant::now() < deadline, "{path} not forgotten in 30 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_sessions_leave_descriptors_threads_and_memory_flat() {
    let server = TestServer::start_with("linger = \"0s\"\nmax_sessions = 64\n", &[]);
    let pid = server.child.id();
    let started = Instant::now();
    let mut samples: Vec<Usage> = Vec::new();
    for batch in 0..CYCLES / BATCH {
        let workers = (0..WORKERS).map(|w| {
            let server = &server;
            async move {
                for _ in (w..BATCH).step_by(WORKERS) {
                    cycle(server).await;
                }
            }
        });
        futures::future::join_all(workers).await;
        // Every session is forgotten: the server is at rest.
        let listed = server.get_json("/api/sessions").await;
        assert_eq!(listed["sessions"].as_array().unwrap().len(), 0);
        let u = usage(pid);
        println!(
            "soak: after {:>5} cycles ({:>5.1} s): {} descriptors, {} threads, RSS {} KiB",
            (batch + 1) * BATCH,
            started.elapsed().as_secs_f64(),
            u.fds,
            u.threads,
            u.rss_kib
        );
        samples.push(u);
    }
    let (first, last) = (samples[0], *samples.last().unwrap());
    // Flat: the last thousand hold what the first did, up to slack for
    // the runtime's idle threads and the allocator's arenas.
    assert!(
        last.fds <= first.fds + 8,
        "descriptors grew: {first:?} -> {last:?}"
    );
    assert!(
        last.threads <= first.threads + 8,
        "threads grew: {first:?} -> {last:?}"
    );
    assert!(
        last.rss_kib <= first.rss_kib + first.rss_kib / 2 + 8 * 1024,
        "memory grew: {first:?} -> {last:?}"
    );
}
