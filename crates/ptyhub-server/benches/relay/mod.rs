//! The minimal relay the `load` bench measures ptyhub's keystroke path
//! against: the smallest server that does what ptyhub does for a keystroke,
//! in a process of its own (this bench binary run again with [`ENV`] set).
//!
//! It runs a tokio multi-thread runtime with two workers (as `ptyhub serve`
//! on this machine), accepts one TCP connection on `127.0.0.1:0` with
//! `TCP_NODELAY`, does the WebSocket handshake with tokio-tungstenite (the
//! library under warp's WebSockets), starts `cat` on a fresh PTY whose
//! master is non-blocking under tokio's `AsyncFd`, and relays in one task:
//! a binary frame is written to the master, what the master has is read
//! and sent as one binary frame, a text frame `{"type":"ping"}` is answered
//! with `{"type":"pong"}`. No ring, no screen, no session, no auth. When
//! the socket ends, it ends `cat` and exits.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use rustix::fs::OFlags;
use rustix::pty::OpenptFlags;
use serde_json::Value;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::served::{DEADLINE, Socket, stop};

/// Set (to anything) in the environment of the bench binary, it runs the
/// relay instead of the bench.
pub const ENV: &str = "LOAD_RELAY";

/// The most bytes one read of the master takes (as ptyhub's reader).
const READ_BUFFER: usize = 64 * 1024;

/// The relay's `main`: prints its port on stdout, serves one connection,
/// returns once it has ended and `cat` is reaped.
pub fn serve() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("the bound address").port();
        // stdout is line-buffered: the bench reads this line at once.
        println!("{port}");
        let (stream, _) = tokio::time::timeout(DEADLINE, listener.accept())
            .await
            .expect("the bench connects within the deadline")
            .expect("accept");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        // On a worker, as a server's connection task is (not on this
        // thread, which only blocks on it).
        tokio::spawn(connection(stream))
            .await
            .expect("the connection task");
    });
}

/// `cat` on a new PTY: the master (non-blocking, close-on-exec) and the
/// child. The PTY's line discipline echoes a keystroke by itself; `cat`
/// only holds the terminal open (it reads at a newline, which the bench
/// never types). No `setsid`: a controlling terminal plays no part in the
/// echo, and this workspace forbids the `unsafe` of a `pre_exec` hook.
fn cat_on_pty() -> (OwnedFd, Child) {
    let master =
        rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("open a PTY master");
    let flags = rustix::fs::fcntl_getfl(&master).expect("the master's flags");
    rustix::fs::fcntl_setfl(&master, flags | OFlags::NONBLOCK).expect("non-blocking");
    rustix::io::fcntl_setfd(&master, rustix::io::FdFlags::CLOEXEC).expect("close-on-exec");
    rustix::pty::grantpt(&master).expect("grantpt");
    rustix::pty::unlockpt(&master).expect("unlockpt");
    let name = rustix::pty::ptsname(&master, Vec::new()).expect("the slave's name");
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(OFlags::NOCTTY.bits() as i32)
        .open(OsStr::from_bytes(name.as_bytes()))
        .expect("open the slave");
    let child = Command::new("cat")
        .stdin(slave.try_clone().expect("dup the slave"))
        .stdout(slave.try_clone().expect("dup the slave"))
        .stderr(slave)
        // Out of the bench's process group: a Ctrl-C at the bench's
        // terminal is not for it.
        .process_group(0)
        .spawn()
        .expect("spawn cat");
    (master, child)
}

/// What the relay does besides relaying, to measure what each part of
/// ptyhub's shape costs (env `LOAD_RELAY_SHAPE`, comma-separated; neither
/// by default):
/// - `split`: the master is read by a task of its own that hands each
///   chunk to the socket's task through a channel (ptyhub: the session's
///   reading task, the ring and a watch);
/// - `blocking`: each chunk read also starts a job on tokio's blocking pool
///   (ptyhub: the screen's job, started for every chunk once the screen
///   has caught up), after the socket's task was woken;
/// - `small-reads`: the socket is read with a 4 KiB buffer instead of
///   tungstenite's default 128 KiB, which it zeroes before every read of
///   the socket, including the ones that find nothing (warp 0.4 has no
///   setting for it: ptyhub reads with the default).
#[derive(Clone, Copy, Debug, Default)]
pub struct Shape {
    split: bool,
    blocking: bool,
    small_reads: bool,
}

/// The variable [`Shape`] is read from (the relay inherits the bench's
/// environment).
pub const SHAPE_ENV: &str = "LOAD_RELAY_SHAPE";

impl Shape {
    pub fn from_env() -> Shape {
        let words = std::env::var(SHAPE_ENV).unwrap_or_default();
        let mut shape = Shape::default();
        for word in words.split(',').filter(|w| !w.is_empty()) {
            match word {
                "split" => shape.split = true,
                "blocking" => shape.blocking = true,
                "small-reads" => shape.small_reads = true,
                other => {
                    panic!("{SHAPE_ENV}: unknown part {other:?} (split, blocking, small-reads)")
                }
            }
        }
        shape
    }

    /// How the bench's tables name this relay.
    pub fn name(&self) -> String {
        let mut parts = vec!["minimal relay"];
        if self.split {
            parts.push("own reading task");
        }
        if self.blocking {
            parts.push("a blocking-pool job per chunk");
        }
        if self.small_reads {
            parts.push("4 KiB socket reads");
        }
        parts.join(" + ")
    }
}

