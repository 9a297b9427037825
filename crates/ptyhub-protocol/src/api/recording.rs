//! Recordings: the `recording` field of the session object and the bodies
//! of `GET /api/recordings`.

use serde::{Deserialize, Serialize};

/// Where a session's recording stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordingState {
    /// Being written (and, once the session ended, complete).
    On,
    /// Ended early at `record_max_bytes`; the session goes on.
    Stopped,
    /// Could not be written (unwritable directory, full disk); the session
    /// goes on.
    Failed,
}

impl RecordingState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordingState::On => "on",
            RecordingState::Stopped => "stopped",
            RecordingState::Failed => "failed",
        }
    }
}

/// The session object's `recording` (`null` when the session is not
/// recorded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecordingInfo {
    /// On, stopped or failed.
    pub state: RecordingState,
    /// The file's size so far.
    pub bytes: u64,
    /// Why it failed or stopped; `None` while on.
    pub error: Option<String>,
}

/// One recording in `GET /api/recordings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecordingEntry {
    /// The recorded session's id (also the recording's).
    pub id: String,
    /// The session's name, if it had one.
    pub name: Option<String>,
    /// The provider it was started from.
    pub provider: Option<String>,
    /// When the session was created (RFC 3339, UTC).
    pub started_at: String,
    /// When the last line was written, once the session has ended (RFC
    /// 3339, UTC); `None` while it is still recorded.
    pub ended_at: Option<String>,
    /// The file's size.
    pub bytes: u64,
    /// The terminal's width at the start (as in the header).
    pub cols: u16,
    /// The terminal's height at the start.
    pub rows: u16,
    /// The node whose `recordings_dir` holds the file, when several
    /// machines form one service (`[cluster]`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

/// `GET /api/recordings`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecordingList {
    /// Newest first.
    pub recordings: Vec<RecordingEntry>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_info_shape() {
        let info = RecordingInfo {
            state: RecordingState::Failed,
            bytes: 0,
            error: Some("Permission denied".to_owned()),
        };
        assert_eq!(
            serde_json::to_value(&info).unwrap(),
            serde_json::json!({"state": "failed", "bytes": 0, "error": "Permission denied"})
        );
        for s in [
            RecordingState::On,
            RecordingState::Stopped,
            RecordingState::Failed,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }
}
