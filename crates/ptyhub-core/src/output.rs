//! The output path: the reading task's sink (ring, backpressure, lag), the
//! screen that follows it in batches on the blocking pool, and the shared
//! state both use.
//!
//! No thread belongs to a session: the screen's work is a job on tokio's
//! blocking pool, started when output arrives and ended once the screen has
//! caught up, so an idle session costs no thread and a keystroke's echo is
//! handed to clients before the screen is even asked to look at it.
//!
//! Lock order: `screen` before `out`, never the other way round.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ptyhub_pty::{ExitStatus, InputSender, OutputSink, WindowSize};
use tokio::sync::{Notify, watch};

use crate::replies::{self, Answered};
use crate::ring::Ring;
use crate::screen::Screen;

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
    /// When the screen last answered each kind of terminal query
    /// (written by its job, read by client input; a short lock, taken alone).
    pub answered: Mutex<Answered>,
    /// Where replies to terminal queries go: the program's input (set once
    /// the terminal exists).
    replies_to: Mutex<Option<InputSender>>,
}

/// Resizes waiting for the screen, at most (a client resizing in a loop
/// while the screen is starved must not grow memory).
const MAX_PENDING_RESIZES: usize = 16;

/// How far the screen may fall behind before the reader waits for it. The
/// parser is faster than a PTY, so this only bites on a starved machine.
const SCREEN_MAX_LAG: usize = 4 << 20;

/// The most bytes the screen takes in one batch.
const SCREEN_BATCH: usize = 256 << 10;

/// When the screen's job finds at least `GATHER_FROM` new bytes (more
/// than a keystroke's echo or a prompt: output is flooding), it waits up to
/// `GATHER_TIME` for `GATHER_BYTES` before parsing. Larger batches let the
/// screen skip most of a flood of lines (see `Screen::process`), and the
/// reading task wakes it once per batch, not once per chunk. The cost: a
/// terminal query at the end of such output is answered up to
/// `GATHER_TIME` later.
const GATHER_FROM: u64 = 2 << 10;
const GATHER_BYTES: u64 = 256 << 10;
const GATHER_TIME: Duration = Duration::from_millis(4);

