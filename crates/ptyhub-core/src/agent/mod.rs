//! Agent state: is the program working (`busy`), asking the user something
//! (`waiting`) or done with its turn (`ready`)? Decided from hook events
//! (posted by the program), terminal notifications in its output, its
//! title, its screen and output quiet, strongest first (the rules are in `agent/decide.rs`).
//!
//! Where each signal is read, none of it on the output path:
//! - notifications: the screen thread feeds every batch it parses to a
//!   `ScanFeed` (a `memchr` scan), which hands what it finds to the
//!   session's agent task through a bounded channel;
//! - hooks: the HTTP route sends them to the same channel;
//! - title, screen, quiet: the agent task reads them itself, at most every
//!   250 ms (`task::CHECK_EVERY`) while output flows.
//!
//! The task is the only writer of the state; readers follow a `watch`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use ptyhub_protocol::api::{AgentInfo, AgentState};
use regex::Regex;
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

mod decide;
mod scan;
mod session_api;
pub(crate) mod task;

pub use scan::Found;

/// Inputs waiting for the agent task. Notifications past this many are
/// dropped (counted still) while the task is behind: a program ringing the
/// bell in a loop must not grow memory.
const INPUT_QUEUE: usize = 64;

/// The longest `detail`, in bytes.
pub const MAX_DETAIL: usize = 256;

/// A provider's patterns (`busy_title`, `ready_title`, `busy_patterns`,
/// `waiting_patterns`, `ready_patterns`), compiled.
#[derive(Clone, Debug, Default)]
pub struct AgentRules {
    /// A title matching this is `busy`.
    pub busy_title: Option<Regex>,
    /// A title matching this is `ready`.
    pub ready_title: Option<Regex>,
    /// A screen line matching one of these is `busy`.
    pub busy_patterns: Vec<Regex>,
    /// A screen line matching one of these is `waiting` (checked first).
    pub waiting_patterns: Vec<Regex>,
    /// A screen line matching one of these is `ready`.
    pub ready_patterns: Vec<Regex>,
}

impl AgentRules {
    fn has_screen(&self) -> bool {
        !(self.busy_patterns.is_empty()
            && self.waiting_patterns.is_empty()
            && self.ready_patterns.is_empty())
    }
}

/// The agent part of a session's spec.
#[derive(Clone, Debug, Default)]
pub struct AgentSpec {
    /// The provider's patterns.
    pub rules: Arc<AgentRules>,
    /// The token that authorises `POST /api/sessions/{id}/hook` for this
    /// session only (the program has it as `PTYHUB_HOOK_TOKEN`).
    pub hook_token: Option<String>,
    /// Detection off (for the benchmarks' baseline): the state stays
    /// `unknown` but for hooks.
    pub detection_off: bool,
}

/// A signal for the agent task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentInput {
    /// A hook event said the state.
    Hook {
        /// What it says.
        state: AgentState,
        /// The event's name or message.
        detail: Option<String>,
    },
    /// A terminal notification or progress report in the output.
    Output(Found),
}

/// The agent state of one session: what readers follow, and where signals
/// go in.
#[derive(Debug)]
pub(crate) struct Agent {
    pub(crate) info: watch::Sender<AgentInfo>,
    pub(crate) inputs: mpsc::Sender<AgentInput>,
    /// Taken once by the task.
    pub(crate) receiver: Mutex<Option<mpsc::Receiver<AgentInput>>>,
    pub(crate) spec: AgentSpec,
}

impl Agent {
    /// The agent of a new session, and the feed its screen thread scans
    /// output with.
    pub(crate) fn new(spec: AgentSpec) -> (Agent, ScanFeed) {
        // Bounded: see INPUT_QUEUE.
        let (tx, rx) = mpsc::channel(INPUT_QUEUE);
        let feed = ScanFeed {
            scanner: Mutex::new(scan::Scanner::default()),
            tx: tx.clone(),
            off: AtomicBool::new(spec.detection_off),
        };
        let agent = Agent {
            info: watch::Sender::new(AgentInfo::default()),
            inputs: tx,
            receiver: Mutex::new(Some(rx)),
            spec,
        };
        (agent, feed)
    }
}

/// The screen thread's end of notification scanning.
#[derive(Debug)]
pub(crate) struct ScanFeed {
    scanner: Mutex<scan::Scanner>,
    tx: mpsc::Sender<AgentInput>,
    off: AtomicBool,
}

impl ScanFeed {
    /// Scans one batch of output (called in output order, under the
    /// screen's lock).
    pub(crate) fn feed(&self, bytes: &[u8]) {
        if self.off.load(Ordering::Relaxed) {
            return;
        }
        let mut scanner = crate::output::lock(&self.scanner);
        scanner.feed(bytes, &mut |found| {
            // Never wait here: a full queue drops it (see INPUT_QUEUE).
            if self.tx.try_send(AgentInput::Output(found)).is_err() {
                tracing::debug!("agent input queue full: a notification dropped");
            }
        });
    }
}

/// `text` cut to at most [`MAX_DETAIL`] bytes on a character boundary, its
/// control characters replaced with U+FFFD (it is shown as text).
pub fn clean_detail(text: &str) -> String {
    let mut out = String::new();
    for c in text.trim().chars() {
        let c = if c.is_control() { '\u{fffd}' } else { c };
        if out.len() + c.len_utf8() > MAX_DETAIL {
            break;
        }
        out.push(c);
    }
    out
}

/// A fresh session id (the server may choose it first, to put it in the
/// program's environment).
pub fn new_session_id() -> Uuid {
    Uuid::new_v4()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_are_short_text() {
        assert_eq!(clean_detail(" a\x1bb\n "), "a\u{fffd}b");
        let long = "é".repeat(200);
        let cut = clean_detail(&long);
        assert!(cut.len() <= MAX_DETAIL && cut.len() >= MAX_DETAIL - 1);
        assert_eq!(clean_detail("<b>x</b>"), "<b>x</b>");
    }
}
