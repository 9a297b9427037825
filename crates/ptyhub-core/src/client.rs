//! [`Client`]: one attached viewer of a session. It reads the shared ring
//! at its own cursor (so fan-out to many clients copies nothing), gets
//! size, title and exit events, and may write, resize and signal unless it
//! is read-only.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ptyhub_protocol::api::ExitInfo;
use ptyhub_pty::{Signal, WindowSize};
use tokio::sync::watch;

use crate::CoreError;
use crate::output::{ClientId, Taken};
use crate::session::Session;

/// How a client attaches.
#[derive(Clone, Copy, Debug, Default)]
pub struct AttachOptions {
    /// Gets output but may not write, resize or signal.
    pub readonly: bool,
    /// The client's terminal size (applied by the resize policy).
    pub size: Option<WindowSize>,
    /// Resume from this output offset when it is still kept.
    pub since: Option<u64>,
    /// Start with a snapshot of the screen (else the live stream only).
    pub snapshot: bool,
}

/// Where an attached client's stream starts.
#[derive(Clone, Debug)]
pub struct AttachStart {
    /// The offset of the first live byte after the snapshot.
    pub offset: u64,
    /// True when `since` was honoured (no snapshot).
    pub resumed: bool,
    /// Bytes that rebuild the screen as of `offset` (empty when resumed or
    /// asked without a snapshot).
    pub snapshot: Vec<u8>,
}

/// What a client receives, in order.
#[derive(Clone, Debug)]
pub enum ClientEvent {
    /// Output bytes, continuing exactly where the previous ones ended.
    Output(Bytes),
    /// This client fell behind and its pending output was dropped: a fresh
    /// snapshot follows, then live output from `offset`.
    Lagged {
        /// Live bytes this client never received.
        dropped_bytes: u64,
        /// Where the live stream resumes.
        offset: u64,
        /// Bytes that rebuild the screen as of `offset`.
        snapshot: Vec<u8>,
    },
    /// The terminal's size changed.
    Resize(WindowSize),
    /// The program set its window title.
    Title(String),
    /// The program ended; nothing follows. Comes after every output byte.
    Exit(ExitInfo),
}

/// A client woken to at least `GATHER_FROM` new bytes (output is flooding,
/// not a keystroke's echo or a prompt) waits before taking them: it then
/// drains many of the reader's chunks (a few KiB each) per wake-up instead
/// of one, which is most of a flood's CPU per client. The wait starts at
/// `GATHER_MIN` and doubles up to `GATHER_MAX` while the flood goes on (the
/// next wake-up comes within twice the last wait), so a burst of output is
/// held back 1 ms and only sustained output longer. At the PTY's rate here
/// (35–60 MB/s) 4 ms is 240 KB at most, far below a client queue (1 MiB).
const GATHER_FROM: u64 = 2 << 10;
const GATHER_MIN: Duration = Duration::from_millis(1);
const GATHER_MAX: Duration = Duration::from_millis(4);

/// One attached client. Dropping it detaches.
pub struct Client {
    session: Arc<Session>,
    id: ClientId,
    readonly: bool,
    /// Counted in the session's `clients` (not an observer such as the
    /// recorder).
    counted: bool,
    paused: bool,
    live: watch::Receiver<u64>,
    size: watch::Receiver<WindowSize>,
    title: watch::Receiver<String>,
    exit_sent: bool,
    /// Output taken from the ring in one go and not handed out yet (see
    /// `TAKE_BYTES` in the output module).
    taken: VecDeque<Bytes>,
    /// The last wait for a flood to gather, and when it ended.
    gather: Duration,
    gathered_at: Instant,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("session", &self.session.id())
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub(crate) fn new(
        session: Arc<Session>,
        id: ClientId,
        readonly: bool,
        counted: bool,
    ) -> Client {
        let mut size = session.subscribe_size();
        size.mark_unchanged();
        let mut title = session.subscribe_title();
        title.mark_unchanged();
        Client {
            live: session.subscribe_output(),
            session,
            id,
            readonly,
            counted,
            paused: false,
            size,
            title,
            exit_sent: false,
            gather: GATHER_MIN,
            gathered_at: Instant::now(),
            taken: VecDeque::new(),
        }
    }

    /// The session.
    pub fn session(&self) -> &Arc<Session> {
        &self.session
    }

    /// Whether this client may only watch.
    pub fn readonly(&self) -> bool {
        self.readonly
    }

