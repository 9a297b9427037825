//! The ttyd-compatible `tty` framing (docs/websocket.md), so that ttyd's web
//! client works against ptyhub unchanged.
//!
//! The client's first message is the JSON auth message ([`decode_auth`]);
//! every later frame, text or binary, starts with a one-byte command:
//! client `'0'` input, `'1'` resize JSON `{"columns","rows"}`, `'2'` pause,
//! `'3'` resume ([`decode_client`]); server `'0'` output, `'1'` window
//! title, `'2'` preferences JSON, each in a binary frame ([`encode_output`],
//! [`encode_title`], [`encode_preferences`]). Like ttyd, the JSON payloads
//! ignore keys they do not know; the frame itself is strict (an empty
//! frame, an unknown prefix or bytes after pause/resume are errors).

use serde::{Deserialize, Serialize};

use crate::DecodeError;
use crate::json::decode_object_bytes;

/// Client prefix: input bytes follow.
const CLIENT_INPUT: u8 = b'0';
/// Client prefix: resize JSON follows.
const CLIENT_RESIZE: u8 = b'1';
/// Client prefix: pause output.
const CLIENT_PAUSE: u8 = b'2';
/// Client prefix: resume output.
const CLIENT_RESUME: u8 = b'3';
/// Server prefix: output bytes follow.
const SERVER_OUTPUT: u8 = b'0';
/// Server prefix: the window title follows.
const SERVER_TITLE: u8 = b'1';
/// Server prefix: preferences JSON follows.
const SERVER_PREFERENCES: u8 = b'2';

/// The client's first message: `{"AuthToken": "...", "columns": c, "rows": r}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthMessage {
    /// The token (ttyd's client sends `""` when it has none); absent and
    /// `null` decode as `None`.
    #[serde(rename = "AuthToken", default, skip_serializing_if = "Option::is_none")]
    pub auth_token: Option<String>,
    /// The client's width in columns; the caller checks the range.
    pub columns: u32,
    /// The client's height in rows; the caller checks the range.
    pub rows: u32,
}

/// A client frame after the auth message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TtyClientMessage {
    /// `'0'`: bytes to write to the terminal.
    Input {
        /// The bytes after the prefix, possibly none.
        data: Vec<u8>,
    },
    /// `'1'`: the client's terminal size.
    Resize {
        /// Width in columns; the caller checks the range.
        columns: u32,
        /// Height in rows; the caller checks the range.
        rows: u32,
    },
    /// `'2'`: hold this client's output.
    Pause,
    /// `'3'`: release this client's output.
    Resume,
}

/// A server frame, as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TtyServerMessage {
    /// `'0'`: terminal output bytes.
    Output {
        /// The bytes after the prefix.
        data: Vec<u8>,
    },
    /// `'1'`: the window title.
    Title {
        /// The title, as text.
        title: String,
    },
    /// `'2'`: client preferences (xterm.js options) as JSON.
    Preferences {
        /// The JSON value.
        preferences: serde_json::Value,
    },
}

/// The payload of `'1'` resize.
#[derive(Serialize, Deserialize)]
struct ResizePayload {
    columns: u32,
    rows: u32,
}

/// Decodes the auth message from the payload of a text or binary frame:
/// one JSON object with `columns` and `rows`; `AuthToken` may be missing.
pub fn decode_auth(bytes: &[u8]) -> Result<AuthMessage, DecodeError> {
    decode_object_bytes(bytes)
}

/// Encodes the auth message (for the test client).
pub fn encode_auth(auth: &AuthMessage) -> Vec<u8> {
    json_bytes(auth)
}

