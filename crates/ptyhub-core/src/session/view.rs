//! What a session shows: its screen as text or escape codes, and its raw
//! output by offset.

use ptyhub_protocol::api::PreviewRun;
use ptyhub_pty::WindowSize;
use tokio::sync::watch;

use crate::output::lock;

use super::Session;

impl Session {
    /// The visible screen as text lines, the cursor, the title and the size.
    pub fn screen_text(&self) -> (Vec<String>, (u16, u16), String, WindowSize) {
        let screen = lock(&self.output.screen);
        (
            screen.lines(),
            screen.cursor(),
            screen.title().to_owned(),
            self.size(),
        )
    }

    /// The visible screen as escape codes.
    pub fn screen_ansi(&self) -> String {
        lock(&self.output.screen).ansi()
    }

    /// The screen's last non-blank lines with their colours, at most
    /// `max_lines` of `max_cols` columns, or `None` when the screen's job
    /// holds the screen right now: a preview never waits for it (the
    /// caller asks again later).
    pub fn try_preview(&self, max_lines: usize, max_cols: u16) -> Option<Vec<Vec<PreviewRun>>> {
        match self.output.screen.try_lock() {
            Ok(screen) => Some(screen.preview(max_lines, max_cols)),
            Err(std::sync::TryLockError::Poisoned(e)) => {
                Some(e.into_inner().preview(max_lines, max_cols))
            }
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    /// How far the screen has processed the output: a preview changes only
    /// when this or the size does.
    pub fn screen_offset(&self) -> u64 {
        *self.output.screen_progress.borrow()
    }

    /// Follows the screen's progress (for `/wait`).
    pub fn subscribe_screen(&self) -> watch::Receiver<u64> {
        self.output.screen_progress.subscribe()
    }

    /// Raw output from `since` (clamped to what is kept), at most `max`
    /// bytes: (from, to, bytes, truncated).
    pub fn read_output(&self, since: Option<u64>, max: usize) -> (u64, u64, Vec<u8>, bool) {
        let st = lock(&self.output.state);
        let start = st.ring.start();
        let from = since.unwrap_or(start).max(start).min(st.live());
        let truncated = since.is_some_and(|s| s < start);
        let to = st.live().min(from + max as u64);
        (from, to, st.ring.copy_range(from, to), truncated)
    }

    /// The live offset now, and a receiver that follows it.
    pub fn subscribe_output(&self) -> watch::Receiver<u64> {
        self.output.live.subscribe()
    }

    /// Follows the terminal's title.
    pub(crate) fn subscribe_title(&self) -> watch::Receiver<String> {
        self.output.title.subscribe()
    }

    /// Follows the terminal's size.
    pub(crate) fn subscribe_size(&self) -> watch::Receiver<WindowSize> {
        self.size.subscribe()
    }

    /// When the program last wrote, if it ever did.
    pub(crate) fn last_output_instant(&self) -> Option<std::time::Instant> {
        let (_, live) = self.bytes_in_out();
        (live > 0).then(|| {
            let ms = self
                .output
                .last_output_ms
                .load(std::sync::atomic::Ordering::Relaxed);
            self.output.started + std::time::Duration::from_millis(ms)
        })
    }

    /// Whether the output stream is complete (the program ended).
    pub fn output_complete(&self) -> bool {
        lock(&self.output.state).exit.is_some()
    }
}
