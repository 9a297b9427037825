//! The two threads of a session: the reader (large reads of the master,
//! handed on in chunks, then the exit once the master is at EOF) and the
//! writer (input written completely, in order, with backpressure).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdout};

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::signal::ExitStatus;

/// Size of one read of the master. A PTY master rarely returns more than a
/// few KiB per read, but a large buffer costs nothing and takes what is there.
const READ_BUFFER: usize = 64 * 1024;

/// Stack of the reader and writer threads: they hold one buffer each on the
/// heap and call little, so the default 2 MiB would be wasted per session.
const THREAD_STACK: usize = 256 * 1024;

/// What a session's program produces, in order.
#[derive(Debug)]
pub enum PtyEvent {
    /// Output bytes, in the order the program wrote them.
    Output(Bytes),
    /// The program ended. Always the last event, and sent only after the
    /// master has been read to EOF, so no output is lost.
    Exit(ExitStatus),
}

/// Clonable handle that writes input to the terminal from any task. Input
/// from every handle is written in the order `send` completes, each message
/// whole.
#[derive(Clone, Debug)]
pub struct InputSender {
    tx: mpsc::Sender<Bytes>,
}

impl InputSender {
    /// Queues `data` for the terminal; waits while the queue is full (the
    /// program is not reading), which is the backpressure.
    pub async fn send(&self, data: Bytes) -> Result<(), crate::PtyError> {
        self.tx
            .send(data)
            .await
            .map_err(|_| crate::PtyError::InputClosed)
    }

    /// Queues `data` only if there is room now: `false` when the queue is
    /// full (the program is not reading) or closed. For senders that must
    /// never wait on the program, such as the screen thread's replies.
    pub fn try_send(&self, data: Bytes) -> bool {
        self.tx.try_send(data).is_ok()
    }

    /// Like [`send`](Self::send), from a blocking thread.
    pub fn blocking_send(&self, data: Bytes) -> Result<(), crate::PtyError> {
        self.tx
            .blocking_send(data)
            .map_err(|_| crate::PtyError::InputClosed)
    }
}

/// Input messages queued per session before senders wait. Each message is at
/// most the server's message limit (1 MiB by default); 16 keeps a burst of
/// keystrokes or a paste flowing without holding much.
const INPUT_QUEUE: usize = 16;

pub(crate) fn start_writer(mut master: File) -> std::io::Result<InputSender> {
    let (tx, mut rx) = mpsc::channel::<Bytes>(INPUT_QUEUE);
    std::thread::Builder::new()
        .name("pty-writer".into())
        .stack_size(THREAD_STACK)
        .spawn(move || {
            while let Some(data) = rx.blocking_recv() {
                if let Err(e) = master.write_all(&data) {
                    // EIO once every process of the session closed the
                    // terminal: input has nowhere to go any more.
                    tracing::debug!("pty input writer stops: {e}");
                    break;
                }
            }
        })?;
    Ok(InputSender { tx })
}

/// Below this much room left in the buffer, a chunk is sent rather than
/// topped up (a PTY read rarely returns more than 4 KiB).
const MIN_READ: usize = 4096;

/// Whether the terminal has output ready right now. `FIONREAD` rather
/// than `poll`: the PTY's poll waits for the kernel's flush work, which
/// cost 40% of the reader's CPU under a flood.
fn ready_now(master: &File) -> bool {
    rustix::io::ioctl_fionread(master).is_ok_and(|n| n > 0)
}

/// Where a session's output goes, called on the session's reader thread.
///
/// Blocking in [`output`](OutputSink::output) stops the reader, and so the
/// program once the terminal's buffer is full: that is the backpressure.
pub trait OutputSink: Send + 'static {
    /// The next chunk of output, in order. Returns `false` when nobody
    /// listens any more: the reader then drains and discards until EOF, so
    /// the program never blocks on a full terminal.
    fn output(&mut self, chunk: &[u8]) -> bool;
    /// The program ended; called once, after the master reached EOF (every
    /// byte went to `output` before).
    fn exit(&mut self, status: ExitStatus);
}

/// An [`OutputSink`] that forwards to a bounded channel of [`PtyEvent`]s.
pub struct ChannelSink {
    tx: mpsc::Sender<PtyEvent>,
}

impl ChannelSink {
    /// A sink and the receiving end; `capacity` events are queued before the
    /// reader waits.
    pub fn new(capacity: usize) -> (ChannelSink, mpsc::Receiver<PtyEvent>) {
        let (tx, rx) = mpsc::channel(capacity);
        (ChannelSink { tx }, rx)
    }
}

impl OutputSink for ChannelSink {
    fn output(&mut self, chunk: &[u8]) -> bool {
        self.tx
            .blocking_send(PtyEvent::Output(Bytes::copy_from_slice(chunk)))
            .is_ok()
    }

    fn exit(&mut self, status: ExitStatus) {
        if self.tx.blocking_send(PtyEvent::Exit(status)).is_err() {
            tracing::debug!("nobody listens for the exit");
        }
    }
}

pub(crate) struct ReaderParts {
    pub master: File,
    pub status: BufReader<ChildStdout>,
    pub guard: Child,
    pub sink: Box<dyn OutputSink>,
}

pub(crate) fn start_reader(parts: ReaderParts) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("pty-reader".into())
        .stack_size(THREAD_STACK)
        .spawn(move || read_loop(parts))?;
    Ok(())
}

fn read_loop(parts: ReaderParts) {
    let ReaderParts {
        mut master,
        mut status,
        mut guard,
        mut sink,
    } = parts;
    let mut buf = vec![0u8; READ_BUFFER];
    // Once nobody listens, the reader keeps draining the master so that the
    // program never blocks on a full terminal, and discards.
    let mut listening = true;
    let mut eof = false;
    while !eof {
        // One blocking read, then more reads while the terminal has data
        // ready at once and the buffer has room: a flood goes on in large
        // chunks (fewer wake-ups downstream), a keystroke echo at once.
        let mut filled = 0;
        loop {
            match master.read(&mut buf[filled..]) {
                Ok(0) => eof = true,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // EIO: every slave descriptor is closed, the terminal's EOF.
                Err(e) if e.raw_os_error() == Some(libc::EIO) => eof = true,
                Err(e) => {
                    tracing::warn!("reading the terminal failed: {e}");
                    eof = true;
                }
            }
            if eof || buf.len() - filled < MIN_READ || !ready_now(&master) {
                break;
            }
        }
        if filled > 0 && listening {
            listening = sink.output(&buf[..filled]);
        }
    }
    drop(master);
    let exit = read_exit(&mut status);
    if listening {
        sink.exit(exit);
    }
    drop(sink);
    // Wait for the guard's `done` (every descendant reaped) and reap it.
    let mut line = String::new();
    while status.read_line(&mut line).is_ok_and(|n| n > 0) {
        line.clear();
    }
    if let Err(e) = guard.wait() {
        tracing::warn!("reaping the guard failed: {e}");
    }
    crate::reaper::guard_reaped(guard.id());
}

/// Reads status lines until the program's exit; `Lost` when the guard went
/// away without saying.
fn read_exit(status: &mut BufReader<ChildStdout>) -> ExitStatus {
    let mut line = String::new();
    loop {
        line.clear();
        match status.read_line(&mut line) {
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
