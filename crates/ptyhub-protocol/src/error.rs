//! [`DecodeError`]: why a WebSocket message could not be decoded.

/// Why a WebSocket message (of any framing) could not be decoded.
///
/// The `Display` text is a human sentence fit for an `error` event's
/// `message`; it never echoes more of the input than a field name or value
/// that serde quotes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The frame or text has no content at all.
    #[error("the message is empty")]
    Empty,
    /// Bytes that had to be text (JSON, a title) are not valid UTF-8.
    #[error("the message is not valid UTF-8")]
    InvalidUtf8,
    /// The message had to be a JSON object and is something else.
    #[error("the message is not a JSON object")]
    NotAnObject,
    /// The JSON is malformed, or it does not fit the expected shape (an
    /// unknown `type` or field, a missing field, a value of the wrong type).
    #[error("invalid message: {message}")]
    Json {
        /// serde_json's description, with its line and column.
        message: String,
    },
    /// A `tty` frame starts with a byte that is not a known command.
    #[error("unknown command prefix {byte:#04x}")]
    UnknownPrefix {
        /// The first byte of the frame.
        byte: u8,
    },
    /// A `tty` command that takes no payload came with some.
    #[error("unexpected bytes after the one-byte command {prefix:?}")]
    TrailingBytes {
        /// The command's prefix character.
        prefix: char,
    },
}

impl From<serde_json::Error> for DecodeError {
    fn from(err: serde_json::Error) -> Self {
        DecodeError::Json {
            message: err.to_string(),
        }
    }
}
