//! The output path: the reading task's sink (ring, backpressure, lag) and
//! the state it shares with the screen that follows it in batches on the
//! blocking pool ([`screen_job`]).
//!
//! No thread belongs to a session: the screen's work is a job on tokio's
//! blocking pool, started when output arrives and ended once the screen has
//! caught up, so an idle session costs no thread. A few bytes (an echo, a
//! prompt) with no job running are fed to the screen by the reading task
//! itself (see [`HERE_BYTES`]): no thread is woken for a keystroke.
//!
//! Lock order: `screen` before `out`, never the other way round.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ptyhub_pty::{ExitStatus, OutputSink, WindowSize};
use tokio::sync::{Notify, watch};

use crate::replies::ReplyFilter;
use crate::ring::Ring;
use crate::screen::Screen;

mod screen_job;

use screen_job::GATHER_BYTES;

/// Where the screen catches up with output just stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CatchUp {
    /// Its job is running already and will see it.
    Running,
    /// At most [`HERE_BYTES`] (an echo, a prompt) with no job running: the
    /// reading task feeds them to the screen itself, before waking the
    /// clients.
    Here,
    /// More: a job on the blocking pool (see [`screen_job`]).
    Job,
}

/// The most unparsed output the reading task parses itself. Handing a
/// keystroke's echo to the blocking pool woke a thread per keystroke and
/// cost the server 8–20 µs more CPU and ~1.6 more thread wake-ups per
/// keystroke than parsing it here, and the echo came back no sooner
/// (BENCHMARKS.md, "Echo against a minimal relay"). Larger output (a
/// redraw, a flood) goes to the job, off the path to the clients.
const HERE_BYTES: u64 = 128;

/// Identifies one attached client within its session.
pub(crate) type ClientId = u64;

/// Where one client stands in the output.
#[derive(Debug)]
pub(crate) struct Cursor {
    /// Next offset to hand this client; `None` once it was lagged.
    pub at: Option<u64>,
    /// The offset it stood at when it was lagged.
    pub lagged_at: u64,
}

/// The most bytes handed out in one event (a WebSocket frame).
const MAX_CHUNK: usize = 64 << 10;

/// The most output a client takes from the ring under one lock of the
/// session's output state: the reader's chunks are a few KiB each, and 100
/// clients taking them one lock at a time contended with each other and
/// with the reader. Taken bytes no longer count against the client's queue
/// (`client_queue_bytes`): this is the most a client may hold beyond it.
const TAKE_BYTES: u64 = 256 << 10;

/// What a client finds at its cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Taken {
    /// Output, taken into the client's queue.
    Output,
    /// It was lagged at this offset: it needs a fresh snapshot.
    Lagged { at: u64 },
    /// Nothing more: the program ended and every byte was taken.
    Ended,
}

/// Output state shared by the reading task, the screen's job and clients.
pub(crate) struct OutState {
    pub ring: Ring,
    /// Offset up to which the screen has processed (a copy of
    /// `Screen::offset`, written under the screen lock).
    pub screen_offset: u64,
    /// Size changes not yet applied by the screen: (offset, size). At most
    /// [`MAX_PENDING_RESIZES`]: further ones replace the newest.
    pub pending_resizes: VecDeque<(u64, WindowSize)>,
    pub clients: HashMap<ClientId, Cursor>,
    /// Set once the master reached EOF: the program's exit.
    pub exit: Option<ExitStatus>,
    /// The reading task waits on `Output::progress` for clients or the screen.
    pub reader_waiting: bool,
    /// Whether the screen's job is running (or about to).
    pub screen_running: bool,
    /// The screen's job waits on `Output::screen_wake` for a larger batch.
    pub screen_gathering: bool,
    /// Live bytes dropped for lagged clients, and lag events (for metrics).
    pub lag_events: u64,
}

impl OutState {
    pub fn live(&self) -> u64 {
        self.ring.end()
    }
}

