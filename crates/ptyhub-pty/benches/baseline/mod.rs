//! What every bench shares (the PTY layer's, the core's and the server's,
//! each includes this file): the flood, the bare PTY that each result is
//! compared with in the same run (its flood and its keystroke echo), this
//! process's CPU and memory, and the statistics.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

/// The number in the environment variable `name` (a bench's size, say
/// `LOAD_BYTES`), or `default` when it is unset or not a number.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `bytes` of `yes` lines; the terminal turns each `\n` into `\r\n`.
pub fn flood_command(bytes: u64) -> String {
    format!("yes abcdefghijklmnopqrstuvwxyz0123456789 | head -c {bytes}")
}

/// CPU seconds (user + system) of this whole process so far.
pub fn cpu_seconds() -> f64 {
    process_cpu(&procfs::process::Process::myself().expect("own process"))
}

/// CPU seconds (user + system) of `process` so far.
pub fn process_cpu(process: &procfs::process::Process) -> f64 {
    let stat = process.stat().expect("a process's stat");
    (stat.utime + stat.stime) as f64 / procfs::ticks_per_second() as f64
}

/// This process's resident set, KiB.
pub fn rss_kib() -> u64 {
    procfs::process::Process::myself()
        .and_then(|p| p.status())
        .expect("own status")
        .vmrss
        .expect("VmRSS")
}

/// One flood: bytes read, wall time, CPU seconds of the side measured.
#[derive(Debug)]
pub struct Flood {
    pub bytes: u64,
    pub wall: Duration,
    pub cpu: f64,
}

impl Flood {
    pub fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.wall.as_secs_f64()
    }

    /// CPU seconds per 100 MB read.
    pub fn cpu_per_100mb(&self) -> f64 {
        self.cpu * 100e6 / self.bytes as f64
    }
}

/// `argv` in a bare 80x24 PTY of portable-pty.
pub fn bare_pty(argv: &[&str]) -> (Box<dyn MasterPty + Send>, Box<dyn Child + Send + Sync>) {
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("openpty");
    let mut cmd = CommandBuilder::new(argv[0]);
    cmd.args(&argv[1..]);
    let child = pair.slave.spawn_command(cmd).expect("spawn");
    drop(pair.slave);
    (pair.master, child)
}

/// The baseline: the flood read from a bare PTY by this process with 64 KiB
/// reads (its CPU: this whole process).
pub fn bare_flood(bytes: u64) -> Flood {
    bare_output(&flood_command(bytes))
}

/// The output of the shell command `script` read from a bare PTY as
/// [`bare_flood`] reads it.
pub fn bare_output(script: &str) -> Flood {
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let (master, mut child) = bare_pty(&["sh", "-c", script]);
    let mut reader = master.try_clone_reader().expect("reader");
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
    Flood {
        bytes: total,
        wall,
        cpu,
    }
}

/// What a flood gate's input adds to the stream: the terminal echoes the
/// `\n` as `\r\n` when it arrives, always before the flood it releases.
pub const GATE_ECHO: u64 = 2;

/// The keystroke each step types: letters, echoed as they are.
pub fn key(i: usize) -> u8 {
    b'a' + (i % 26) as u8
}

/// Keystrokes typed but not timed first (caches, the first frames, the
/// program's first read).
pub const WARMUP_KEYS: usize = 50;

/// Echo times of `keys` keystrokes into `cat` on a bare PTY, µs.
pub fn bare_echo(keys: usize) -> Vec<f64> {
    let (master, mut child) = bare_pty(&["cat"]);
    let mut reader = master.try_clone_reader().expect("reader");
    let mut writer = master.take_writer().expect("writer");
    let mut times = Vec::with_capacity(keys);
    let mut buf = [0u8; 16];
    for i in 0..WARMUP_KEYS + keys {
        let start = Instant::now();
        writer.write_all(&[key(i)]).expect("type");
        let n = reader.read(&mut buf).expect("read the echo");
        let took = start.elapsed();
        assert_eq!(&buf[..n], &[key(i)], "the echo, alone");
        if i >= WARMUP_KEYS {
            times.push(took.as_secs_f64() * 1e6);
        }
    }
    child.kill().expect("end cat");
    child.wait().expect("reap cat");
    times
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

pub fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

pub fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}
