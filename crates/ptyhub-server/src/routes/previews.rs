//! `session_preview` events on `GET /api/events?preview_lines=N`: each
//! session's last N non-blank screen lines with their colours, for a
//! dashboard that shows every session small. Cheap by construction: one
//! look per stream every [`PREVIEW_EVERY`], a preview only for a session
//! whose screen moved since the last one sent on this stream, and never a
//! wait for a screen that is busy parsing (it is looked at again at the next
//! tick). No WebSocket per session, no work at all for streams that did not
//! ask.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use ptyhub_protocol::api::SessionPreview;
use tokio::time::MissedTickBehavior;

use crate::error::ApiError;
use crate::state::AppState;

/// How often a stream looks for screens that changed.
pub const PREVIEW_EVERY: Duration = Duration::from_secs(1);

/// The most lines a preview may ask for.
pub const MAX_PREVIEW_LINES: u64 = 24;

/// Columns kept of each line (a preview is small).
pub const PREVIEW_COLS: u16 = 160;

/// `preview_lines`, checked: 1 to [`MAX_PREVIEW_LINES`].
pub fn lines(asked: Option<u64>) -> Result<Option<usize>, ApiError> {
    match asked {
        None | Some(0) => Ok(None),
        Some(n) if n <= MAX_PREVIEW_LINES => Ok(Some(n as usize)),
        Some(_) => Err(ApiError::bad_request(
            "bad_query",
            format!("preview_lines is at most {MAX_PREVIEW_LINES}"),
        )),
    }
}

/// What a stream last sent of one session: its screen's offset and size.
type Seen = (u64, u16, u16);

struct Previews {
    state: Arc<AppState>,
    lines: usize,
    tick: tokio::time::Interval,
    sent: HashMap<String, Seen>,
    /// Found at the last tick, not yet sent (at most one per session).
    pending: VecDeque<warp::sse::Event>,
}

impl Previews {
    /// Every session whose screen moved since it was last sent.
    fn look(&mut self) {
        let sessions = self.state.registry.list();
        self.sent
            .retain(|id, _| sessions.iter().any(|s| s.id().to_string() == *id));
        for s in sessions {
            let size = s.size();
            let seen = (s.screen_offset(), size.cols, size.rows);
            let id = s.id().to_string();
            if self.sent.get(&id) == Some(&seen) {
                continue;
            }
            let Some(lines) = s.try_preview(self.lines, PREVIEW_COLS) else {
                continue;
            };
            let preview = SessionPreview {
                id: id.clone(),
                lines,
            };
            let Ok(data) = serde_json::to_string(&preview) else {
                continue;
            };
            self.sent.insert(id, seen);
            self.pending.push_back(
                warp::sse::Event::default()
                    .event("session_preview")
                    .data(data),
            );
        }
    }
}

/// The stream of `session_preview` events, until the server shuts down.
pub fn stream(
    state: Arc<AppState>,
    lines: usize,
) -> impl Stream<Item = Result<warp::sse::Event, Infallible>> + Send + 'static {
    let mut tick = tokio::time::interval(PREVIEW_EVERY);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let previews = Previews {
        state,
        lines,
        tick,
        sent: HashMap::new(),
        pending: VecDeque::new(),
    };
    futures::stream::unfold(previews, |mut p| async move {
        loop {
            if let Some(event) = p.pending.pop_front() {
                return Some((Ok(event), p));
            }
            let stop = p.state.shutdown.clone();
            tokio::select! {
                () = stop.cancelled() => return None,
                _ = p.tick.tick() => p.look(),
            }
        }
    })
}
