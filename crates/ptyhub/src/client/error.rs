//! [`Error`]: every way a client command fails, each a one-line message
//! that says what to do, and exit status 1.

/// Why a client command failed. `Display` is the whole line printed on
/// stderr (after `ptyhub: error: `).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Nothing answers at the URL (connection refused, no such host...).
    #[error(
        "no ptyhub server at {url} ({reason}): start one with `ptyhub serve`, or set PTYHUB_URL"
    )]
    NoServer {
        /// The base URL that was tried.
        url: String,
        /// The low-level reason, such as "connection refused".
        reason: String,
    },
    /// The server's TLS certificate is not trusted (or TLS failed).
    #[error(
        "cannot trust the server at {url} ({reason}): trust its certificate or CA with --ca FILE, or set PTYHUB_CA"
    )]
    Untrusted {
        /// The base URL that was tried.
        url: String,
        /// rustls's reason, such as "invalid peer certificate: UnknownIssuer".
        reason: String,
    },
    /// The server answered 401.
    #[error("{}", bad_token(url, *had_token))]
    BadToken {
        /// The server's base URL.
        url: String,
        /// Whether a token was sent at all.
        had_token: bool,
    },
    /// No session has this id, id prefix or name.
    #[error("no session matches {query:?} (see `ptyhub ls`)")]
    UnknownSession {
        /// What the user gave.
        query: String,
    },
    /// An id prefix that fits more than one session.
    #[error("{query:?} matches {} sessions: {}; give more of the id, or the name", candidates.len(), candidates.join(", "))]
    Ambiguous {
        /// What the user gave.
        query: String,
        /// Each candidate as `id-prefix (name)`.
        candidates: Vec<String>,
    },
    /// The server refused the request with an error body.
    #[error("{message} ({code}, HTTP {status})")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The error's snake_case code.
        code: String,
        /// The server's human sentence.
        message: String,
    },
    /// The connection broke in the middle of an exchange.
    #[error("lost the connection to the server at {url}: {reason}")]
    ConnectionLost {
        /// The server's base URL.
        url: String,
        /// What broke.
        reason: String,
    },
    /// Anything else, already phrased as one line.
    #[error("{0}")]
    Other(String),
}

fn bad_token(url: &str, had_token: bool) -> String {
    if had_token {
        format!(
            "the server at {url} refused the token: set PTYHUB_TOKEN to the token in the URL `ptyhub serve` printed"
        )
    } else {
        format!(
            "the server at {url} needs a token: set PTYHUB_TOKEN to the token in the URL `ptyhub serve` printed"
        )
    }
}

impl Error {
    /// An [`Error::Other`] from anything displayable.
    pub fn other(message: impl std::fmt::Display) -> Error {
        Error::Other(message.to_string())
    }
}

/// The result of client code.
pub type Result<T, E = Error> = std::result::Result<T, E>;
