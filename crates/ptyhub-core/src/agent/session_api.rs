//! The agent face of [`Session`]: its state, following it, hook events.

use ptyhub_protocol::api::{AgentInfo, AgentState};
use tokio::sync::watch;

use super::{AgentInput, clean_detail};
use crate::CoreError;
use crate::session::Session;

impl Session {
    /// The agent state now.
    pub fn agent(&self) -> AgentInfo {
        self.agent.info.borrow().clone()
    }

    /// Follows the agent state (for `/wait`, WebSocket clients and
    /// recorders: every change of state, source, detail or count).
    pub fn subscribe_agent(&self) -> watch::Receiver<AgentInfo> {
        self.agent.info.subscribe()
    }

    /// Whether `token` is this session's hook token (compared in constant
    /// time).
    pub fn is_hook_token(&self, token: &str) -> bool {
        self.agent
            .spec
            .hook_token
            .as_deref()
            .is_some_and(|t| constant_time_eq(t.as_bytes(), token.as_bytes()))
    }

    /// A hook event says the state; `detail` is the event's name or text.
    /// Waits while the agent task is behind (its queue is bounded).
    pub async fn agent_hook(
        &self,
        state: AgentState,
        detail: Option<&str>,
    ) -> Result<(), CoreError> {
        let input = AgentInput::Hook {
            state,
            detail: detail.map(clean_detail).filter(|d| !d.is_empty()),
        };
        self.agent
            .inputs
            .send(input)
            .await
            .map_err(|_| CoreError::Ended)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
