//! Agent hooks: `POST /api/sessions/{id}/hook` (Claude Code's hook JSON,
//! Codex's `notify` JSON), authorised by the session's own hook token, and
//! what makes a session able to call it: `PTYHUB_URL`, `PTYHUB_SESSION_ID`
//! and `PTYHUB_HOOK_TOKEN` in its environment, and the preset's hook
//! arguments on its command line.
//!
//! The hook token is good for this one route of this one session: on any
//! other route it is not the server's token (401); on another session's
//! hook route it is refused (403).

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use ptyhub_core::{AgentSpec, SessionSpec};
use ptyhub_protocol::api::{AgentState, HookBody};
use warp::http::{HeaderMap, StatusCode};
use warp::{Filter, Rejection, Reply};

use crate::auth::{generate_token, token_from_authorization};
use crate::error::ApiError;
use crate::state::AppState;

/// The largest hook body: Claude Code's `PostToolUse` carries the tool's
/// output (a file read, say).
pub const MAX_HOOK_BYTES: usize = 1 << 20;

/// What sessions need to call their hook route.
#[derive(Debug, Default)]
pub struct HookSetup {
    /// The server's base URL (`http://127.0.0.1:PORT`), set once it listens.
    pub url: OnceLock<String>,
    /// The `ptyhub` program the presets' hooks run (`ptyhub hook`); `None`
    /// when this process is not it and none is next to it (the presets
    /// then run without hooks).
    pub program: Option<PathBuf>,
}

impl HookSetup {
    /// The setup of this process: itself when it is `ptyhub`, else a
    /// `ptyhub` next to it (tests run the server inside their own binary).
    pub fn detect() -> HookSetup {
        let exe = std::env::current_exe().ok();
        let program = exe.and_then(|exe| {
            let is_ptyhub = exe.file_name().is_some_and(|n| n == "ptyhub");
            let beside = exe.parent().map(|d| d.join("ptyhub"));
            let up = exe
                .parent()
                .and_then(|d| d.parent())
                .map(|d| d.join("ptyhub"));
            if is_ptyhub {
                Some(exe)
            } else {
                [beside, up].into_iter().flatten().find(|p| p.is_file())
            }
        });
        HookSetup {
            url: OnceLock::new(),
            program,
        }
    }
}

