//! The `ptyhub` binary's command line, run for real: `serve` prints its
//! URL, writes its runtime file and exits 0 on SIGTERM; bad options end it
//! at once with one clear line on stderr.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use rustix::process::{Pid, Signal, kill_process};

/// How long the binary may take to do anything here.
const DEADLINE: Duration = Duration::from_secs(30);

const TOKEN: &str = "test-token-0123456789abcdef";

/// A directory under the system's temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "ptyhub-cli-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The binary with none of the caller's ptyhub settings, and its runtime
/// file going to `runtime`.
fn ptyhub(runtime: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ptyhub"));
    for var in ["PTYHUB_TOKEN", "PTYHUB_BIND", "PTYHUB_CONFIG", "RUST_LOG"] {
        cmd.env_remove(var);
    }
    cmd.env("XDG_RUNTIME_DIR", runtime)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn signal(pid: u32, signal: Signal) {
    let pid = Pid::from_raw(i32::try_from(pid).unwrap()).unwrap();
    kill_process(pid, signal).unwrap();
}

/// Waits for the child's exit; kills it and fails after [`DEADLINE`].
fn wait(mut child: Child) -> ExitStatus {
    let pid = child.id();
    // One message: a capacity of 1 never blocks the waiter.
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::spawn(move || tx.send(child.wait()));
    match rx.recv_timeout(DEADLINE) {
        Ok(status) => status.unwrap(),
        Err(_) => {
            signal(pid, Signal::KILL);
            panic!("ptyhub (pid {pid}) did not exit within {DEADLINE:?}");
        }
    }
}

/// Runs the command to its end, within [`DEADLINE`].
fn run(mut cmd: Command) -> Output {
    let child = cmd.spawn().unwrap();
    let pid = child.id();
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(DEADLINE) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            signal(pid, Signal::KILL);
            panic!("ptyhub (pid {pid}) did not exit within {DEADLINE:?}");
        }
    }
}

/// Collects a pipe's text in a thread; the text arrives when it closes.
fn collect(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        let _ = tx.send(text);
    });
    rx
}

/// A running `ptyhub serve`, with its first stdout line read.
struct Served {
    child: Child,
    line: String,
    stderr: mpsc::Receiver<String>,
}

fn start_serve(runtime: &Path, args: &[&str], env: &[(&str, &str)]) -> Served {
    let mut cmd = ptyhub(runtime);
    cmd.arg("serve").args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = collect(child.stderr.take().unwrap());
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = tx.send(line);
        // Keep reading so that the server never blocks on a full pipe.
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let line = match rx.recv_timeout(DEADLINE) {
        Ok(line) if !line.is_empty() => line,
        other => {
            signal(child.id(), Signal::KILL);
            let stderr = stderr.recv_timeout(DEADLINE).unwrap_or_default();
            panic!("no URL line from ptyhub serve ({other:?}); stderr:\n{stderr}");
        }
    };
    Served {
        child,
        line,
        stderr,
    }
}

impl Served {
    /// SIGTERM, then the exit status and stderr.
    fn terminate(self) -> (ExitStatus, String) {
        signal(self.child.id(), Signal::TERM);
        let status = wait(self.child);
        let stderr = self.stderr.recv_timeout(DEADLINE).unwrap_or_default();
        (status, stderr)
    }
}

#[test]
fn serve_prints_the_url_and_exits_0_on_sigterm() {
    let dir = TempDir::new();
    let served = start_serve(
        &dir.0,
        &["--bind", "127.0.0.1:0"],
        &[("PTYHUB_TOKEN", TOKEN)],
    );
    let line = served.line.clone();
    assert!(line.ends_with('\n'), "{line:?}");
    let url = line
        .trim_end()
        .strip_prefix("ptyhub: open ")
        .unwrap_or_else(|| panic!("{line:?}"));
    let rest = url
        .strip_prefix("http://127.0.0.1:")
        .unwrap_or_else(|| panic!("{url}"));
    // A supplied token is never printed: the URL has none.
    let port = rest.strip_suffix('/').unwrap_or_else(|| panic!("{url}"));
    let port: u16 = port.parse().unwrap();
    assert_ne!(port, 0);
    assert!(!line.contains(TOKEN), "{line}");
    // It really listens there.
    TcpStream::connect(("127.0.0.1", port)).unwrap();

    // The runtime file is there, private, and names this server.
    let file = dir.0.join("ptyhub/server.json");
    let info = ptyhub_server::runtime_file::read(&dir.0.join("ptyhub"))
        .unwrap()
        .expect("runtime file");
    assert_eq!(info.url, format!("http://127.0.0.1:{port}"));
    assert_eq!(info.token.as_deref(), Some(TOKEN));
    assert_eq!(info.pid, served.child.id());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    let (status, stderr) = served.terminate();
    assert!(status.success(), "{status:?}; stderr:\n{stderr}");
    assert!(
        !stderr.contains(TOKEN),
        "the token leaked to stderr:\n{stderr}"
    );
    assert!(!file.exists(), "the runtime file outlived the server");
}

