//! Response bodies: errors, screen, output, waits, lists.

use serde::{Deserialize, Serialize};

use super::{SessionInfo, SessionStatus};

/// Every error response: `{"error": {"code": ..., "message": ...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error itself.
    pub error: ErrorDetail,
}

impl ErrorBody {
    /// An error body with a snake_case `code` and a human `message`.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        ErrorBody {
            error: ErrorDetail::new(code, message),
        }
    }
}

/// An error's code and message (also the `error` WebSocket event's payload).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A stable snake_case code that programs branch on (`unknown_provider`).
    pub code: String,
    /// A human sentence; it never contains the token.
    pub message: String,
}

impl ErrorDetail {
    /// An error with a snake_case `code` and a human `message`.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        ErrorDetail {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// A position on the screen, counted from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Cursor {
    /// The row, 0 at the top.
    pub row: u16,
    /// The column, 0 at the left.
    pub col: u16,
}

/// `GET /api/sessions/{id}/screen`: the current screen.
///
/// Exactly one of `lines` (default) and `ansi` (`?format=ansi`) is present;
/// the other is left out of the JSON. Build it with [`ScreenResponse::text`]
/// or [`ScreenResponse::ansi`] to keep that so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScreenResponse {
    /// Width in columns.
    pub cols: u16,
    /// Height in rows.
    pub rows: u16,
    /// Where the cursor is.
    pub cursor: Cursor,
    /// The window title, `null` when none was set.
    pub title: Option<String>,
    /// One string per row, trailing blanks trimmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<String>>,
    /// Escape codes that redraw the screen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ansi: Option<String>,
}

impl ScreenResponse {
    /// The plain-text form, with `lines`.
    pub fn text(
        cols: u16,
        rows: u16,
        cursor: Cursor,
        title: Option<String>,
        lines: Vec<String>,
    ) -> Self {
        ScreenResponse {
            cols,
            rows,
            cursor,
            title,
            lines: Some(lines),
            ansi: None,
        }
    }

    /// The escape-coded form, with `ansi`.
    pub fn ansi(cols: u16, rows: u16, cursor: Cursor, title: Option<String>, ansi: String) -> Self {
        ScreenResponse {
            cols,
            rows,
            cursor,
            title,
            lines: None,
            ansi: Some(ansi),
        }
    }
}

/// `GET /api/sessions/{id}/output`: raw output between two byte offsets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OutputResponse {
    /// The offset of the first byte of `data`.
    pub from: u64,
    /// The offset just after `data`: the `since` of the next call.
    pub to: u64,
    /// The bytes as UTF-8, invalid sequences replaced.
    pub data: String,
    /// The asked `since` was older than the scrollback: bytes were lost.
    pub truncated: bool,
    /// The session's status when answered.
    pub status: SessionStatus,
}

/// `POST /api/sessions/{id}/wait`, when the pattern matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WaitResponse {
    /// Always true here (a timeout is a 408 error).
    pub matched: bool,
    /// The screen line that matched, trailing blanks trimmed.
    pub line: String,
    /// Its row, 0 at the top.
    pub row: usize,
}

/// `POST /api/sessions/{id}/wait` with `agent_state`, when it was reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WaitAgentResponse {
    /// Always true here (a timeout is a 408 error).
    pub matched: bool,
    /// The session's agent state at that moment.
    pub agent: crate::api::AgentInfo,
}

/// `GET /api/sessions`: `{"sessions": [...]}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionList {
    /// Every session, ended ones that still linger included.
    pub sessions: Vec<SessionInfo>,
}

/// One provider in `GET /api/providers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProviderInfo {
    /// Its name, as given to `POST /api/sessions`.
    pub name: String,
    /// The program it runs.
    pub command: String,
    /// The program's arguments.
    pub args: Vec<String>,
    /// Whether the program was found (on `PATH` or as configured).
    pub available: bool,
    /// The program's version, when known.
    pub version: Option<String>,
}

/// `GET /api/providers`: `{"providers": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProviderList {
    /// Every configured provider, available or not.
    pub providers: Vec<ProviderInfo>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_body_shape() {
        let body = ErrorBody::new("unknown_provider", "There is no provider named \"x\".");
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"error": {"code": "unknown_provider",
                             "message": "There is no provider named \"x\"."}})
        );
    }

    #[test]
    fn screen_has_exactly_one_form() {
        let cursor = Cursor { row: 1, col: 2 };
        let text = ScreenResponse::text(80, 24, cursor, None, vec!["$".to_owned()]);
        let value = serde_json::to_value(&text).unwrap();
        assert_eq!(
            value,
            json!({"cols": 80, "rows": 24, "cursor": {"row": 1, "col": 2},
                   "title": null, "lines": ["$"]})
        );
        let ansi = ScreenResponse::ansi(80, 24, cursor, Some("t".into()), "\x1b[H".into());
        let value = serde_json::to_value(&ansi).unwrap();
        assert!(value.get("lines").is_none());
        assert_eq!(value["ansi"], "\x1b[H");
        let back: ScreenResponse = serde_json::from_value(value).unwrap();
        assert_eq!(back, ansi);
    }

    #[test]
    fn output_and_lists() {
        let out = OutputResponse {
            from: 0,
            to: 3,
            data: "a\u{fffd}b".to_owned(),
            truncated: false,
            status: SessionStatus::Exited,
        };
        let value = serde_json::to_value(&out).unwrap();
        assert_eq!(value["status"], "exited");
        let list = ProviderList {
            providers: vec![ProviderInfo {
                name: "shell".into(),
                command: "/bin/bash".into(),
                args: vec![],
                available: true,
                version: None,
            }],
        };
        assert_eq!(
            serde_json::to_value(&list).unwrap(),
            json!({"providers": [{"name": "shell", "command": "/bin/bash", "args": [],
                                  "available": true, "version": null}]})
        );
        let sessions = SessionList {
            sessions: vec![crate::fixtures::session()],
        };
        let text = serde_json::to_string(&sessions).unwrap();
        assert_eq!(
            serde_json::from_str::<SessionList>(&text).unwrap(),
            sessions
        );
    }

    #[test]
    fn responses_decode_leniently() {
        let wait: WaitResponse =
            serde_json::from_str(r#"{"matched":true,"line":"$ ","row":3,"new":1}"#).unwrap();
        assert_eq!(wait.row, 3);
    }
}