/// Decodes a client frame (after the auth message).
pub fn decode_client(frame: &[u8]) -> Result<TtyClientMessage, DecodeError> {
    let (&prefix, payload) = frame.split_first().ok_or(DecodeError::Empty)?;
    match prefix {
        CLIENT_INPUT => Ok(TtyClientMessage::Input {
            data: payload.to_vec(),
        }),
        CLIENT_RESIZE => {
            let ResizePayload { columns, rows } = decode_object_bytes(payload)?;
            Ok(TtyClientMessage::Resize { columns, rows })
        }
        CLIENT_PAUSE => no_payload(prefix, payload).map(|()| TtyClientMessage::Pause),
        CLIENT_RESUME => no_payload(prefix, payload).map(|()| TtyClientMessage::Resume),
        byte => Err(DecodeError::UnknownPrefix { byte }),
    }
}

/// Encodes a client frame (for the test client).
pub fn encode_client(message: &TtyClientMessage) -> Vec<u8> {
    match message {
        TtyClientMessage::Input { data } => prefixed(CLIENT_INPUT, data),
        TtyClientMessage::Resize { columns, rows } => prefixed(
            CLIENT_RESIZE,
            &json_bytes(&ResizePayload {
                columns: *columns,
                rows: *rows,
            }),
        ),
        TtyClientMessage::Pause => vec![CLIENT_PAUSE],
        TtyClientMessage::Resume => vec![CLIENT_RESUME],
    }
}

/// Encodes terminal output as the payload of a binary frame.
pub fn encode_output(data: &[u8]) -> Vec<u8> {
    prefixed(SERVER_OUTPUT, data)
}

/// Encodes a window title as the payload of a binary frame.
pub fn encode_title(title: &str) -> Vec<u8> {
    prefixed(SERVER_TITLE, title.as_bytes())
}

/// Encodes client preferences as the payload of a binary frame.
pub fn encode_preferences(preferences: &serde_json::Value) -> Vec<u8> {
    prefixed(SERVER_PREFERENCES, &json_bytes(preferences))
}

/// Encodes any server frame; the same as the three functions above.
pub fn encode_server(message: &TtyServerMessage) -> Vec<u8> {
    match message {
        TtyServerMessage::Output { data } => encode_output(data),
        TtyServerMessage::Title { title } => encode_title(title),
        TtyServerMessage::Preferences { preferences } => encode_preferences(preferences),
    }
}

/// Decodes a server frame (for the test client).
pub fn decode_server(frame: &[u8]) -> Result<TtyServerMessage, DecodeError> {
    let (&prefix, payload) = frame.split_first().ok_or(DecodeError::Empty)?;
    match prefix {
        SERVER_OUTPUT => Ok(TtyServerMessage::Output {
            data: payload.to_vec(),
        }),
        SERVER_TITLE => {
            let title = std::str::from_utf8(payload).map_err(|_| DecodeError::InvalidUtf8)?;
            Ok(TtyServerMessage::Title {
                title: title.to_owned(),
            })
        }
        SERVER_PREFERENCES => {
            let text = std::str::from_utf8(payload).map_err(|_| DecodeError::InvalidUtf8)?;
            Ok(TtyServerMessage::Preferences {
                preferences: serde_json::from_str(text)?,
            })
        }
        byte => Err(DecodeError::UnknownPrefix { byte }),
    }
}

/// `prefix` followed by `payload`, in one allocation.
fn prefixed(prefix: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(1 + payload.len());
    frame.push(prefix);
    frame.extend_from_slice(payload);
    frame
}

/// Checks that a payload-less command has no payload.
fn no_payload(prefix: u8, payload: &[u8]) -> Result<(), DecodeError> {
    if payload.is_empty() {
        Ok(())
    } else {
        Err(DecodeError::TrailingBytes {
            prefix: char::from(prefix),
        })
    }
}