/// Chunks of output queued from the reading task to the socket's, at most
/// (`split`): a keystroke's echo is one chunk; more is a flood, which this
/// bench does not send through the relay.
const CHUNKS: usize = 64;

/// The handshake, then the relay until the socket ends; then `cat` ends.
async fn connection(stream: TcpStream) {
    let shape = Shape::from_env();
    let config = shape
        .small_reads
        .then(|| WebSocketConfig::default().read_buffer_size(4096));
    let mut ws = tokio_tungstenite::accept_async_with_config(stream, config)
        .await
        .expect("the WebSocket handshake");
    let (master, mut cat) = cat_on_pty();
    // The safe (deprecated) constructor: the workspace forbids `unsafe`,
    // and an `OwnedFd` is what the unsafe `register_with_interest` asks
    // for (open, and owned by the `AsyncFd` for its whole life).
    #[allow(deprecated)]
    let master = AsyncFd::with_interest(master, Interest::READABLE | Interest::WRITABLE)
        .expect("register the master");
    let master = Arc::new(master);
    let (tx, mut rx) = tokio::sync::mpsc::channel(CHUNKS);
    let reader = shape.split.then(|| {
        let master = master.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; READ_BUFFER];
            while let Some(chunk) = read_chunk(&master, &mut buf).await {
                if tx.send(chunk).await.is_err() {
                    break;
                }
                if shape.blocking {
                    screen_job();
                }
            }
        })
    });
    let mut buf = vec![0u8; READ_BUFFER];
    loop {
        tokio::select! {
            frame = ws.next() => {
                let msg = match frame {
                    Some(Ok(msg)) => msg,
                    Some(Err(_)) | None => break,
                };
                match msg {
                    Message::Binary(data) => write_all(&master, &data).await,
                    Message::Text(text) => {
                        let request: Value = serde_json::from_str(&text).expect("a JSON message");
                        if request["type"] == "ping" {
                            let pong = serde_json::json!({"type": "pong"}).to_string();
                            if ws.send(Message::text(pong)).await.is_err() {
                                break;
                            }
                        }
                    }
                    Message::Close(_) => break,
                    _ => {}
                }
            }
            chunk = read_chunk(&master, &mut buf), if !shape.split => {
                let Some(chunk) = chunk else { break };
                if shape.blocking {
                    screen_job();
                }
                if ws.send(Message::binary(chunk)).await.is_err() {
                    break;
                }
            }
            chunk = rx.recv(), if shape.split => {
                let Some(chunk) = chunk else { break };
                if ws.send(Message::binary(chunk)).await.is_err() {
                    break;
                }
            }
        }
    }
    if let Some(reader) = reader {
        reader.abort();
    }
    drop(master);
    // The bench is gone: `cat` has nothing more to hold open.
    if let Err(e) = cat.kill() {
        eprintln!("relay: ending cat: {e}");
    }
    if let Err(e) = cat.wait() {
        eprintln!("relay: reaping cat: {e}");
    }
}

/// The next chunk of output (one read once the master is readable), `None`
/// at EOF (EIO once `cat` is gone). Cancel-safe: the read and the return
/// happen in one poll.
async fn read_chunk(master: &AsyncFd<OwnedFd>, buf: &mut [u8]) -> Option<Vec<u8>> {
    loop {
        let mut ready = master.readable().await.ok()?;
        match ready.try_io(|fd| Ok(rustix::io::read(fd.get_ref(), &mut *buf)?)) {
            Ok(Ok(0)) | Ok(Err(_)) => return None,
            Ok(Ok(n)) => return Some(buf[..n].to_vec()),
            // The readiness was stale; it is cleared, wait again.
            Err(_would_block) => {}
        }
    }
}

/// `blocking`: a job on the blocking pool that does next to nothing, as
/// ptyhub's screen job for one echoed byte; nobody waits for it.
fn screen_job() {
    drop(tokio::task::spawn_blocking(|| std::hint::black_box(0u64)));
}

/// Writes `data` to the master: at once, and after waiting for room only
/// when the terminal is full (as ptyhub does).
async fn write_all(master: &AsyncFd<OwnedFd>, mut data: &[u8]) {
    while !data.is_empty() {
        match rustix::io::write(master.get_ref(), data) {
            Ok(n) => data = &data[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(rustix::io::Errno::AGAIN) => {
                let mut ready = master.writable().await.expect("the master's readiness");
                ready.clear_ready();
            }
            Err(e) => panic!("writing to the PTY: {e}"),
        }
    }
}

/// A relay started by the bench; ended and reaped on drop.
pub struct Relay {
    child: Child,
    /// The relay process, for its threads' scheduler counters.
    pub process: procfs::process::Process,
    addr: String,
}

impl Relay {
    /// This bench binary again, as a relay; returns once it listens.
    pub fn start() -> Relay {
        let exe = std::env::current_exe().expect("own path");
        let mut child = Command::new(exe)
            .env(ENV, "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the relay");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("the relay's port");
        let port: u16 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("not a port: {line:?}"));
        let process = procfs::process::Process::new(child.id() as i32).expect("the relay's /proc");
        Relay {
            child,
            process,
            addr: format!("127.0.0.1:{port}"),
        }
    }

    /// The relay's one connection (Nagle off, as the bench's ptyhub
    /// client). Dropping it ends the relay.
    pub async fn connect(&self) -> Socket {
        let url = format!("ws://{}/", self.addr);
        let (ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
            .await
            .expect("the relay's WebSocket");
        ws
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        // It exits by itself once its socket is closed.
        stop(&mut self.child, None, Duration::from_secs(10));
    }
}
