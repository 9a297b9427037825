//! Flood benchmark of the PTY layer: reads 100 MB of `yes` output from a
//! ptyhub session (guard, reader thread, event channel) and, in the same run,
//! from a bare portable-pty PTY read by this process itself. Prints MB/s and
//! the reading side's CPU seconds for each, median of the runs.
//!
//! `cargo bench -p ptyhub-pty --bench flood` (env `FLOOD_RUNS`, `FLOOD_BYTES`).

use std::io::Read;
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use ptyhub_pty::{
    Environment, ExitStatus, GuardProgram, OutputSink, Pty, SpawnOptions, WindowSize,
};

fn flood_command(bytes: u64) -> String {
    format!("yes abcdefghijklmnopqrstuvwxyz0123456789 | head -c {bytes}")
}

/// CPU seconds (user + system) of this whole process so far.
fn cpu_seconds() -> f64 {
    let stat = procfs::process::Process::myself()
        .and_then(|p| p.stat())
        .expect("own stat");
    (stat.utime + stat.stime) as f64 / procfs::ticks_per_second() as f64
}

struct Sample {
    bytes: u64,
    wall: Duration,
    cpu: f64,
}

impl Sample {
    fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.wall.as_secs_f64()
    }
    /// CPU seconds per 100 MB read.
    fn cpu_per_100mb(&self) -> f64 {
        self.cpu * 100e6 / self.bytes as f64
    }
}

fn bare(bytes: u64) -> Sample {
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("openpty");
    let mut cmd = CommandBuilder::new("sh");
    cmd.args(["-c", &flood_command(bytes)]);
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let mut child = pair.slave.spawn_command(cmd).expect("spawn");
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().expect("reader");
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n as u64,
        }
    }
    let wall = start.elapsed();
    let cpu = cpu_seconds() - cpu0;
    child.wait().expect("wait");
    Sample {
        bytes: total,
        wall,
        cpu,
    }
}

fn ptyhub(bytes: u64) -> Sample {
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
        fn output(&mut self, chunk: &[u8]) -> bool {
            self.total += chunk.len() as u64;
            true
        }
        fn exit(&mut self, _: ExitStatus) {
            self.done.send(self.total).expect("bench waits");
        }
    }
    let (done, finished) = std::sync::mpsc::sync_channel(1);
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let _pty = Pty::spawn_with_sink(opts, Box::new(Count { total: 0, done })).expect("spawn");
    let total = finished.recv().expect("exit");
    let wall = start.elapsed();
    let cpu = cpu_seconds() - cpu0;
    Sample {
        bytes: total,
        wall,
        cpu,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs us too:
    // then only a tiny smoke run.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let runs: usize = std::env::var("FLOOD_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if smoke { 1 } else { 5 });
    let bytes: u64 = std::env::var("FLOOD_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if smoke { 1_000_000 } else { 100_000_000 });
    let (mut bare_runs, mut hub_runs) = (Vec::new(), Vec::new());
    for run in 0..runs {
        // Alternate the order so that neither side always runs on a warmer machine.
        let (b, h) = if run % 2 == 0 {
            let b = bare(bytes);
            (b, ptyhub(bytes))
        } else {
            let h = ptyhub(bytes);
            (bare(bytes), h)
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
    let bare_mbs = median(bare_runs.iter().map(Sample::mb_per_s).collect());
    let hub_mbs = median(hub_runs.iter().map(Sample::mb_per_s).collect());
    let bare_cpu = median(bare_runs.iter().map(Sample::cpu_per_100mb).collect());
    let hub_cpu = median(hub_runs.iter().map(Sample::cpu_per_100mb).collect());
    println!("median of {runs} runs, {bytes} bytes of input each:");
    println!("| side | MB/s | CPU s per 100 MB |");
    println!("| --- | --- | --- |");
    println!("| bare PTY | {bare_mbs:.1} | {bare_cpu:.2} |");
    println!("| ptyhub-pty session | {hub_mbs:.1} | {hub_cpu:.2} |");
    println!("throughput ratio ptyhub/bare: {:.2}x", hub_mbs / bare_mbs);
}