/// Gives a new session its id, hook token, environment, the provider's
/// agent patterns, and (claude, codex) the hook arguments.
pub fn prepare(state: &AppState, spec: &mut SessionSpec) {
    let id = ptyhub_core::agent::new_session_id();
    let provider = spec
        .provider
        .as_deref()
        .and_then(|p| state.providers.get(p));
    let token = match generate_token() {
        Ok(t) => Some(t),
        Err(e) => {
            tracing::warn!("no hook token for the session: {e}");
            None
        }
    };
    let mut vars = vec![("PTYHUB_SESSION_ID".to_owned(), id.to_string())];
    if let Some(url) = state.hooks.url.get() {
        vars.push(("PTYHUB_URL".to_owned(), url.clone()));
    }
    if let Some(t) = &token {
        vars.push(("PTYHUB_HOOK_TOKEN".to_owned(), t.clone()));
    }
    spec.env =
        std::mem::take(&mut spec.env).overlay(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if let (Some(kind), Some(program), Some(_)) =
        (provider.and_then(|p| p.hooks), &state.hooks.program, &token)
    {
        let at = 1.min(spec.argv.len());
        spec.argv.splice(at..at, kind.args(program));
    }
    spec.id = Some(id);
    spec.agent = AgentSpec {
        rules: provider.map(|p| p.agent.clone()).unwrap_or_default(),
        hook_token: token,
        detection_off: state.options.agent_detection_off,
    };
}

/// What a hook body says: the state and the detail.
pub fn interpret(body: &HookBody) -> Result<(AgentState, String), ApiError> {
    if let Some(event) = &body.hook_event_name {
        let state = match event.as_str() {
            "UserPromptSubmit" | "PreToolUse" | "PostToolUse" => AgentState::Busy,
            "Notification" => AgentState::Waiting,
            "Stop" => AgentState::Ready,
            other => {
                return Err(ApiError::bad_request(
                    "unknown_event",
                    format!(
                        "unknown hook event {other:?}: UserPromptSubmit, PreToolUse, \
                         PostToolUse, Notification or Stop"
                    ),
                ));
            }
        };
        let detail = match (state, &body.message) {
            (AgentState::Waiting, Some(message)) => message.clone(),
            _ => event.clone(),
        };
        return Ok((state, detail));
    }
    match body.kind.as_deref() {
        Some("agent-turn-complete") => Ok((AgentState::Ready, "agent-turn-complete".to_owned())),
        Some(other) => Err(ApiError::bad_request(
            "unknown_event",
            format!("unknown notify type {other:?}: agent-turn-complete"),
        )),
        None => Err(ApiError::bad_request(
            "unknown_event",
            "the body has neither hook_event_name (Claude Code) nor type (Codex)",
        )),
    }
}

fn reject(e: ApiError) -> Rejection {
    warp::reject::custom(e)
}

/// Checks the request's credentials for `session`'s hook route.
fn authorize(
    state: &AppState,
    session: &ptyhub_core::Session,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<(), ApiError> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let host = get("host");
    state.policy.check_host(host)?;
    state.policy.check_origin(get("origin"), host)?;
    if let Some(token) = get("authorization").and_then(token_from_authorization) {
        if session.is_hook_token(token) {
            return Ok(());
        }
        if state.registry.list().iter().any(|s| s.is_hook_token(token)) {
            return Err(ApiError::forbidden(
                "hook_token_forbidden",
                "this hook token belongs to another session",
            ));
        }
    }
    // The server's own token is good here too.
    state.policy.authorize_headers(headers, query).map(|_| ())
}

/// The answer to a hook body over [`MAX_HOOK_BYTES`]: a 400 (not the other
/// routes' 413).
fn too_large() -> ApiError {
    ApiError::bad_request(
        "body_too_large",
        format!("a hook body is at most {MAX_HOOK_BYTES} bytes"),
    )
}

/// `POST /api/sessions/{id}/hook` → 204.
pub fn route(
    state: Arc<AppState>,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone {
    let query = warp::query::raw()
        .map(Some)
        .or(warp::any().map(|| None))
        .unify();
    warp::path!("api" / "sessions" / String / "hook")
        .and(warp::post())
        .and(warp::header::headers_cloned())
        .and(query)
        .and(warp::body::stream())
        .and(warp::any().map(move || state.clone()))
        .and_then(
            |id: String, headers: HeaderMap, query: Option<String>, body, state: Arc<AppState>| async move {
                let session = state.registry.get(&id).map_err(|e| reject(e.into()))?;
                authorize(&state, &session, &headers, query.as_deref()).map_err(reject)?;
                // The same reader as every other body (the same bound in
                // time, 408 past it), with the hook's own answer past its size.
                let read =
                    crate::routes::read_body(&headers, body, MAX_HOOK_BYTES, too_large).await;
                let bytes = match read {
                    Ok(bytes) => bytes,
                    // A refused body may not have been read to its end (too
                    // large to drain, or on a timeout): the connection ends
                    // after the answer, and says so (a client must not send
                    // its next request on it).
                    Err(e) => {
                        let mut r = e.into_response();
                        r.headers_mut().insert(
                            warp::http::header::CONNECTION,
                            warp::http::HeaderValue::from_static("close"),
                        );
                        return Ok(r);
                    }
                };
                let parsed: HookBody = serde_json::from_slice(&bytes).map_err(|e| {
                    reject(ApiError::bad_request(
                        "invalid_json",
                        format!("the hook body is not a JSON object: {e}"),
                    ))
                })?;
                let (agent_state, detail) = interpret(&parsed).map_err(reject)?;
                session
                    .agent_hook(agent_state, Some(&detail))
                    .await
                    .map_err(|e| reject(e.into()))?;
                Ok::<_, Rejection>(
                    warp::reply::with_status(warp::reply(), StatusCode::NO_CONTENT).into_response(),
                )
            },
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &str) -> HookBody {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn claude_and_codex_bodies_map_to_states() {
        let claude = |e: &str| {
            interpret(&body(&format!(
                r#"{{"session_id":"x","transcript_path":"/t","cwd":"/","hook_event_name":"{e}","tool_name":"Bash","tool_input":{{}}}}"#
            )))
            .map(|(s, _)| s)
        };
        assert_eq!(claude("UserPromptSubmit").unwrap(), AgentState::Busy);
        assert_eq!(claude("PreToolUse").unwrap(), AgentState::Busy);
        assert_eq!(claude("PostToolUse").unwrap(), AgentState::Busy);
        assert_eq!(claude("Stop").unwrap(), AgentState::Ready);
        assert!(claude("Nope").is_err());
        let (s, d) = interpret(&body(
            r#"{"hook_event_name":"Notification","message":"Claude needs your permission to use Bash"}"#,
        ))
        .unwrap();
        assert_eq!(s, AgentState::Waiting);
        assert_eq!(d, "Claude needs your permission to use Bash");
        let (s, _) = interpret(&body(
            r#"{"type":"agent-turn-complete","thread-id":"t","turn-id":"1","input-messages":["hi"],"last-assistant-message":"done"}"#,
        ))
        .unwrap();
        assert_eq!(s, AgentState::Ready);
        assert!(interpret(&body(r#"{"type":"other"}"#)).is_err());
        assert!(interpret(&body(r#"{}"#)).is_err());
    }
}
