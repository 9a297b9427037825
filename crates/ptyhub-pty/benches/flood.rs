//! Flood benchmark of the PTY layer: reads 100 MB of `yes` output from a
//! ptyhub session (guard, reading task on a tokio runtime) and, in the same run,
//! from a bare portable-pty PTY read by this process itself. Prints MB/s and
//! the reading side's CPU seconds for each, median of the runs.
//!
//! `cargo bench -p ptyhub-pty --bench flood` (env `FLOOD_RUNS`, `FLOOD_BYTES`).

#[path = "baseline/mod.rs"]
mod baseline;

use std::time::{Duration, Instant};

use baseline::{Flood, bare_flood, cpu_seconds, env_or, flood_command, median};
use ptyhub_pty::{
    Environment, ExitStatus, GuardProgram, OutputSink, Pty, SpawnOptions, WindowSize,
};

fn ptyhub(bytes: u64) -> Flood {
    let opts = SpawnOptions {
        argv: vec!["sh".into(), "-c".into(), flood_command(bytes)],
        cwd: std::env::temp_dir(),
        env: Environment::from_current_process(),
        size: WindowSize::default(),
        terminate_grace: Duration::from_secs(1),
        lost_grace: Duration::from_secs(1),
        guard: GuardProgram::binary(env!("CARGO_BIN_EXE_ptyhub-guard")),
    };
    struct Count {
        total: u64,
        done: std::sync::mpsc::SyncSender<u64>,
    }
    impl OutputSink for Count {
        async fn output(&mut self, chunk: bytes::Bytes) -> bool {
            self.total += chunk.len() as u64;
            true
        }
        async fn exit(&mut self, _: ExitStatus) {
            self.done.send(self.total).expect("bench waits");
        }
    }
    let (done, finished) = std::sync::mpsc::sync_channel(1);
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let _pty = Pty::spawn_with_sink(opts, Count { total: 0, done }).expect("spawn");
    let total = finished.recv().expect("exit");
    let wall = start.elapsed();
    let cpu = cpu_seconds() - cpu0;
    Flood {
        bytes: total,
        wall,
        cpu,
    }
}

fn main() {
    // The session's reading runs on a runtime like the server's.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let _entered = runtime.enter();
    // `cargo bench` passes `--bench`; `cargo test --benches` runs us too:
    // then only a tiny smoke run.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let runs: usize = env_or("FLOOD_RUNS", if smoke { 1 } else { 5 });
    let bytes: u64 = env_or("FLOOD_BYTES", if smoke { 1_000_000 } else { 100_000_000 });
    let (mut bare_runs, mut hub_runs) = (Vec::new(), Vec::new());
    for run in 0..runs {
        // Alternate the order so that neither side always runs on a warmer machine.
        let (b, h) = if run % 2 == 0 {
            let b = bare_flood(bytes);
            (b, ptyhub(bytes))
        } else {
            let h = ptyhub(bytes);
            (bare_flood(bytes), h)
        };
        println!(
            "run {run}: bare {:.1} MB/s {:.2} s CPU/100MB | ptyhub {:.1} MB/s {:.2} s CPU/100MB",
            b.mb_per_s(),
            b.cpu_per_100mb(),
            h.mb_per_s(),
            h.cpu_per_100mb()
        );
        assert_eq!(b.bytes, h.bytes, "both sides read the same stream");
        bare_runs.push(b);
        hub_runs.push(h);
    }
    let bare_mbs = median(bare_runs.iter().map(Flood::mb_per_s).collect());
    let hub_mbs = median(hub_runs.iter().map(Flood::mb_per_s).collect());
    let bare_cpu = median(bare_runs.iter().map(Flood::cpu_per_100mb).collect());
    let hub_cpu = median(hub_runs.iter().map(Flood::cpu_per_100mb).collect());
    println!("median of {runs} runs, {bytes} bytes of input each:");
    println!("| side | MB/s | CPU s per 100 MB |");
    println!("| --- | --- | --- |");
    println!("| bare PTY | {bare_mbs:.1} | {bare_cpu:.2} |");
    println!("| ptyhub-pty session | {hub_mbs:.1} | {hub_cpu:.2} |");
    println!("throughput ratio ptyhub/bare: {:.2}x", hub_mbs / bare_mbs);
}