/// JSON bytes of a payload type of this module.
fn json_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    // serde_json only fails on non-string map keys or a failing custom
    // `Serialize`; these types have neither. `{}` keeps the frame valid.
    serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn auth_message_as_ttyd_sends_it() {
        let auth = decode_auth(br#"{"AuthToken":"s3cret","columns":120,"rows":40}"#).unwrap();
        assert_eq!(
            auth,
            AuthMessage {
                auth_token: Some("s3cret".into()),
                columns: 120,
                rows: 40
            }
        );
        let auth = decode_auth(br#"{"columns":80,"rows":24,"extra":1}"#).unwrap();
        assert_eq!(auth.auth_token, None);
        let auth = decode_auth(br#"{"AuthToken":null,"columns":80,"rows":24}"#).unwrap();
        assert_eq!(auth.auth_token, None);
        let bytes = encode_auth(&AuthMessage {
            auth_token: Some("t".into()),
            columns: 1,
            rows: 2,
        });
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap(),
            json!({"AuthToken":"t","columns":1,"rows":2})
        );
    }

    #[test]
    fn bad_auth_messages_are_errors() {
        assert_eq!(decode_auth(b""), Err(DecodeError::Empty));
        assert_eq!(decode_auth(b"0ls\r"), Err(DecodeError::NotAnObject));
        assert_eq!(decode_auth(br#""tok""#), Err(DecodeError::NotAnObject));
        assert_eq!(
            decode_auth(b"{\"AuthToken\":\"\xff\"}"),
            Err(DecodeError::InvalidUtf8)
        );
        assert!(decode_auth(br#"{"AuthToken":"t"}"#).is_err());
        assert!(decode_auth(br#"{"AuthToken":1,"columns":80,"rows":24}"#).is_err());
        assert!(decode_auth(br#"{"columns":-1,"rows":24}"#).is_err());
    }

    #[test]
    fn client_frames() {
        assert_eq!(
            decode_client(b"0ls -l\r").unwrap(),
            TtyClientMessage::Input {
                data: b"ls -l\r".to_vec()
            }
        );
        assert_eq!(
            decode_client(b"0").unwrap(),
            TtyClientMessage::Input { data: vec![] }
        );
        assert_eq!(
            decode_client(br#"1{"columns":100,"rows":30}"#).unwrap(),
            TtyClientMessage::Resize {
                columns: 100,
                rows: 30
            }
        );
        assert_eq!(decode_client(b"2").unwrap(), TtyClientMessage::Pause);
        assert_eq!(decode_client(b"3").unwrap(), TtyClientMessage::Resume);
    }

    #[test]
    fn bad_client_frames_are_errors() {
        assert_eq!(decode_client(b""), Err(DecodeError::Empty));
        assert_eq!(
            decode_client(b"9x"),
            Err(DecodeError::UnknownPrefix { byte: b'9' })
        );
        assert_eq!(
            decode_client(br#"{"AuthToken":""}"#),
            Err(DecodeError::UnknownPrefix { byte: b'{' })
        );
        assert_eq!(
            decode_client(b"2x"),
            Err(DecodeError::TrailingBytes { prefix: '2' })
        );
        assert_eq!(decode_client(b"1"), Err(DecodeError::Empty));
        assert_eq!(decode_client(b"1[80,24]"), Err(DecodeError::NotAnObject));
        assert!(decode_client(br#"1{"columns":80}"#).is_err());
    }

    #[test]
    fn server_frames() {
        assert_eq!(encode_output(b"\x1b[31mhi"), b"0\x1b[31mhi");
        assert_eq!(encode_title("vim — a.txt"), "1vim — a.txt".as_bytes());
        let prefs = json!({"fontSize": 14});
        assert_eq!(encode_preferences(&prefs), br#"2{"fontSize":14}"#);
        assert_eq!(
            decode_server(&encode_preferences(&prefs)).unwrap(),
            TtyServerMessage::Preferences { preferences: prefs }
        );
        assert_eq!(decode_server(b"1\xff"), Err(DecodeError::InvalidUtf8));
        assert_eq!(
            decode_server(b"3"),
            Err(DecodeError::UnknownPrefix { byte: b'3' })
        );
        assert_eq!(decode_server(b""), Err(DecodeError::Empty));
    }
}