/// The shared output: state plus the wake-ups around it.
pub(crate) struct Output {
    pub state: Mutex<OutState>,
    /// The reading task waits here while a client or the screen is too far
    /// behind.
    pub progress: Notify,
    /// The screen's job waits here, briefly, for a flood to gather.
    pub screen_wake: Condvar,
    /// The live offset, for clients waiting on new output.
    pub live: watch::Sender<u64>,
    /// The screen's offset, for `/wait` and anyone following the screen.
    pub screen_progress: watch::Sender<u64>,
    pub screen: Mutex<Screen>,
    /// The current title, published when the program changes it.
    pub title: watch::Sender<String>,
    pub scrollback_bytes: usize,
    pub client_queue_bytes: usize,
    pub stall_timeout: Duration,
    /// When the session's output began (the clock of `last_output_ms`).
    pub started: Instant,
    /// Milliseconds since `started` of the last output (for idle tracking).
    pub last_output_ms: std::sync::atomic::AtomicU64,
    /// Terminal notifications are scanned for in each batch the screen's
    /// job parses (see [`crate::agent`]); set once when the session starts.
    pub(crate) agent_feed: std::sync::OnceLock<crate::agent::ScanFeed>,
    /// The session's reply filter: the screen's job sends its answers to
    /// terminal queries through it.
    replies: Arc<ReplyFilter>,
}

/// Resizes waiting for the screen, at most (a client resizing in a loop
/// while the screen is starved must not grow memory).
const MAX_PENDING_RESIZES: usize = 16;

/// How far the screen may fall behind before the reader waits for it. The
/// parser is faster than a PTY, so this only bites on a starved machine.
const SCREEN_MAX_LAG: usize = 4 << 20;

/// What the reading task's wait for room found.
enum Room {
    /// Stored: live offset now, and whether and where the screen catches up.
    Stored(u64, CatchUp),
    /// Wait (at most this long) for clients or the screen, then look again.
    Wait(Duration),
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section here leaves the data consistent before it can
    // panic, so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Output {
    pub fn new(
        size: WindowSize,
        config: &crate::CoreConfig,
        replies: Arc<ReplyFilter>,
    ) -> Arc<Output> {
        Arc::new(Output {
            state: Mutex::new(OutState {
                ring: Ring::default(),
                screen_offset: 0,
                pending_resizes: VecDeque::new(),
                clients: HashMap::new(),
                exit: None,
                reader_waiting: false,
                screen_running: false,
                screen_gathering: false,
                lag_events: 0,
            }),
            progress: Notify::new(),
            screen_wake: Condvar::new(),
            live: watch::Sender::new(0),
            screen_progress: watch::Sender::new(0),
            screen: Mutex::new(Screen::new(size)),
            title: watch::Sender::new(String::new()),
            scrollback_bytes: config.scrollback_bytes,
            client_queue_bytes: config.client_queue_bytes,
            stall_timeout: config.stall_timeout,
            started: Instant::now(),
            last_output_ms: std::sync::atomic::AtomicU64::new(0),
            agent_feed: std::sync::OnceLock::new(),
            replies,
        })
    }

