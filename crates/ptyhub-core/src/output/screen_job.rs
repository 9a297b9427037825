//! The screen's job: follows the ring in batches on tokio's blocking pool,
//! started when output arrives (or a resize, or the exit) and ended once it
//! has caught up; applies resizes at the offset where they happened; sends
//! the answers to the terminal queries it saw through the session's reply
//! filter; and catches the screen up for a snapshot when a client joins.
//!
//! Lock order (as in the whole output path): `screen` before `state`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{OutState, Output, lock};
use crate::screen::Screen;

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
pub(super) const GATHER_BYTES: u64 = 256 << 10;
const GATHER_TIME: Duration = Duration::from_millis(4);

impl Output {
    /// Starts the screen's job on the blocking pool (the caller set
    /// `screen_running`).
    pub(super) fn start_screen(self: &Arc<Self>) {
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
    pub(super) fn wake_screen(self: &Arc<Self>) {
        let start = !std::mem::replace(&mut lock(&self.state).screen_running, true);
        if start {
            self.start_screen();
        } else {
            self.screen_wake.notify_one();
        }
    }

    /// The screen's job: follows the ring in batches until it has caught up
    /// with the output and the resizes, then ends (`screen_running` false).
    fn run_screen(&self) {
        // The batch as one slice (see `step`), kept for its capacity.
        let mut joined = Vec::new();
        loop {
            {
                let mut st = lock(&self.state);
                if Self::caught_up(&mut st) {
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

    /// Whether the screen has caught up with the output and the resizes;
    /// if so its job ends here (`screen_running` false).
    fn caught_up(st: &mut OutState) -> bool {
        let done = st.screen_offset == st.live() && st.pending_resizes.is_empty();
        if done {
            st.screen_running = false;
        }
        done
    }

    /// The screen's job done by the caller, at once, for a few bytes (see
    /// `HERE_BYTES`): without waiting for a larger batch, and only if the
    /// screen is free right now (a joining client's snapshot may hold it);
    /// `false` if it was not, and the job must run instead.
    pub(super) fn catch_up_now(&self) -> bool {
        let mut screen = match self.screen.try_lock() {
            Ok(screen) => screen,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return false,
        };
        let mut joined = Vec::new();
        let mut title = None;
        while !Self::caught_up(&mut lock(&self.state)) {
            let (_, changed) = self.step(&mut screen, u64::MAX, &mut joined);
            title = changed.or(title);
        }
        let offset = screen.offset;
        drop(screen);
        self.published(offset, title);
        true
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
        self.replies.answer(replies, asked);
    }

    /// Tells followers of the screen where it stands now.
    fn published(&self, offset: u64, title: Option<String>) {
        self.screen_progress.send_replace(offset);
        if let Some(title) = title {
            self.title.send_replace(title);
        }
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
