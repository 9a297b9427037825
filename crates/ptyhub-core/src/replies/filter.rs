//! The session's reply filter: where the screen's answers to terminal
//! queries go (the program's input), what was answered when, and client
//! input cleared of the replies the server already gave.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ptyhub_pty::InputSender;

use super::{Answered, Kind, filter_client_replies, has_reply};
use crate::output::{Output, lock};

/// How long client input holding a reply waits for the screen to catch up
/// with what is already out (so that the query it answers has been seen).
const CATCH_UP: Duration = Duration::from_millis(500);

/// One session's: written by its screen's job, read by its client input.
#[derive(Default)]
pub(crate) struct ReplyFilter {
    /// When the screen last answered each kind of query (a short lock,
    /// taken alone).
    answered: Mutex<Answered>,
    /// Where the answers go: the program's input (set once the terminal
    /// exists).
    replies_to: Mutex<Option<InputSender>>,
}

impl ReplyFilter {
    /// Where the screen's answers go.
    pub fn set_replies_to(&self, input: InputSender) {
        *lock(&self.replies_to) = Some(input);
    }

    /// Sends the answers to the queries the screen has just seen to the
    /// program and notes what was `asked`. Never waits on the program (its
    /// output would stall behind its own input): a program that does not
    /// read its input while asking questions loses the answers (logged).
    pub fn answer(&self, replies: Vec<u8>, asked: Vec<Kind>) {
        if !asked.is_empty() {
            let now = Instant::now();
            let mut answered = lock(&self.answered);
            for kind in asked {
                answered.mark(kind, now);
            }
        }
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

    /// Client input without the replies to queries the server answered
    /// (see [`crate::replies`]). Input holding a reply first waits
    /// (briefly) until `output`'s screen has processed every byte already
    /// sent, so that the query this reply answers has been seen and
    /// answered.
    pub async fn client_input(&self, data: Bytes, output: &Output) -> Bytes {
        if !has_reply(&data) {
            return data;
        }
        let live = lock(&output.state).live();
        let mut screen = output.screen_progress.subscribe();
        // A screen job this far behind is starved; the reply then goes
        // through (at worst the program gets a second answer).
        let caught_up = screen.wait_for(|&at| at >= live);
        if tokio::time::timeout(CATCH_UP, caught_up).await.is_err() {
            tracing::debug!("screen behind while filtering client replies");
        }
        let filtered = filter_client_replies(&data, &lock(&self.answered), Instant::now());
        filtered.map_or(data, Bytes::from)
    }
}