    /// Appends one chunk: waits while a client's queue would overflow (at
    /// most `stall_timeout`, then that client is lagged) or the screen is too
    /// far behind, then stores it and wakes clients and the screen.
    async fn append(self: &Arc<Self>, bytes: Bytes) {
        let deadline = Instant::now() + self.stall_timeout;
        let (live, catch_up) = loop {
            // Registered before looking, so that no wake-up in between is
            // missed.
            let progressed = self.progress.notified();
            let mut progressed = std::pin::pin!(progressed);
            progressed.as_mut().enable();
            match self.try_store(&bytes, deadline) {
                Room::Stored(live, catch_up) => break (live, catch_up),
                Room::Wait(wait) => {
                    let _ = tokio::time::timeout(wait, progressed).await;
                }
            }
        };
        self.last_output_ms.store(
            self.started.elapsed().as_millis() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        // A few bytes are parsed here, before the clients are woken (see
        // `HERE_BYTES`).
        let start_job = match catch_up {
            CatchUp::Running => false,
            CatchUp::Here => !self.catch_up_now(),
            CatchUp::Job => true,
        };
        // Clients next: they are what a keystroke's echo waits for; the
        // screen's job after them.
        self.live.send_replace(live);
        if start_job {
            self.start_screen();
        }
    }

    /// Stores `bytes` if every client and the screen have room for them.
    fn try_store(&self, bytes: &Bytes, deadline: Instant) -> Room {
        let n = bytes.len() as u64;
        let mut st = lock(&self.state);
        loop {
            let live = st.live();
            let queue = self.client_queue_bytes as u64;
            let screen_behind = live - st.screen_offset + n > SCREEN_MAX_LAG as u64;
            let full = st
                .clients
                .values()
                .any(|c| c.at.is_some_and(|at| live - at + n > queue));
            if !screen_behind && !full {
                break;
            }
            let now = Instant::now();
            if full && now >= deadline {
                // The stall is over: every client still too far behind is
                // lagged, its pending bytes dropped.
                let mut lagged = 0;
                for c in st.clients.values_mut() {
                    if let Some(at) = c.at
                        && live - at + n > queue
                    {
                        c.lagged_at = at;
                        c.at = None;
                        lagged += 1;
                    }
                }
                st.lag_events += lagged;
                continue;
            }
            st.reader_waiting = true;
            return Room::Wait(if full {
                deadline - now
            } else {
                Duration::from_millis(100)
            });
        }
        st.reader_waiting = false;
        st.ring.push(bytes.clone());
        self.evict(&mut st);
        let live = st.live();
        let catch_up = if std::mem::replace(&mut st.screen_running, true) {
            CatchUp::Running
        } else if live - st.screen_offset <= HERE_BYTES {
            CatchUp::Here
        } else {
            CatchUp::Job
        };
        if st.screen_gathering && live - st.screen_offset >= GATHER_BYTES {
            self.screen_wake.notify_one();
        }
        Room::Stored(live, catch_up)
    }

    /// Drops what is beyond the scrollback and wanted by no client and not
    /// by the screen.
    fn evict(&self, st: &mut OutState) {
        let keep_from = st
            .clients
            .values()
            .filter_map(|c| c.at)
            .fold(st.screen_offset, u64::min);
        st.ring.evict(self.scrollback_bytes, keep_from);
    }

    /// Records a size change at the current live offset, for the screen.
    /// Bounded: a resize at the same offset as the newest pending one, or
    /// beyond [`MAX_PENDING_RESIZES`], replaces it.
    pub fn resized(self: &Arc<Self>, size: WindowSize) {
        let mut st = lock(&self.state);
        let live = st.live();
        let full = st.pending_resizes.len() >= MAX_PENDING_RESIZES;
        match st.pending_resizes.back_mut() {
            Some(last) if last.0 == live || full => *last = (last.0, size),
            _ => st.pending_resizes.push_back((live, size)),
        }
        drop(st);
        self.wake_screen();
    }
}

/// The sink the PTY layer's reading task feeds.
pub(crate) struct SessionSink {
    pub output: Arc<Output>,
    /// Told once the exit is recorded (after every output byte).
    pub on_exit: Option<Box<dyn FnOnce(ExitStatus) + Send>>,
}

/// The clients' side: each reads the ring at its own cursor.
impl Output {
    /// Bytes out that a client has not taken yet.
    pub fn pending(&self, client: ClientId) -> u64 {
        let st = lock(&self.state);
        let at = st.clients.get(&client).and_then(|c| c.at);
        at.map_or(0, |at| st.live() - at)
    }

    /// Takes up to [`TAKE_BYTES`] at a client's cursor into `into`, in
    /// chunks of at most [`MAX_CHUNK`], and moves the cursor past them;
    /// `None` when there is nothing yet (or the client is not attached).
    pub fn take(&self, client: ClientId, into: &mut VecDeque<Bytes>) -> Option<Taken> {
        let mut st = lock(&self.state);
        let cursor = st.clients.get(&client)?;
        let Some(at) = cursor.at else {
            return Some(Taken::Lagged {
                at: cursor.lagged_at,
            });
        };
        if at < st.live() {
            let end = st.live().min(at + TAKE_BYTES);
            let mut next = at;
            while next < end {
                match st.ring.read(next, MAX_CHUNK) {
                    Some(chunk) if !chunk.is_empty() => {
                        next += chunk.len() as u64;
                        into.push_back(chunk);
                    }
                    _ => break,
                }
            }
            if let Some(c) = st.clients.get_mut(&client) {
                c.at = Some(next);
            }
            if st.reader_waiting {
                self.progress.notify_waiters();
            }
            return Some(Taken::Output);
        }
        st.exit.is_some().then_some(Taken::Ended)
    }
}

impl OutputSink for SessionSink {
    async fn output(&mut self, chunk: Bytes) -> bool {
        self.output.append(chunk).await;
        true
    }

    async fn exit(&mut self, status: ExitStatus) {
        // The session records how it ended before any client can see the end.
        if let Some(on_exit) = self.on_exit.take() {
            on_exit(status);
        }
        let mut st = lock(&self.output.state);
        st.exit = Some(status);
        let live = st.live();
        drop(st);
        self.output.wake_screen();
        // Wake clients so that they see the exit after their last bytes.
        self.output.live.send_replace(live);
    }
}
