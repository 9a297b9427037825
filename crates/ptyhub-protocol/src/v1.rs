//! The native `ptyhub.v1` protocol (docs/websocket.md): JSON text frames.
//!
//! Binary frames carry terminal bytes both ways and need no codec. Text
//! frames carry one JSON object tagged by `"type"`: [`ClientMessage`] from
//! the client ([`decode_client`] is strict: unknown types and fields are
//! errors, and the server answers them with an `error` event), and
//! [`ServerEvent`] from the server ([`encode_event`]; [`decode_event`] is
//! lenient about unknown fields so that clients survive additions).

use serde::{Deserialize, Serialize};

use crate::DecodeError;
use crate::api::{ErrorDetail, ExitInfo, SessionInfo};
use crate::json::decode_object;

/// A JSON command from a client (a text frame).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", from = "ClientWire")]
pub enum ClientMessage {
    /// Write text to the terminal, as its UTF-8 bytes.
    Input {
        /// The text; no newline is added.
        data: String,
    },
    /// The client's terminal size; the caller checks the range (1 to 1000).
    Resize {
        /// Width in columns.
        cols: u32,
        /// Height in rows.
        rows: u32,
    },
    /// Send a signal to the terminal's foreground process group.
    Signal {
        /// The signal's name, such as `"SIGINT"`.
        signal: String,
    },
    /// Hold this client's output (flow control).
    Pause,
    /// Release this client's output.
    Resume,
    /// Answered by [`ServerEvent::Pong`].
    Ping,
    /// Legacy: write the line followed by Enter (`\r`).
    Command {
        /// The line, without its Enter.
        content: String,
    },
    /// Legacy: the same as `signal` SIGINT.
    Interrupt,
    /// Legacy: answered by [`ServerEvent::Status`].
    Status,
}

/// The strict decoding shape of [`ClientMessage`]: the payload-less
/// commands are empty struct variants here, because serde ignores extra
/// fields on unit variants of an internally tagged enum.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum ClientWire {
    Input { data: String },
    Resize { cols: u32, rows: u32 },
    Signal { signal: String },
    Pause {},
    Resume {},
    Ping {},
    Command { content: String },
    Interrupt {},
    Status {},
}

impl From<ClientWire> for ClientMessage {
    fn from(wire: ClientWire) -> Self {
        match wire {
            ClientWire::Input { data } => ClientMessage::Input { data },
            ClientWire::Resize { cols, rows } => ClientMessage::Resize { cols, rows },
            ClientWire::Signal { signal } => ClientMessage::Signal { signal },
            ClientWire::Pause {} => ClientMessage::Pause,
            ClientWire::Resume {} => ClientMessage::Resume,
            ClientWire::Ping {} => ClientMessage::Ping,
            ClientWire::Command { content } => ClientMessage::Command { content },
            ClientWire::Interrupt {} => ClientMessage::Interrupt,
            ClientWire::Status {} => ClientMessage::Status,
        }
    }
}

/// A JSON event from the server (a text frame).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerEvent {
    /// The first frame of every connection.
    Hello {
        /// The session object.
        session: SessionInfo,
        /// Whether this client's input, resizes and signals are refused.
        readonly: bool,
        /// The output offset where the live stream starts (after the
        /// snapshot); on a resumed connection, the `since` asked for.
        offset: u64,
        /// True when the stream resumes at `since` with no snapshot.
        resumed: bool,
        /// How many of the binary bytes that follow are the snapshot (0
        /// when resumed or `snapshot=0`).
        snapshot_bytes: u64,
    },
    /// The terminal size changed (whoever caused it).
    Resize {
        /// Width in columns.
        cols: u16,
        /// Height in rows.
        rows: u16,
    },
    /// The program set the window title.
    Title {
        /// The title, to be shown as text, never as HTML.
        title: String,
    },
    /// This client fell behind and its queue was dropped; a snapshot of
    /// `snapshot_bytes` follows, then live output from `offset`.
    Lagged {
        /// Live bytes this client never received.
        dropped_bytes: u64,
        /// Where the live stream resumes, after the snapshot.
        offset: u64,
        /// The length of the snapshot that follows.
        snapshot_bytes: u64,
    },
    /// The session ended; a normal close (1000) follows.
    Exit {
        /// How it ended.
        exit: ExitInfo,
    },
    /// A command was malformed or refused; the connection stays open.
    Error {
        /// What went wrong.
        error: ErrorDetail,
    },
    /// The answer to [`ClientMessage::Ping`].
    Pong,
    /// The session's agent state changed (busy, waiting, ready).
    Agent {
        /// The new state and why.
        agent: crate::api::AgentInfo,
    },
    /// The answer to the legacy [`ClientMessage::Status`].
    Status {
        /// The session object, resources included.
        session: SessionInfo,
    },
}

impl ServerEvent {
    /// An `error` event with a snake_case `code` and a human `message`.
    pub fn error(code: impl Into<String>, message: impl Into<String>) -> Self {
        ServerEvent::Error {
            error: ErrorDetail::new(code, message),
        }
    }
}

/// Decodes a client's text frame. Strict: it must be one JSON object with a
/// known `type` and exactly that type's fields.
pub fn decode_client(text: &str) -> Result<ClientMessage, DecodeError> {
    decode_object(text)
}

/// Encodes a client command as the text of a frame (for clients and tests).
pub fn encode_client(message: &ClientMessage) -> String {
    encode(message)
}

/// Encodes a server event as the text of a frame.
pub fn encode_event(event: &ServerEvent) -> String {
    encode(event)
}

/// Decodes a server event (for clients and tests). Unknown fields are
/// ignored; an unknown `type` is an error.
pub fn decode_event(text: &str) -> Result<ServerEvent, DecodeError> {
    decode_object(text)
}