    /// Holds (`true`) or releases this client's output. A paused client's
    /// output waits under the same queue and stall rules as any other.
    pub fn set_paused(&mut self, paused: bool) {
        self.paused = paused;
    }

    /// The next event; `None` after the exit was delivered.
    pub async fn next(&mut self) -> Option<ClientEvent> {
        loop {
            if self.exit_sent {
                return None;
            }
            if self.size.has_changed().unwrap_or(false) {
                return Some(ClientEvent::Resize(*self.size.borrow_and_update()));
            }
            if self.title.has_changed().unwrap_or(false) {
                return Some(ClientEvent::Title(self.title.borrow_and_update().clone()));
            }
            if let Some(event) = self.take_output() {
                return Some(event);
            }
            tokio::select! {
                changed = self.live.changed(), if !self.paused => {
                    if changed.is_err() { return None; }
                    if self.pending() >= GATHER_FROM {
                        let flooding = self.gathered_at.elapsed() < self.gather * 2;
                        self.gather = if flooding {
                            (self.gather * 2).min(GATHER_MAX)
                        } else {
                            GATHER_MIN
                        };
                        tokio::time::sleep(self.gather).await;
                        self.gathered_at = Instant::now();
                    }
                }
                // `changed` marks the value seen: report it right here.
                changed = self.size.changed() => {
                    if changed.is_err() { return None; }
                    return Some(ClientEvent::Resize(*self.size.borrow_and_update()));
                }
                changed = self.title.changed() => {
                    if changed.is_err() { return None; }
                    return Some(ClientEvent::Title(self.title.borrow_and_update().clone()));
                }
                // While paused, only size and title events flow.
                () = std::future::pending::<()>(), if self.paused => {}
            }
        }
    }

    /// Bytes out that this client has not taken yet.
    fn pending(&self) -> u64 {
        self.session.output.pending(self.id)
    }

    /// Output at this client's cursor, a lag notice, or the exit.
    fn take_output(&mut self) -> Option<ClientEvent> {
        if self.paused {
            return None;
        }
        if let Some(chunk) = self.taken.pop_front() {
            return Some(ClientEvent::Output(chunk));
        }
        // Before the live offset is read: output that comes after it wakes
        // this client again.
        self.live.mark_unchanged();
        match self.session.output.take(self.id, &mut self.taken)? {
            Taken::Output => self.taken.pop_front().map(ClientEvent::Output),
            Taken::Lagged { at } => Some(self.resync(at)),
            Taken::Ended => {
                let exit = self.session.exit()?;
                self.exit_sent = true;
                Some(ClientEvent::Exit(exit))
            }
        }
    }

    /// After a lag: a fresh snapshot and the live stream from its offset.
    fn resync(&mut self, lagged_at: u64) -> ClientEvent {
        let id = self.id;
        let (mut snapshot, offset, ()) = self.session.output.snapshot_then(|st, at| {
            if let Some(c) = st.clients.get_mut(&id) {
                c.at = Some(at);
                c.lagged_at = at;
            }
        });
        // The client's terminal may be on the alternate screen with stale
        // modes: leave it first, the snapshot sets what is current.
        let mut reset = b"\x1b[?1049l".to_vec();
        reset.append(&mut snapshot);
        ClientEvent::Lagged {
            dropped_bytes: offset.saturating_sub(lagged_at),
            offset,
            snapshot: reset,
        }
    }

    /// Writes input to the program (whole, in order, with backpressure).
    pub async fn input(&self, data: Bytes) -> Result<(), CoreError> {
        if self.readonly {
            return Err(CoreError::ReadOnly);
        }
        self.session.write_input(data).await
    }

    /// This client's terminal size changed; the resize policy decides.
    pub fn resize(&self, size: WindowSize) -> Result<(), CoreError> {
        if self.readonly {
            return Err(CoreError::ReadOnly);
        }
        WindowSize::new(size.cols.into(), size.rows.into())
            .map_err(|e| CoreError::Invalid(e.to_string()))?;
        self.session.client_size(self.id, Some(size), true)
    }

    /// Sends a signal to the terminal's foreground process group.
    pub fn signal(&self, sig: Signal) -> Result<(), CoreError> {
        if self.readonly {
            return Err(CoreError::ReadOnly);
        }
        self.session.signal(sig)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.session.detach(self.id, self.counted);
    }
}
