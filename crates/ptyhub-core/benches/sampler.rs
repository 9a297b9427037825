//! The supervisor's cost (issue 6): with N idle sessions (`cat` waiting
//! for input) and the spec's 1 s sampling interval, the time the resource
//! sampler spends per second of wall time (its own `/proc` passes, as the
//! supervisor counts them) and, for context, the CPU of this whole process
//! over the same window (sampler, watchers, idle reader and screen
//! threads); and the server's memory per idle session.
//!
//! `cargo build --release -p ptyhub-pty --bins && cargo bench -p ptyhub-core --bench sampler`
//! (env `SAMPLER_SESSIONS`, default `100,1000`; `SAMPLER_SECONDS`, default
//! 10). Without `--bench` (as under `cargo test --all-targets`) it only
//! does a tiny smoke run.

#[path = "../../ptyhub-pty/benches/baseline/mod.rs"]
mod baseline;

use baseline::{cpu_seconds, env_or, rss_kib};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ptyhub_core::{CoreConfig, Session, SessionSpec, Supervisor};
use ptyhub_protocol::api::{ExitReason, ResizePolicy};
use ptyhub_pty::{Environment, GuardProgram, WindowSize};

fn spec() -> SessionSpec {
    SessionSpec {
        argv: vec!["cat".into()],
        cwd: std::env::temp_dir(),
        env: Environment::from_current_process(),
        size: WindowSize::new(80, 24).expect("80x24"),
        name: None,
        labels: Default::default(),
        provider: None,
        resize_policy: ResizePolicy::Latest,
        limits: None,
        id: None,
        agent: Default::default(),
    }
}

/// One measurement with `n` idle sessions over `window`.
async fn measure(guard: &GuardProgram, n: usize, window: Duration) {
    let mut config = CoreConfig::with_guard(guard.clone());
    config.max_sessions = n + 1;
    config.sample_interval = Duration::from_secs(1);
    let supervisor = Supervisor::new(config);
    let rss_before = rss_kib();
    let mut sessions: Vec<Arc<Session>> = Vec::with_capacity(n);
    for _ in 0..n {
        sessions.push(supervisor.create(spec()).await.expect("a session"));
    }
    // Let the sessions settle (first samples, idle status) before measuring.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_per_session = (rss_kib().saturating_sub(rss_before)) as f64 / n as f64;
    let stats_before = supervisor.stats();
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    // Each pass's own CPU time (`last_sample`), read every 10 ms: passes
    // come once per second, so none is missed.
    let mut per_pass: Vec<Duration> = Vec::new();
    let mut seen = stats_before.samples;
    while started.elapsed() < window {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let now = supervisor.stats();
        if now.samples > seen {
            seen = now.samples;
            per_pass.push(now.last_sample);
        }
    }
    let wall = started.elapsed().as_secs_f64();
    per_pass.sort();
    let median_ms = per_pass
        .get(per_pass.len() / 2)
        .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0);
    let cpu = cpu_seconds() - cpu_before;
    let stats = supervisor.stats();
    let passes = stats.samples - stats_before.samples;
    let sampler = (stats.sample_time - stats_before.sample_time).as_secs_f64();
    let processes: u64 = sessions.iter().map(|s| s.info().resources.processes).sum();
    println!(
        "{n:>5} idle sessions: sampler {:.2} % of one core ({passes} passes, median {median_ms:.1} ms of CPU each, mean {:.1}); \
         whole process {:.2} % of one core; {:.0} KiB of server memory per session; {processes} processes sampled",
        sampler / wall * 100.0,
        sampler / passes.max(1) as f64 * 1000.0,
        cpu / wall * 100.0,
        rss_per_session,
    );
    for s in &sessions {
        let _ = s.kill(ExitReason::Shutdown);
    }
    for s in &sessions {
        let _ = tokio::time::timeout(Duration::from_secs(5), s.wait_ended()).await;
    }
    for s in &sessions {
        supervisor.registry().remove(s.id());
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs us too:
    // then only a tiny smoke run.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let counts: Vec<usize> = if smoke {
        println!("smoke run (no --bench): tiny sizes, the numbers mean nothing");
        vec![3]
    } else {
        std::env::var("SAMPLER_SESSIONS")
            .unwrap_or_else(|_| "100,1000".into())
            .split(',')
            .map(|n| n.trim().parse().expect("SAMPLER_SESSIONS: numbers"))
            .collect()
    };
    let seconds: u64 = if smoke {
        1
    } else {
        env_or("SAMPLER_SECONDS", 10)
    };
    let guard = GuardProgram::locate().expect(
        "no guard binary next to this bench: run `cargo build --release -p ptyhub-pty --bins` first",
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        for n in counts {
            measure(&guard, n, Duration::from_secs(seconds)).await;
        }
    });
}
