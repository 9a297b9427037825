//! The core's errors; the server maps each to one HTTP status.

use ptyhub_pty::{PtyError, SpawnError};

/// Why a core operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// No session with this id or name.
    #[error("no session {0:?}")]
    NotFound(String),
    /// The session has ended.
    #[error("the session has ended")]
    Ended,
    /// A read-only client tried to write, resize or signal.
    #[error("this client is read-only")]
    ReadOnly,
    /// `max_sessions` running sessions exist already.
    #[error("too many sessions (at most {0} may run at once)")]
    TooManySessions(usize),
    /// `max_clients_per_session` clients are attached already.
    #[error("too many clients on this session (at most {0})")]
    TooManyClients(usize),
    /// Another listed session has this name.
    #[error("a session named {0:?} exists already")]
    NameTaken(String),
    /// Bad input (a size out of range, for example).
    #[error("{0}")]
    Invalid(String),
    /// The program could not be started.
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    /// An operation on the running terminal failed.
    #[error(transparent)]
    Pty(#[from] PtyError),
}
