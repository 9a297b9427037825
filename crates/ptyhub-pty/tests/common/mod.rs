//! Shared helpers of the PTY layer's tests: spawning real programs under the
//! crate's own guard binary and waiting on their output with deadlines.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use ptyhub_pty::procs::{self, ProcInfo};
use ptyhub_pty::{Environment, ExitStatus, GuardProgram, Pty, PtyEvent, SpawnOptions, WindowSize};
use tokio::sync::mpsc;

pub fn guard() -> GuardProgram {
    GuardProgram::binary(env!("CARGO_BIN_EXE_ptyhub-guard"))
}

pub fn options(argv: &[&str]) -> SpawnOptions {
    SpawnOptions {
        argv: argv.iter().map(|s| s.to_string()).collect(),
        cwd: std::env::temp_dir(),
        env: Environment::from_current_process()
            .overlay([("PS1", "ptyhub$ "), ("HISTFILE", "/dev/null")]),
        size: WindowSize::default(),
        terminate_grace: Duration::from_secs(1),
        lost_grace: Duration::from_millis(500),
        guard: guard(),
    }
}

/// A program under test, with everything it printed so far.
pub struct Running {
    pub pty: Pty,
    events: mpsc::Receiver<PtyEvent>,
    pub output: Vec<u8>,
    pub exit: Option<ExitStatus>,
}

impl Running {
    pub fn spawn(opts: SpawnOptions) -> Running {
        let (pty, events) = Pty::spawn(opts).expect("spawn");
        Running {
            pty,
            events,
            output: Vec::new(),
            exit: None,
        }
    }

    pub fn start(argv: &[&str]) -> Running {
        Self::spawn(options(argv))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.output).into_owned()
    }

    /// The end of the output, for failure messages.
    pub fn tail(&self) -> String {
        let text = self.text();
        let chars: Vec<char> = text.chars().collect();
        chars[chars.len().saturating_sub(600)..].iter().collect()
    }

    /// Takes events until `done` holds or the deadline passes.
    pub async fn until(&mut self, what: &str, timeout: Duration, done: impl Fn(&Running) -> bool) {
        let deadline = tokio::time::Instant::now() + timeout;
        while !done(self) {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(PtyEvent::Output(chunk))) => self.output.extend_from_slice(&chunk),
                Ok(Some(PtyEvent::Exit(status))) => self.exit = Some(status),
                Ok(None) => {
                    if done(self) {
                        return;
                    }
                    panic!(
                        "event stream ended while waiting for {what}; output so far ({} bytes), ending: {:?}",
                        self.output.len(),
                        self.tail()
                    )
                }
                Err(_) => panic!(
                    "timed out waiting for {what}; output so far ({} bytes), ending: {:?}",
                    self.output.len(),
                    self.tail()
                ),
            }
        }
    }

    pub async fn expect(&mut self, needle: &str) {
        self.until(needle, Duration::from_secs(10), |r| {
            r.text().contains(needle)
        })
        .await
    }

    pub async fn type_line(&self, line: &str) {
        self.pty
            .input()
            .send(format!("{line}\r").into_bytes().into())
            .await
            .expect("input");
    }

    pub async fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        self.until("exit", timeout, |r| r.exit.is_some()).await;
        self.exit.expect("exit")
    }
}

/// Every process below `guard_pid` right now.
pub fn tree(guard_pid: i32) -> Vec<ProcInfo> {
    let all = procs::scan();
    // The scan is empty only when /proc cannot be read (this process is in
    // it otherwise): an empty tree must mean that nothing is left.
    assert!(!all.is_empty(), "/proc could not be read");
    procs::descendants(&all, guard_pid)
}

/// Whether this exact process (pid and start time) still exists, zombies
/// aside.
pub fn alive(p: &ProcInfo) -> bool {
    match procfs::process::Process::new(p.pid).and_then(|pr| pr.stat()) {
        Ok(stat) => stat.starttime == p.start_time && stat.state != 'Z',
        Err(_) => false,
    }
}

/// Waits until `done` holds, checking every 20 ms, up to `timeout`.
pub fn wait_for(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A bash script that leaves five kinds of background job behind, each
/// marked by the number it sleeps, then prints `ready`.
pub const BACKGROUND_JOBS: &str = r#"
sleep 1001 &
nohup sleep 1002 >/dev/null 2>&1 &
setsid sleep 1003 &
(trap '' HUP TERM; exec sleep 1004) &
python3 -c '
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(int(sys.argv[1]))
    os._exit(0)
' 1005
echo re""ady
"#;

/// The five sleepers of [`BACKGROUND_JOBS`] below `guard_pid`, once all
/// five run.
pub fn background_jobs(guard_pid: i32) -> Vec<ProcInfo> {
    let mut found = Vec::new();
    let ok = wait_for(Duration::from_secs(10), || {
        found = tree(guard_pid)
            .into_iter()
            .filter(|p| {
                let cmd = procfs::process::Process::new(p.pid)
                    .and_then(|pr| pr.cmdline())
                    .unwrap_or_default()
                    .join(" ");
                ["1001", "1002", "1003", "1004", "1005"]
                    .iter()
                    .any(|n| cmd.ends_with(n))
            })
            .collect();
        found.len() == 5
    });
    assert!(ok, "expected five background jobs, found {found:?}");
    found
}
