//! Request bodies. Each rejects unknown fields; `null` equals absent.
//!
//! Numbers that have a range (`cols`, `rows`) are `u32` so that `100000`
//! decodes and the caller answers "out of range"; a negative number, a
//! float or a string is a decode error.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ResizePolicy;

/// `POST /api/sessions`: start a session from a provider or a command.
///
/// Neither `provider` nor `command` means the default provider (`shell`);
/// which combinations are allowed is the server's policy.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSessionRequest {
    /// The provider's name (`"shell"`, `"claude"`, ...).
    pub provider: Option<String>,
    /// An arbitrary argv, only when the config allows it.
    pub command: Option<Vec<String>>,
    /// A human name.
    pub name: Option<String>,
    /// The working directory.
    pub cwd: Option<String>,
    /// Extra environment variables.
    pub env: Option<BTreeMap<String, String>>,
    /// Initial width in columns (1 to 1000).
    pub cols: Option<u32>,
    /// Initial height in rows (1 to 1000).
    pub rows: Option<u32>,
    /// Free key/value labels.
    pub labels: Option<BTreeMap<String, String>>,
    /// The resize policy; the config's default when absent.
    pub resize_policy: Option<ResizePolicy>,
    /// The node to start it on, when several machines form one service;
    /// the node that got the request when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Record it (over the provider's and the server's `record`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<bool>,
}

/// `PATCH /api/sessions/{id}`: change what is given, keep the rest.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchSessionRequest {
    /// The new name: absent keeps it, `null` removes it.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub name: Option<Option<String>>,
    /// The new labels (they replace the old ones as a whole).
    pub labels: Option<BTreeMap<String, String>>,
    /// The new resize policy.
    pub resize_policy: Option<ResizePolicy>,
}

/// A field that is present, even as `null` (`Some(None)`), as opposed to
/// absent (`None`, from `#[serde(default)]`).
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// `POST /api/sessions/{id}/input` as JSON: text to write to the terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InputRequest {
    /// The text, written as its UTF-8 bytes, with no newline added.
    pub data: String,
}

/// `POST /api/sessions/{id}/resize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResizeRequest {
    /// Width in columns; the caller refuses values outside 1 to 1000.
    pub cols: u32,
    /// Height in rows; the caller refuses values outside 1 to 1000.
    pub rows: u32,
}

/// `POST /api/sessions/{id}/signal`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignalRequest {
    /// The signal's name, such as `"SIGINT"`; the caller checks it against
    /// the allowed list.
    pub signal: String,
}

/// `POST /api/sessions/{id}/wait`: wait until the screen matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitRequest {
    /// A regular expression matched against each screen line.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Instead of `pattern`: wait until the session's agent state is this.
    #[serde(default)]
    pub agent_state: Option<crate::api::AgentState>,
    /// How long to wait, in milliseconds; the server's default when absent.
    pub timeout_ms: Option<u64>,
}

/// `POST /api/sessions/{id}/hook`: what Claude Code passes to a hook
/// command on stdin, or what Codex passes to its `notify` program. Other
/// fields of these bodies are accepted and ignored (the one exception to
/// the unknown-fields rule).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HookBody {
    /// Claude Code: `UserPromptSubmit`, `PreToolUse`, `PostToolUse`,
    /// `Notification`, `Stop`, ...
    #[serde(default)]
    pub hook_event_name: Option<String>,
    /// Codex `notify`: `agent-turn-complete`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Claude Code's `Notification` text.
    #[serde(default)]
    pub message: Option<String>,
    /// Codex: the last thing the agent said.
    #[serde(default, rename = "last-assistant-message")]
    pub last_assistant_message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::decode_body;

    #[test]
    fn create_accepts_the_documented_shapes() {
        let req: CreateSessionRequest = decode_body(br#"{"provider": "shell"}"#).unwrap();
        assert_eq!(req.provider.as_deref(), Some("shell"));
        let req: CreateSessionRequest = decode_body(
            br#"{"command": ["bash", "-l"], "name": "build", "cwd": "/tmp",
                 "env": {"A": "1"}, "cols": 120, "rows": 40,
                 "labels": {"team": "x"}, "resize_policy": "smallest"}"#,
        )
        .unwrap();
        assert_eq!(req.command, Some(vec!["bash".to_owned(), "-l".to_owned()]));
        assert_eq!(req.cols, Some(120));
        assert_eq!(req.resize_policy, Some(ResizePolicy::Smallest));
        let req: CreateSessionRequest = decode_body(b"{}").unwrap();
        assert_eq!(req, CreateSessionRequest::default());
        let req: CreateSessionRequest = decode_body(br#"{"name": null}"#).unwrap();
        assert_eq!(req.name, None);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err =
            decode_body::<CreateSessionRequest>(br#"{"provider":"shell","tty":true}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `tty`"), "{err}");
        assert!(decode_body::<PatchSessionRequest>(br#"{"status":"idle"}"#).is_err());
        assert!(decode_body::<InputRequest>(br#"{"data":"x","enter":true}"#).is_err());
        assert!(decode_body::<ResizeRequest>(br#"{"cols":1,"rows":1,"x":0}"#).is_err());
        assert!(decode_body::<SignalRequest>(br#"{"signal":"SIGINT","pid":1}"#).is_err());
        assert!(decode_body::<WaitRequest>(br#"{"pattern":"x","timeout":1}"#).is_err());
    }

    #[test]
    fn resize_range_is_the_callers_but_types_are_ours() {
        let req: ResizeRequest = decode_body(br#"{"cols": 100000, "rows": 0}"#).unwrap();
        assert_eq!((req.cols, req.rows), (100_000, 0));
        for bad in [
            &br#"{"cols": -1, "rows": 24}"#[..],
            br#"{"cols": "80", "rows": 24}"#,
            br#"{"cols": 80.5, "rows": 24}"#,
            br#"{"cols": 80}"#,
            br#"{"cols": 4294967296, "rows": 24}"#,
        ] {
            assert!(decode_body::<ResizeRequest>(bad).is_err());
        }
    }

    #[test]
    fn wait_and_patch() {
        let req: WaitRequest = decode_body(br#"{"pattern": "\\$ $"}"#).unwrap();
        assert_eq!(
            (req.pattern.as_deref(), req.timeout_ms),
            (Some("\\$ $"), None)
        );
        let req: PatchSessionRequest = decode_body(br#"{"resize_policy": "fixed"}"#).unwrap();
        assert_eq!(req.name, None, "absent: kept");
        assert_eq!(req.resize_policy, Some(ResizePolicy::Fixed));
        let req: PatchSessionRequest = decode_body(br#"{"name": null}"#).unwrap();
        assert_eq!(req.name, Some(None), "null: removed");
        let req: PatchSessionRequest = decode_body(br#"{"name": "x"}"#).unwrap();
        assert_eq!(req.name, Some(Some("x".into())));
        assert!(decode_body::<PatchSessionRequest>(br#"{"name": 3}"#).is_err());
        assert!(decode_body::<PatchSessionRequest>(br#"{"resize_policy": "auto"}"#).is_err());
    }
}
