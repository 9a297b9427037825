//! A session's terminal on the async runtime: the PTY master is one
//! non-blocking descriptor under tokio's reactor. Output is read by one
//! task per session (no thread), input is written by whichever task sends
//! it, straight away when the terminal takes it.
//!
//! A session costs no thread: while its program is quiet it is a parked
//! task and a registration in the reactor.

use std::cell::RefCell;
use std::future::Future;
use std::io::ErrorKind;
use std::os::fd::OwnedFd;
use std::process::{Child, ChildStdin};
use std::sync::Arc;

use bytes::Bytes;
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::unix::pipe;
use tokio::sync::{Mutex, mpsc};

use crate::error::PtyError;
use crate::signal::ExitStatus;

/// Size of the buffer one burst of reads fills. It is one per runtime
/// thread, not one per session: a session's output is copied out of it into
/// a chunk of exactly its size.
const READ_BUFFER: usize = 64 * 1024;

/// Below this much room left in the buffer, a burst ends (a PTY read rarely
/// returns more than 4 KiB).
const MIN_READ: usize = 4096;

thread_local! {
    static READ_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// What a session's program produces, in order.
#[derive(Debug)]
pub enum PtyEvent {
    /// Output bytes, in the order the program wrote them.
    Output(Bytes),
    /// The program ended. Always the last event, and sent only after the
    /// master has been read to EOF, so no output is lost.
    Exit(ExitStatus),
}

/// The PTY master.
pub(crate) type Master = Arc<AsyncFd<OwnedFd>>;

/// What a session holds of the system while it runs, shared by the
/// [`Pty`](crate::Pty), the input senders and the reading task. The reading
/// task releases the master at EOF and the control pipe once the guard is
/// reaped: an ended session keeps no descriptor.
#[derive(Debug)]
pub(crate) struct Terminal {
    master: std::sync::Mutex<Option<Master>>,
    /// The guard's control pipe; one short line per command.
    pub control: std::sync::Mutex<Option<ChildStdin>>,
}

impl Terminal {
    pub fn new(master: Master, control: ChildStdin) -> Arc<Terminal> {
        Arc::new(Terminal {
            master: std::sync::Mutex::new(Some(master)),
            control: std::sync::Mutex::new(Some(control)),
        })
    }

    /// The master, while the terminal is open.
    pub fn master(&self) -> Option<Master> {
        lock(&self.master).clone()
    }

    fn close_master(&self) {
        lock(&self.master).take();
    }

    pub fn close_control(&self) {
        lock(&self.control).take();
    }
}

pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // These short locks guard a descriptor or a size: a panic while one is
    // held leaves it consistent, so poisoning is ignored.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Clonable handle that writes input to the terminal from any task.
///
/// Input is written by the sending task itself as soon as the terminal
/// takes it (no thread, no queue in between). When the terminal's input
/// buffer is full (the program does not read), the sender waits for room
/// while holding its turn; the other senders wait for their turn in order
/// (tokio's mutex is fair), each with its own message: the queue is the set
/// of waiting senders, bounded by them, and the wait is the backpressure.
/// Each message is written whole before the next one starts.
#[derive(Clone, Debug)]
pub struct InputSender {
    terminal: Arc<Terminal>,
    turn: Arc<Mutex<()>>,
}

impl InputSender {
    pub(crate) fn new(terminal: Arc<Terminal>) -> InputSender {
        InputSender {
            terminal,
            turn: Arc::new(Mutex::new(())),
        }
    }

    /// Writes `data` whole, after the messages sent before it; waits while
    /// the terminal does not take it (the program is not reading), which is
    /// the backpressure. Cancelling the future mid-way may leave a message
    /// written in part.
    pub async fn send(&self, data: Bytes) -> Result<(), PtyError> {
        let _turn = self.turn.lock().await;
        let master = self.terminal.master().ok_or(PtyError::InputClosed)?;
        write_all(&master, &data).await
    }

    /// Writes `data` only if no other message is waiting: `false` when one
    /// is (the program is not reading) or the terminal is gone. What the
    /// terminal does not take at once is finished by a task of its own,
    /// ahead of later messages. For senders that must never wait on the
    /// program, such as the screen's replies to terminal queries.
    pub fn try_send(&self, data: Bytes) -> bool {
        let Ok(turn) = self.turn.clone().try_lock_owned() else {
            return false;
        };
        let Some(master) = self.terminal.master() else {
            return false;
        };
        let written = match write_now(&master, &data) {
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => 0,
            Err(_) => return false,
        };
        if written == data.len() {
            return true;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return false;
        };
        let rest = data.slice(written..);
        runtime.spawn(async move {
            let _turn = turn;
            if let Err(e) = write_all(&master, &rest).await {
                tracing::debug!("the rest of a reply was not written: {e}");
            }
        });
        true
    }
}

/// One non-blocking `write` of the master.
fn write_now(master: &AsyncFd<OwnedFd>, data: &[u8]) -> std::io::Result<usize> {
    loop {
        match rustix::io::write(master.get_ref(), data) {
            Ok(n) => return Ok(n),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

async fn write_all(master: &AsyncFd<OwnedFd>, mut data: &[u8]) -> Result<(), PtyError> {
    while !data.is_empty() {
        // Straight away first: a keystroke needs no trip through the
        // reactor when the terminal has room, which it nearly always has.
        let n = match write_now(master, data) {
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => loop {
                let mut ready = master.writable().await.map_err(closed)?;
                match ready.try_io(|fd| write_now(fd, data)) {
                    Ok(result) => break result.map_err(closed)?,
                    Err(_would_block) => continue,
                }
            },
            Err(e) => return Err(closed(e)),
        };
        data = &data[n..];
    }
    Ok(())
}

/// EIO once every process of the session closed the terminal: input has
/// nowhere to go any more.
fn closed(e: std::io::Error) -> PtyError {
    tracing::debug!("pty input stops: {e}");
    PtyError::InputClosed
}

/// Where a session's output goes, awaited on the session's reading task.
///
/// Waiting in [`output`](OutputSink::output) stops the reading, and so the
/// program once the terminal's buffer is full: that is the backpressure.
pub trait OutputSink: Send + 'static {
    /// The next chunk of output, in order. Returns `false` when nobody
    /// listens any more: the reading then drains and discards until EOF, so
    /// the program never blocks on a full terminal.
    fn output(&mut self, chunk: Bytes) -> impl Future<Output = bool> + Send;
    /// The program ended; called once, after the master reached EOF (every
    /// byte went to `output` before).
    fn exit(&mut self, status: ExitStatus) -> impl Future<Output = ()> + Send;
}

/// An [`OutputSink`] that forwards to a bounded channel of [`PtyEvent`]s.
pub struct ChannelSink {
    tx: mpsc::Sender<PtyEvent>,
}

impl ChannelSink {
    /// A sink and the receiving end; `capacity` events are queued before the
    /// reading waits.
    pub fn new(capacity: usize) -> (ChannelSink, mpsc::Receiver<PtyEvent>) {
        let (tx, rx) = mpsc::channel(capacity);
        (ChannelSink { tx }, rx)
    }
}

impl OutputSink for ChannelSink {
    async fn output(&mut self, chunk: Bytes) -> bool {
        self.tx.send(PtyEvent::Output(chunk)).await.is_ok()
    }

    async fn exit(&mut self, status: ExitStatus) {
        if self.tx.send(PtyEvent::Exit(status)).await.is_err() {
            tracing::debug!("nobody listens for the exit");
        }
    }
}

/// The guard's status pipe after the `started` line: what was already
/// buffered, then the pipe itself.
pub(crate) struct StatusPipe {
    pub buffered: Vec<u8>,
    pub pipe: OwnedFd,
}

pub(crate) struct ReaderParts<S> {
    pub terminal: Arc<Terminal>,
    pub master: Master,
    pub status: StatusPipe,
    pub guard: Child,
    pub sink: S,
}

/// The session's reading task: output until EOF, then the exit, then the
/// guard reaped.
pub(crate) async fn read_loop<S: OutputSink>(parts: ReaderParts<S>) {
    let ReaderParts {
        terminal,
        master,
        status,
        guard,
        mut sink,
    } = parts;
    // Once nobody listens, the reading goes on draining the master so
    // that the program never blocks on a full terminal, and discards.
    let mut listening = true;
    while let Some(chunk) = read_chunk(&master).await {
        if listening {
            listening = sink.output(chunk).await;
        }
    }
    terminal.close_master();
    drop(master);
    let mut status = match pipe::Receiver::from_owned_fd(status.pipe) {
        Ok(pipe) => Some(std::io::Cursor::new(status.buffered).chain(BufReader::new(pipe))),
        Err(e) => {
            tracing::warn!("the guard's status pipe: {e}");
            None
        }
    };
    let exit = match status.as_mut() {
        Some(status) => read_exit(status).await,
        None => ExitStatus::Lost,
    };
    if listening {
        sink.exit(exit).await;
    }
    drop(sink);
    // Wait for the guard's `done` (every descendant reaped), then reap it:
    // it exits right after, so the blocking wait is short.
    if let Some(status) = status.as_mut() {
        let mut line = String::new();
        while status.read_line(&mut line).await.is_ok_and(|n| n > 0) {
            line.clear();
        }
    }
    terminal.close_control();
    reap_guard(guard);
}

/// Reaps the guard, then tells the server's sweep that its pid is no
/// longer a guard's (see [`crate::reaper`]).
fn reap_guard(mut guard: Child) {
    match guard.try_wait() {
        Ok(Some(_)) => crate::reaper::guard_reaped(guard.id()),
        Ok(None) => {
            tokio::task::spawn_blocking(move || {
                if let Err(e) = guard.wait() {
                    tracing::warn!("reaping the guard failed: {e}");
                }
                crate::reaper::guard_reaped(guard.id());
            });
        }
        Err(e) => tracing::warn!("reaping the guard failed: {e}"),
    }
}

/// The next burst of output, `None` at EOF.
async fn read_chunk(master: &AsyncFd<OwnedFd>) -> Option<Bytes> {
    loop {
        let Ok(mut ready) = master.readable().await else {
            return None;
        };
        match ready.try_io(read_burst) {
            Ok(Ok(chunk)) => return chunk,
            Ok(Err(_)) => return None,
            Err(_would_block) => continue,
        }
    }
}

/// Reads while the terminal has output at once and the buffer has room: a
/// flood goes on in large chunks (fewer wake-ups downstream), a keystroke's
/// echo at once. `WouldBlock` when there was nothing (the readiness was
/// stale); `Ok(None)` at EOF, which is EIO on Linux once every slave
/// descriptor is closed.
fn read_burst(master: &AsyncFd<OwnedFd>) -> std::io::Result<Option<Bytes>> {
    READ_BUF.with_borrow_mut(|buf| {
        if buf.len() < READ_BUFFER {
            buf.resize(READ_BUFFER, 0);
        }
        let mut filled = 0;
        let mut eof = false;
        while buf.len() - filled >= MIN_READ {
            match rustix::io::read(master.get_ref(), &mut buf[filled..]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(rustix::io::Errno::INTR) => continue,
                Err(rustix::io::Errno::AGAIN) if filled == 0 => {
                    return Err(ErrorKind::WouldBlock.into());
                }
                Err(rustix::io::Errno::AGAIN) => break,
                Err(rustix::io::Errno::IO) => {
                    eof = true;
                    break;
                }
                Err(e) => {
                    tracing::warn!("reading the terminal failed: {e}");
                    eof = true;
                    break;
                }
            }
        }
        Ok(if filled > 0 {
            // What came before the EOF; the next burst finds the EOF again.
            Some(Bytes::copy_from_slice(&buf[..filled]))
        } else {
            debug_assert!(eof);
            None
        })
    })
}

/// Reads status lines until the program's exit; `Lost` when the guard went
/// away without saying.
async fn read_exit<R: tokio::io::AsyncBufRead + Unpin>(status: &mut R) -> ExitStatus {
    let mut line = String::new();
    loop {
        line.clear();
        match status.read_line(&mut line).await {
            Ok(0) | Err(_) => return ExitStatus::Lost,
            Ok(_) => {
                if let Some(exit) = parse_exit(line.trim_end()) {
                    return exit;
                }
            }
        }
    }
}

fn parse_exit(line: &str) -> Option<ExitStatus> {
    let mut words = line.split(' ');
    if words.next()? != "exit" {
        return None;
    }
    let kind = words.next()?;
    let n: i32 = words.next()?.parse().ok()?;
    match kind {
        "code" => Some(ExitStatus::Code(n)),
        "signal" => Some(ExitStatus::Signal(n)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_lines() {
        assert_eq!(parse_exit("exit code 3"), Some(ExitStatus::Code(3)));
        assert_eq!(parse_exit("exit signal 9"), Some(ExitStatus::Signal(9)));
        assert_eq!(parse_exit("started 1 2"), None);
        assert_eq!(parse_exit("exit code x"), None);
    }
}