/// JSON text of a message type of this module.
fn encode<T: Serialize>(value: &T) -> String {
    // serde_json only fails on a map with non-string keys or a failing
    // custom `Serialize`; these types have neither, so the fallback is
    // unreachable, but it is still a valid event rather than a panic.
    serde_json::to_string(value).unwrap_or_else(|_| {
        r#"{"type":"error","error":{"code":"internal","message":"the message could not be encoded"}}"#
            .to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ExitReason;
    use serde_json::{Value, json};

    fn value(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn client_messages_parse() {
        let cases = [
            (
                r#"{"type":"input","data":"ls\r"}"#,
                ClientMessage::Input {
                    data: "ls\r".into(),
                },
            ),
            (
                r#"{"type":"resize","cols":120,"rows":40}"#,
                ClientMessage::Resize {
                    cols: 120,
                    rows: 40,
                },
            ),
            (
                r#"{"type":"signal","signal":"SIGINT"}"#,
                ClientMessage::Signal {
                    signal: "SIGINT".into(),
                },
            ),
            (r#"{"type":"pause"}"#, ClientMessage::Pause),
            (r#"{"type":"resume"}"#, ClientMessage::Resume),
            (r#" { "type" : "ping" } "#, ClientMessage::Ping),
        ];
        for (text, expected) in cases {
            assert_eq!(decode_client(text).unwrap(), expected, "{text}");
            assert_eq!(value(&encode_client(&expected)), value(text));
        }
    }

    #[test]
    fn seed_style_messages_parse() {
        assert_eq!(
            decode_client(r#"{"type":"command","content":"ls -l"}"#).unwrap(),
            ClientMessage::Command {
                content: "ls -l".into()
            }
        );
        assert_eq!(
            decode_client(r#"{"type":"interrupt"}"#).unwrap(),
            ClientMessage::Interrupt
        );
        assert_eq!(
            decode_client(r#"{"type":"status"}"#).unwrap(),
            ClientMessage::Status
        );
    }

    #[test]
    fn unknown_fields_and_types_are_refused() {
        let err = decode_client(r#"{"type":"input","data":"x","extra":1}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `extra`"), "{err}");
        for text in [
            r#"{"type":"ping","extra":1}"#,
            r#"{"type":"pause","data":""}"#,
            r#"{"type":"status","verbose":true}"#,
            r#"{"type":"bogus"}"#,
            r#"{"type":"Input","data":"x"}"#,
            r#"{"data":"x"}"#,
            r#"{"type":"input"}"#,
            r#"{"type":"resize","cols":-1,"rows":2}"#,
            r#"{"type":"resize","cols":"80","rows":24}"#,
            r#"{"type":"input","data":"x"} x"#,
        ] {
            assert!(
                matches!(decode_client(text), Err(DecodeError::Json { .. })),
                "{text}"
            );
        }
        assert_eq!(
            decode_client(r#"["input","x"]"#),
            Err(DecodeError::NotAnObject)
        );
        assert_eq!(decode_client("ls -l"), Err(DecodeError::NotAnObject));
        assert_eq!(decode_client(""), Err(DecodeError::Empty));
    }

    #[test]
    fn resize_accepts_out_of_range_numbers() {
        assert_eq!(
            decode_client(r#"{"type":"resize","cols":100000,"rows":0}"#).unwrap(),
            ClientMessage::Resize {
                cols: 100_000,
                rows: 0
            }
        );
    }

    #[test]
    fn server_events_have_the_documented_shape() {
        let session = crate::fixtures::session();
        let hello = ServerEvent::Hello {
            session: session.clone(),
            readonly: false,
            offset: 10,
            resumed: false,
            snapshot_bytes: 300,
        };
        let v = value(&encode_event(&hello));
        assert_eq!(v["type"], "hello");
        assert_eq!(v["session"]["id"], session.id);
        assert_eq!(
            (v["offset"].as_u64(), v["snapshot_bytes"].as_u64()),
            (Some(10), Some(300))
        );
        let cases = [
            (
                ServerEvent::Resize { cols: 80, rows: 24 },
                json!({"type":"resize","cols":80,"rows":24}),
            ),
            (
                ServerEvent::Title {
                    title: "vim".into(),
                },
                json!({"type":"title","title":"vim"}),
            ),
            (
                ServerEvent::Lagged {
                    dropped_bytes: 5,
                    offset: 9,
                    snapshot_bytes: 7,
                },
                json!({"type":"lagged","dropped_bytes":5,"offset":9,"snapshot_bytes":7}),
            ),
            (
                ServerEvent::Exit {
                    exit: ExitInfo {
                        code: Some(0),
                        signal: None,
                        reason: ExitReason::Exited,
                    },
                },
                json!({"type":"exit","exit":{"code":0,"signal":null,"reason":"exited"}}),
            ),
            (
                ServerEvent::error("read_only", "This client is read-only."),
                json!({"type":"error","error":{"code":"read_only","message":"This client is read-only."}}),
            ),
            (ServerEvent::Pong, json!({"type":"pong"})),
        ];
        for (event, expected) in cases {
            let text = encode_event(&event);
            assert_eq!(value(&text), expected);
            assert_eq!(decode_event(&text).unwrap(), event);
        }
        let status = ServerEvent::Status { session };
        assert_eq!(decode_event(&encode_event(&status)).unwrap(), status);
    }

    #[test]
    fn events_decode_leniently_but_need_a_known_type() {
        assert_eq!(
            decode_event(r#"{"type":"pong","server_time":1}"#).unwrap(),
            ServerEvent::Pong
        );
        assert!(decode_event(r#"{"type":"future_event"}"#).is_err());
        assert_eq!(decode_event("[]"), Err(DecodeError::NotAnObject));
    }
}