#[test]
fn serve_generates_a_token_and_stops_on_sigint() {
    let dir = TempDir::new();
    let served = start_serve(&dir.0, &["--bind", "127.0.0.1:0"], &[]);
    let (_, token) = served
        .line
        .trim_end()
        .split_once("/?token=")
        .unwrap_or_else(|| panic!("{:?}", served.line));
    assert_eq!(token.len(), 64);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    signal(served.child.id(), Signal::INT);
    assert!(wait(served.child).success());
}

#[test]
fn serve_no_auth_on_loopback_prints_no_token() {
    let dir = TempDir::new();
    let served = start_serve(&dir.0, &["--bind", "127.0.0.1:0", "--no-auth"], &[]);
    let line = served.line.trim_end().to_owned();
    assert!(line.starts_with("ptyhub: open http://127.0.0.1:"), "{line}");
    assert!(line.ends_with('/') && !line.contains("token"), "{line}");
    let (status, stderr) = served.terminate();
    assert!(status.success());
    assert!(stderr.contains("authentication is off"), "{stderr}");
}

/// Runs `ptyhub serve ARGS` expecting it to fail at once; returns stderr.
fn serve_fails(args: &[&str]) -> String {
    let dir = TempDir::new();
    let mut cmd = ptyhub(&dir.0);
    cmd.arg("serve").args(args);
    let output = run(cmd);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "{args:?} succeeded");
    assert!(
        output.stdout.is_empty(),
        "{args:?} printed {:?}",
        output.stdout
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("RUST_BACKTRACE"), "{stderr}");
    stderr
}

#[test]
fn no_auth_off_loopback_is_refused() {
    let stderr = serve_fails(&["--bind", "0.0.0.0:0", "--no-auth"]);
    assert!(stderr.contains("--no-auth"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

#[test]
fn a_bad_config_file_names_the_file_and_the_key() {
    let dir = TempDir::new();
    let unknown = dir.file(
        "unknown.toml",
        "bind = \"127.0.0.1:0\"\nidel_timeout = \"5s\"\n",
    );
    let stderr = serve_fails(&["--config", unknown.to_str().unwrap()]);
    assert!(stderr.contains("unknown.toml"), "{stderr}");
    assert!(stderr.contains("idel_timeout"), "{stderr}");
    assert!(stderr.contains("line 2"), "{stderr}");

    let bad = dir.file("bad.toml", "idle_timeout = \"soon\"\n");
    let stderr = serve_fails(&["--config", bad.to_str().unwrap()]);
    assert!(stderr.contains("bad.toml"), "{stderr}");
    assert!(stderr.contains("idle_timeout"), "{stderr}");
    assert!(stderr.contains("\"soon\""), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");

    let missing = dir.0.join("missing.toml");
    let stderr = serve_fails(&["--config", missing.to_str().unwrap()]);
    assert!(stderr.contains("missing.toml"), "{stderr}");
}

#[test]
fn a_port_in_use_is_one_clear_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let stderr = serve_fails(&["--bind", &addr]);
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
}

#[test]
fn a_usage_error_exits_2() {
    let dir = TempDir::new();
    let mut cmd = ptyhub(&dir.0);
    cmd.args(["serve", "--token", "t", "--no-auth"]);
    let output = run(cmd);
    assert_eq!(output.status.code(), Some(2));
}
