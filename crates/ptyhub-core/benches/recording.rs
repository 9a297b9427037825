//! The cost of recording (issue 16): the same flood (`yes`, 100 MB) through
//! a session with one client, recording off and on, alternately in the same
//! run (the machine is small and noisy: the ratio of medians is the figure):
//! throughput as the client sees it, CPU seconds of this whole process per
//! 100 MB (reading task, ring, screen, client, and the recorder's feed and
//! writer, counted until the recording's last line is written), and the
//! recording's size against the raw output.
//!
//! `cargo build --release -p ptyhub-pty --bins && cargo bench -p ptyhub-core --bench recording`
//! (env `REC_RUNS`, `REC_BYTES`). Without `--bench` (as under `cargo test
//! --all-targets`) it only does a tiny smoke run.

#[path = "../../ptyhub-pty/benches/baseline/mod.rs"]
mod baseline;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use baseline::{cpu_seconds, env_or, flood_command, median, verdict};
use ptyhub_core::recording::{self, RecordConfig};
use ptyhub_core::{AttachOptions, ClientEvent, CoreConfig, SessionSpec, Supervisor};
use ptyhub_protocol::api::ResizePolicy;
use ptyhub_pty::{Environment, GuardProgram, WindowSize};

struct Sample {
    bytes: u64,
    wall: Duration,
    cpu: f64,
    file: u64,
}

fn spec(script: &str) -> SessionSpec {
    SessionSpec {
        argv: ["sh", "-c", script].iter().map(|s| s.to_string()).collect(),
        cwd: std::env::temp_dir(),
        env: Environment::from_current_process(),
        size: WindowSize::default(),
        name: None,
        labels: Default::default(),
        provider: None,
        resize_policy: ResizePolicy::Latest,
        limits: None,
        id: None,
        agent: Default::default(),
    }
}

async fn flood(supervisor: &Arc<Supervisor>, bytes: u64, record: Option<&PathBuf>) -> Sample {
    let script = format!("read go; {}", flood_command(bytes));
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let session = supervisor.create(spec(&script)).await.expect("create");
    let path = record.map(|dir| {
        recording::start(
            &session,
            &RecordConfig {
                dir: dir.clone(),
                input: false,
                max_bytes: u64::MAX,
            },
        )
    });
    let (mut client, _) = session
        .attach(AttachOptions {
            since: Some(0),
            ..Default::default()
        })
        .expect("attach");
    client.input("\n".into()).await.expect("start the flood");
    let mut n = 0u64;
    while let Some(event) = client.next().await {
        match event {
            ClientEvent::Output(b) => n += b.len() as u64,
            ClientEvent::Lagged { .. } => panic!("the client was lagged"),
            ClientEvent::Exit(_) => break,
            _ => {}
        }
    }
    let wall = start.elapsed();
    // The recording's work counts until its last line is written. Only the
    // file's last bytes are read to see that (reading the whole 100 MB file
    // every poll, as this bench first did, cost the process about 0.1 s per
    // run, which was counted as the recording's), and the file is removed
    // after the CPU is read (unlinking 100 MB is the kernel's work, in this
    // process).
    let mut file = 0;
    if let Some(path) = &path {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (len, tail) = file_tail(path, 64);
            if String::from_utf8_lossy(&tail).contains("exit:") {
                file = len;
                break;
            }
            assert!(Instant::now() < deadline, "the recording did not finish");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let info = session.recording_info().expect("recorded");
        assert_eq!(info.error, None);
    }
    let cpu = cpu_seconds() - cpu0;
    if let Some(path) = &path {
        let _ = std::fs::remove_file(path);
    }
    supervisor.registry().remove(session.id());
    Sample {
        bytes: n,
        wall,
        cpu,
        file,
    }
}

/// The file's length and its last `n` bytes (empty when it cannot be read).
fn file_tail(path: &std::path::Path, n: u64) -> (u64, Vec<u8>) {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else {
        return (0, Vec::new());
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut tail = Vec::new();
    if f.seek(SeekFrom::Start(len.saturating_sub(n))).is_ok() {
        let _ = f.take(n).read_to_end(&mut tail);
    }
    (len, tail)
}

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let runs: u64 = env_or("REC_RUNS", if smoke { 1 } else { 5 });
    let bytes: u64 = env_or("REC_BYTES", if smoke { 1_000_000 } else { 100_000_000 });
    let guard = GuardProgram::locate().expect(
        "no guard binary next to this bench: run `cargo build --release -p ptyhub-pty --bins` first",
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let dir = std::env::temp_dir().join(format!("ptyhub-bench-rec-{}", std::process::id()));
    runtime.block_on(async {
        let supervisor = Supervisor::new(CoreConfig::with_guard(guard));
        let (mut off, mut on) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            off.push(flood(&supervisor, bytes, None).await);
            on.push(flood(&supervisor, bytes, Some(&dir)).await);
        }
        let rate = |s: &Sample| s.bytes as f64 / 1e6 / s.wall.as_secs_f64();
        let cpu = |s: &Sample| s.cpu * 100e6 / s.bytes as f64;
        let (rate_off, rate_on) = (
            median(off.iter().map(rate).collect()),
            median(on.iter().map(rate).collect()),
        );
        let (cpu_off, cpu_on) = (
            median(off.iter().map(cpu).collect()),
            median(on.iter().map(cpu).collect()),
        );
        let size = median(on.iter().map(|s| s.file as f64 / s.bytes as f64).collect());
        println!("recording: {runs} runs of {bytes} bytes of `yes`, off and on alternately");
        println!("  throughput off {rate_off:.1} MB/s, on {rate_on:.1} MB/s: ratio {:.3} (target >= 0.95) {}", rate_on / rate_off, verdict(rate_on / rate_off >= 0.95));
        println!("  CPU per 100 MB off {cpu_off:.3} s, on {cpu_on:.3} s: +{:.3} s (target <= +0.3 s) {}", cpu_on - cpu_off, verdict(cpu_on - cpu_off <= 0.3));
        println!("  recording size / raw output bytes: {size:.3}");
    });
    let _ = std::fs::remove_dir(&dir);
}
