//! The `tty` framing's auth step: ttyd's client upgrades and then sends
//! `{"AuthToken", "columns", "rows"}` as its first message. Until that
//! message has been checked the connection counts against the pre-auth
//! budget (its [`Ticket`]); anything else first, nothing within
//! [`AUTH_TIMEOUT`], or the budget closing the connection ends the socket
//! with 1008 before anything is attached, spawned or written.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::SplitStream;
use ptyhub_protocol::{close, tty};

use super::loop_::{Sink, close_with};
use super::socket::{self, Socket};
use crate::budget::Ticket;
use crate::state::AppState;

/// How long a `tty` client has to send its auth message.
pub(super) const AUTH_TIMEOUT: Duration = Duration::from_secs(10);

/// How a `tty` socket's auth message is to be checked.
#[derive(Debug, Clone, Default)]
pub(crate) struct TtyAuth {
    /// The upgrade carried no credentials: the message's token must be
    /// valid.
    pub deferred: bool,
    /// The connection's place in the pre-auth budget.
    pub ticket: Option<Arc<Ticket>>,
}

/// Reads and checks the auth message; `None` when the socket was closed
/// with 1008 instead.
pub(super) async fn authenticate(
    sink: &mut Sink,
    stream: &mut SplitStream<Socket>,
    state: &AppState,
    auth: &TtyAuth,
) -> Option<tty::AuthMessage> {
    let closed = async {
        match &auth.ticket {
            Some(ticket) => ticket.closed().await,
            None => std::future::pending().await,
        }
    };
    let first = tokio::select! {
        first = tokio::time::timeout(AUTH_TIMEOUT, stream.next()) => first.ok().flatten(),
        () = closed => None,
    };
    let message = match first {
        Some(Ok(msg)) if msg.is_text() || msg.is_binary() => {
            tty::decode_auth(socket::payload(&msg)).ok()
        }
        _ => None,
    };
    let Some(message) = message else {
        close_with(sink, close::POLICY, "expected the auth message").await;
        return None;
    };
    if auth.deferred {
        let ok = match (state.policy.token(), message.auth_token.as_deref()) {
            (Some(expected), Some(given)) => {
                crate::auth::tokens_equal(given.as_bytes(), expected.as_bytes())
            }
            (None, _) => true,
            _ => false,
        };
        if !ok {
            close_with(sink, close::POLICY, "bad token").await;
            return None;
        }
    }
    if let Some(ticket) = &auth.ticket {
        ticket.authenticated();
    }
    Some(message)
}

/// A `tty` socket upgraded without credentials for a session that does not
/// exist: the same auth step as for one that does (so that the upgrade
/// reveals nothing), then 1008 "no such session".
pub(super) async fn refuse_unknown(socket: Socket, state: Arc<AppState>, auth: TtyAuth) {
    let (mut sink, mut stream) = socket.split();
    if authenticate(&mut sink, &mut stream, &state, &auth)
        .await
        .is_some()
    {
        close_with(&mut sink, close::POLICY, "no such session").await;
    }
}
