//! The agent state of a session (`agent` in the session object): whether
//! the program works, asks the user something, or waits for a prompt, and
//! which signal said so.

use serde::{Deserialize, Serialize};

/// What the program is doing, as far as the server can tell.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AgentState {
    /// It is working.
    Busy,
    /// It asks the user something (a permission prompt, a question, a
    /// notification).
    Waiting,
    /// Its turn is over; it waits for the next prompt.
    Ready,
    /// No signal yet.
    #[default]
    Unknown,
}

impl AgentState {
    /// Every state, in the order dashboards list them.
    pub const ALL: [AgentState; 4] = [
        AgentState::Waiting,
        AgentState::Busy,
        AgentState::Ready,
        AgentState::Unknown,
    ];

    /// The state's name as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentState::Busy => "busy",
            AgentState::Waiting => "waiting",
            AgentState::Ready => "ready",
            AgentState::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for AgentState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AgentState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AgentState::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| format!("unknown agent state {s:?}: busy, waiting, ready or unknown"))
    }
}

/// Which signal decided the state, strongest first.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AgentSource {
    /// Output quiet (or not) for `agent_quiet`.
    Quiet,
    /// The provider's screen patterns.
    Screen,
    /// The provider's title patterns.
    Title,
    /// A terminal notification in the output (OSC 9, 777, 99, BEL, 9;4).
    Notification,
    /// A hook event posted by the program (`POST .../hook`).
    Hook,
}

/// `agent` in the session object.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgentInfo {
    /// The current state.
    pub state: AgentState,
    /// When it took this state (RFC 3339); `None` while `unknown`.
    #[serde(default)]
    pub since: Option<String>,
    /// The signal that decided it; `None` while `unknown`.
    #[serde(default)]
    pub source: Option<AgentSource>,
    /// The text behind it (a notification's text, the matched line, the
    /// hook's event name), at most 256 bytes; to be shown as text.
    #[serde(default)]
    pub detail: Option<String>,
    /// How many terminal notifications the program has sent.
    #[serde(default)]
    pub notifications: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_info_has_the_documented_shape() {
        let info = AgentInfo {
            state: AgentState::Busy,
            since: Some("2026-12-07T10:00:00Z".into()),
            source: Some(AgentSource::Screen),
            detail: Some("esc to interrupt".into()),
            notifications: 2,
        };
        assert_eq!(
            serde_json::to_value(&info).unwrap(),
            serde_json::json!({"state": "busy", "since": "2026-12-07T10:00:00Z",
                "source": "screen", "detail": "esc to interrupt", "notifications": 2})
        );
        assert_eq!("waiting".parse::<AgentState>(), Ok(AgentState::Waiting));
        assert!("idle".parse::<AgentState>().is_err());
        assert!(AgentSource::Hook > AgentSource::Notification);
        assert!(AgentSource::Title > AgentSource::Screen);
        assert!(AgentSource::Screen > AgentSource::Quiet);
    }
}