/// What the reading task's wait for room found.
enum Room {
    /// Stored: live offset now, and whether the screen's job must start.
    Stored(u64, bool),
    /// Wait (at most this long) for clients or the screen, then look again.
    Wait(Duration),
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section here leaves the data consistent before it can
    // panic, so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Output {
    pub fn new(size: WindowSize, config: &crate::CoreConfig) -> Arc<Output> {
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
            answered: Mutex::new(Answered::default()),
            replies_to: Mutex::new(None),
        })
    }

    /// Where the screen's replies to terminal queries go.
    pub fn set_replies_to(&self, input: InputSender) {
        *lock(&self.replies_to) = Some(input);
    }

    /// Appends one chunk: waits while a client's queue would overflow (at
    /// most `stall_timeout`, then that client is lagged) or the screen is too
    /// far behind, then stores it and wakes clients and the screen.
    async fn append(self: &Arc<Self>, bytes: Bytes) {
        let deadline = Instant::now() + self.stall_timeout;
        let (live, start_screen) = loop {
            // Registered before looking, so that no wake-up in between is
            // missed.
            let progressed = self.progress.notified();
            let mut progressed = std::pin::pin!(progressed);
            progressed.as_mut().enable();
            match self.try_store(&bytes, deadline) {
                Room::Stored(live, start) => break (live, start),
                Room::Wait(wait) => {
                    let _ = tokio::time::timeout(wait, progressed).await;
                }
            }
        };
        self.last_output_ms.store(
            self.started.elapsed().as_millis() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        // Clients first: they are what a keystroke's echo waits for.
        self.live.send_replace(live);
        if start_screen {
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
        let start_screen = !std::mem::replace(&mut st.screen_running, true);
        if st.screen_gathering && live - st.screen_offset >= GATHER_BYTES {
            self.screen_wake.notify_one();
        }
        Room::Stored(live, start_screen)
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

    /// Starts the screen's job on the blocking pool (the caller set
    /// `screen_running`).
    fn start_screen(self: &Arc<Self>) {
        let output = self.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn_blocking(move || output.run_screen());
            }
            // Outside the runtime (a client dropped by a plain thread): the
            // caller's thread catches the screen up itself.
            Err(_) => output.run_screen(),
        }
    }

    /// Makes sure the screen's job runs (a resize or the exit to apply).
    fn wake_screen(self: &Arc<Self>) {
        let start = !std::mem::replace(&mut lock(&self.state).screen_running, true);
        if start {
            self.start_screen();
        } else {
            self.screen_wake.notify_one();
        }
    }

    /// The screen's job: follows the ring in batches until it has caught up
    /// with the output and the resizes, then ends (`screen_running` false).
    fn run_screen(self: Arc<Self>) {
        // The batch as one slice (see `step`), kept for its capacity.
        let mut joined = Vec::new();
        loop {
            {
                let mut st = lock(&self.state);
                if st.screen_offset == st.live() && st.pending_resizes.is_empty() {
                    st.screen_running = false;
                    return;
                }
                // A flood: let a larger batch gather (see `GATHER_BYTES`).
                let pending = st.live() - st.screen_offset;
                if (GATHER_FROM..GATHER_BYTES).contains(&pending) && st.exit.is_none() {
                    st.screen_gathering = true;
                    let deadline = Instant::now() + GATHER_TIME;
                    while st.live() - st.screen_offset < GATHER_BYTES
                        && st.exit.is_none()
                        && st.pending_resizes.is_empty()
                    {
                        let now = Instant::now();
                        if now >= deadline {
                            break;
                        }
                        st = self
                            .screen_wake
                            .wait_timeout(st, deadline - now)
                            .unwrap_or_else(|e| e.into_inner())
                            .0;
                    }
                    st.screen_gathering = false;
                }
            }
            let mut screen = lock(&self.screen);
            let (_, title) = self.step(&mut screen, u64::MAX, &mut joined);
            let offset = screen.offset;
            drop(screen);
            self.published(offset, title);
        }
    }

    /// Feeds the screen one batch from its offset on (not past `until`), or
    /// applies the resize due there: whether it did anything, and the new
    /// title if it changed. The caller holds the screen's lock (lock order:
    /// screen, then state). A batch of several chunks is copied into
    /// `joined` and fed as one slice: the screen skips most of a long run of
    /// plain lines, which the reader's chunks (a few KiB each) are too short
    /// for.
    fn step(
        &self,
        screen: &mut Screen,
        until: u64,
        joined: &mut Vec<u8>,
    ) -> (bool, Option<String>) {
        let mut batch: Vec<Bytes> = Vec::new();
        let mut resize = None;
        let from = screen.offset;
        {
            let mut st = lock(&self.state);
            // A resize takes effect at the offset where it happened.
            let mut end = st
                .live()
                .min(from + SCREEN_BATCH as u64)
                .min(until.max(from));
            if let Some(&(at, size)) = st.pending_resizes.front() {
                if at <= from {
                    resize = Some(size);
                    st.pending_resizes.pop_front();
                    end = from;
                } else {
                    end = end.min(at);
                }
            }
            let mut at = from;
            while at < end {
                match st.ring.read(at, (end - at) as usize) {
                    Some(piece) if !piece.is_empty() => {
                        at += piece.len() as u64;
                        batch.push(piece);
                    }
                    _ => break,
                }
            }
        }
        if let Some(size) = resize {
            screen.resize(size);
        }
        if let Some(feed) = self.agent_feed.get() {
            batch.iter().for_each(|piece| feed.feed(piece));
        }
        let n = match batch.as_slice() {
            [] => 0,
            [piece] => {
                screen.process(piece);
                piece.len()
            }
            pieces => {
                joined.clear();
                // Exact: the buffer stays at most one batch (`SCREEN_BATCH`).
                joined.reserve_exact(pieces.iter().map(|p| p.len()).sum());
                for piece in pieces {
                    joined.extend_from_slice(piece);
                }
                screen.process(joined);
                joined.len()
            }
        } as u64;
        screen.offset = from + n;
        let title_changed = screen.take_title_changed();
        let mut st = lock(&self.state);
        st.screen_offset = screen.offset;
        // What the screen has parsed is kept only within the scrollback.
        self.evict(&mut st);
        if st.reader_waiting {
            self.progress.notify_waiters();
        }
        drop(st);
        self.answer(screen);
        (
            n > 0 || resize.is_some(),
            title_changed.then(|| screen.title().to_owned()),
        )
    }

    /// Writes the replies to the terminal queries the screen has just seen
    /// to the program, and notes what was answered (to drop the clients'
    /// own replies, see [`crate::replies`]).
    fn answer(&self, screen: &mut Screen) {
        let (replies, asked) = screen.take_replies();
        if !asked.is_empty() {
            let now = Instant::now();
            let mut answered = lock(&self.answered);
            for kind in asked {
                answered.mark(kind, now);
            }
        }
        // Never wait on the program here: its output would stall behind its
        // own input. A program that does not read its input while asking
        // questions loses the answers (logged).
        if !replies.is_empty() {
            let sent = lock(&self.replies_to)
                .as_ref()
                .is_some_and(|input| input.try_send(Bytes::from(replies)));
            if !sent {
                tracing::debug!(
                    "terminal query replies dropped: the input queue is full or closed"
                );
            }
        }
    }

    /// Tells followers of the screen where it stands now.
    fn published(&self, offset: u64, title: Option<String>) {
        self.screen_progress.send_replace(offset);
        if let Some(title) = title {
            self.title.send_replace(title);
        }
    }

    /// Client input without the replies to queries the server answered
    /// (see [`crate::replies`]). Input holding a reply first waits (briefly)
    /// until the screen has processed every byte already sent, so that the
    /// query this reply answers has been seen and answered.
    pub async fn client_input(&self, data: Bytes) -> Bytes {
        if !replies::has_reply(&data) {
            return data;
        }
        let live = lock(&self.state).live();
        let mut screen = self.screen_progress.subscribe();
        // A screen thread that is this far behind is starved; the reply then
        // goes through (at worst the program gets a second answer).
        let caught_up = screen.wait_for(|&at| at >= live);
        if tokio::time::timeout(Duration::from_millis(500), caught_up)
            .await
            .is_err()
        {
            tracing::debug!("screen behind while filtering client replies");
        }
        let filtered = replies::filter_client_replies(&data, &lock(&self.answered), Instant::now());
        filtered.map_or(data, Bytes::from)
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

    /// The current screen's snapshot and the offset it stands at, with `f`
    /// run under the output lock at that moment (to register a client at
    /// exactly that offset: the ring cannot drop it meanwhile).
    pub fn snapshot_then<R>(&self, f: impl FnOnce(&mut OutState, u64) -> R) -> (Vec<u8>, u64, R) {
        let mut screen = lock(&self.screen);
        // Catch the screen up with what is already out (at most the ring),
        // so the snapshot is the screen as it is now, not as the screen
        // thread last saw it.
        let live = lock(&self.state).live();
        let mut title = None;
        let mut joined = Vec::new();
        while screen.offset < live {
            let (progressed, changed) = self.step(&mut screen, live, &mut joined);
            title = changed.or(title);
            if !progressed {
                break; // nothing readable: the ring no longer has it
            }
        }
        let screen_at = screen.offset;
        let mut st = lock(&self.state);
        // Under the output lock: the ring cannot drop an open frame's
        // start between the check and the client's registration.
        let (snapshot, offset) = screen.snapshot_at(st.ring.start());
        let r = f(&mut st, offset);
        drop(st);
        drop(screen);
        self.published(screen_at, title);
        (snapshot, offset, r)
    }
}

/// The sink the PTY layer's reading task feeds.
pub(crate) struct SessionSink {
    pub output: Arc<Output>,
    /// Told once the exit is recorded (after every output byte).
    pub on_exit: Option<Box<dyn FnOnce(ExitStatus) + Send>>,
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
