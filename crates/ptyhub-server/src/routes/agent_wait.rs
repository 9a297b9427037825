//! `POST /api/sessions/{id}/wait` with `agent_state`: wait until the
//! session's agent state is the one asked for.

use std::time::Duration;

use ptyhub_core::Session;
use ptyhub_protocol::api::{AgentState, WaitAgentResponse, WaitRequest};

use crate::error::ApiError;

/// The longest wait (10 minutes), as for a screen pattern.
const MAX_WAIT: Duration = Duration::from_secs(600);

pub(crate) async fn wait_for_agent(
    s: &Session,
    want: AgentState,
    req: WaitRequest,
) -> Result<WaitAgentResponse, ApiError> {
    if req.pattern.is_some() {
        return Err(ApiError::bad_request(
            "bad_request",
            "give pattern or agent_state, not both",
        ));
    }
    let timeout = Duration::from_millis(req.timeout_ms.unwrap_or(30_000));
    if timeout > MAX_WAIT {
        return Err(ApiError::bad_request(
            "bad_request",
            "timeout_ms is at most 600000 (10 minutes)",
        ));
    }
    let mut agent = s.subscribe_agent();
    let mut changes = s.subscribe_changes();
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let now = agent.borrow_and_update().clone();
        if now.state == want {
            return Ok(WaitAgentResponse {
                matched: true,
                agent: now,
            });
        }
        if s.is_ended() {
            return Err(ApiError::conflict(
                "not_running",
                format!("the session ended while {}, not {want}", now.state),
            ));
        }
        tokio::select! {
            _ = agent.changed() => {}
            _ = changes.changed() => {}
            () = tokio::time::sleep_until(deadline) => {
                return Err(ApiError::Timeout {
                    message: format!("the agent state was not {want} within {} ms (it is {})", timeout.as_millis(), now.state),
                });
            }
        }
    }
}
