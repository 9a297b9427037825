//! Helpers of the client tests: the `ptyhub` binary run as a client
//! command against a [`TestServer`](crate::common::TestServer), and a real
//! PTY ([`Pty`]) in which a test runs `ptyhub attach`, types, resizes, and
//! reads the screen through a terminal model (vt100).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

use crate::common::{TOKEN, TempDir, TestServer, wait_for};

/// How long anything here may take.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_ptyhub")
}

/// What a finished client command did.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts exit 0 and an empty stderr; the stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, Some(0), "{self:?}");
        assert_eq!(self.stderr, "", "{self:?}");
        &self.stdout
    }

    /// Asserts a failure told in exactly one line on stderr (and nothing
    /// on stdout); that line.
    pub fn error(&self) -> &str {
        assert_eq!(self.code, Some(1), "{self:?}");
        assert_eq!(self.stdout, "", "{self:?}");
        assert_eq!(self.stderr.lines().count(), 1, "{self:?}");
        assert!(self.stderr.starts_with("ptyhub: error: "), "{self:?}");
        self.stderr.trim_end()
    }
}

/// The binary with the environment of a client of `server` (its URL and
/// token; a runtime directory with no runtime file in it).
pub fn client(server: &TestServer, runtime: &TempDir) -> Command {
    let mut cmd = Command::new(bin());
    cmd.env("PTYHUB_URL", &server.base)
        .env("PTYHUB_TOKEN", TOKEN)
        .env("XDG_RUNTIME_DIR", runtime.dir())
        .env_remove("PTYHUB_DETACH_PREFIX");
    cmd
}

/// Runs `cmd` with `args` and `stdin` (empty when `None`) to its end.
pub fn run(mut cmd: Command, args: &[&str], stdin: Option<&str>) -> Run {
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start the client");
    let input = stdin.unwrap_or("").to_owned();
    let mut pipe = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(input.as_bytes());
    });
    let mut status = None;
    let done = wait_for(DEADLINE, || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    if !done {
        let _ = child.kill();
        let _ = child.wait();
        panic!("ptyhub {args:?} did not finish in {DEADLINE:?}");
    }
    writer.join().unwrap();
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    Run {
        code: status.unwrap().code(),
        stdout,
        stderr,
    }
}

/// What the PTY's reader thread collected.
struct Seen {
    parser: vt100::Parser,
    bytes: Vec<u8>,
}

/// A program running in a real PTY that the test types into, resizes, and
/// reads through a vt100 terminal model. The program is killed on drop if
/// it still runs.
pub struct Pty {
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    seen: Arc<Mutex<Seen>>,
    /// The slave's device (`/dev/pts/N`), for `stty -F`.
    pub tty: PathBuf,
}

impl Pty {
    /// Runs `sh -c script` with `args` ($0, $1...) and `env` in a PTY of
    /// `cols` x `rows`.
    pub fn spawn(script: &str, args: &[&str], env: &[(&str, &str)], cols: u16, rows: u16) -> Pty {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new("sh");
        cmd.arg("-c");
        cmd.arg(script);
        for a in args {
            cmd.arg(a);
        }
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("PTYHUB_DETACH_PREFIX");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.cwd(std::env::temp_dir());
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let tty = pair.master.tty_name().expect("the pty's name");
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let seen = Arc::new(Mutex::new(Seen {
            parser: vt100::Parser::new(nz(rows), nz(cols), 0),
            bytes: Vec::new(),
        }));
        let sink = seen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut seen = sink.lock().unwrap();
                seen.parser.process(&buf[..n]);
                seen.bytes.extend_from_slice(&buf[..n]);
            }
        });
        Pty {
            master: pair.master,
            writer,
            child,
            seen,
            tty,
        }
    }

    /// Types `bytes` at the keyboard.
    pub fn type_bytes(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
        self.writer.flush().unwrap();
    }

    /// The screen's text (vt100's model of what the user sees).
    pub fn screen(&self) -> String {
        self.seen.lock().unwrap().parser.screen().contents()
    }

    /// Every byte the program wrote, lossily as text.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock().unwrap().bytes).into_owned()
    }

    /// Waits until the screen contains `needle`.
    pub fn expect(&self, needle: &str) {
        let found = wait_for(DEADLINE, || self.screen().contains(needle));
        assert!(
            found,
            "waited for {needle:?}; the screen:\n{}",
            self.screen()
        );
    }

    /// Waits until everything written contains `needle`.
    pub fn expect_output(&self, needle: &str) {
        let found = wait_for(DEADLINE, || self.output().contains(needle));
        assert!(
            found,
            "waited for {needle:?} in the output:\n{:?}",
            self.output()
        );
    }

    /// Resizes the terminal (the program gets SIGWINCH).
    pub fn resize(&mut self, cols: u16, rows: u16) {
        self.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        self.seen
            .lock()
            .unwrap()
            .parser
            .set_size(nz(rows), nz(cols));
    }

    /// Waits for the program's end; its exit code.
    pub fn wait(&mut self) -> u32 {
        let mut status = None;
        let done = wait_for(DEADLINE, || {
            status = self.child.try_wait().unwrap();
            status.is_some()
        });
        assert!(
            done,
            "the program did not end; the screen:\n{}",
            self.screen()
        );
        status.unwrap().exit_code()
    }

    /// The PTY's modes as `stty -a` shows them.
    pub fn stty(&self) -> String {
        stty(&self.tty, "-a")
    }
}

fn nz(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).expect("a size of at least 1")
}

/// `stty FLAG` on the terminal `tty`.
pub fn stty(tty: &Path, flag: &str) -> String {
    let out = Command::new("stty")
        .arg("-F")
        .arg(tty)
        .arg(flag)
        .output()
        .unwrap();
    assert!(out.status.success(), "stty: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
