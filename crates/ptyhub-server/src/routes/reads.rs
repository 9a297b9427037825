//! The routes that follow a session: `/wait` on its screen, `/output` by
//! offset (long-polled), and the `/api/events` stream.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use ptyhub_core::{RegistryEvent, Session};
use ptyhub_protocol::api::{OutputResponse, WaitRequest, WaitResponse};
use warp::Reply;
use warp::http::{HeaderMap, HeaderValue, StatusCode, header};
use warp::reply::Response;

use super::json;
use crate::cluster::forward::FORWARDED;
use crate::error::ApiError;
use crate::state::AppState;

/// Longest `/wait` pattern.
const MAX_PATTERN_BYTES: usize = 1024;
/// Longest `/wait`.
const MAX_WAIT: Duration = Duration::from_secs(600);

pub(super) async fn wait_for_screen(
    s: &Session,
    req: WaitRequest,
) -> Result<WaitResponse, ApiError> {
    let Some(pattern) = req.pattern.clone() else {
        return Err(ApiError::bad_request(
            "bad_request",
            "give pattern (a regex) or agent_state",
        ));
    };
    if pattern.len() > MAX_PATTERN_BYTES {
        return Err(ApiError::bad_request(
            "invalid_pattern",
            format!("a pattern is at most {MAX_PATTERN_BYTES} bytes"),
        ));
    }
    let re = regex::RegexBuilder::new(&pattern)
        .size_limit(1 << 20)
        .dfa_size_limit(1 << 20)
        .build()
        .map_err(|e| ApiError::bad_request("invalid_pattern", e.to_string()))?;
    let timeout = Duration::from_millis(req.timeout_ms.unwrap_or(30_000));
    if timeout > MAX_WAIT {
        return Err(ApiError::bad_request(
            "bad_request",
            "timeout_ms is at most 600000 (10 minutes)",
        ));
    }
    let deadline = tokio::time::Instant::now() + timeout;
    let mut progress = s.subscribe_screen();
    let mut changes = s.subscribe_changes();
    loop {
        progress.mark_unchanged();
        let (lines, ..) = s.screen_text();
        if let Some((row, line)) = lines.iter().enumerate().find(|(_, l)| re.is_match(l)) {
            return Ok(WaitResponse {
                matched: true,
                line: line.clone(),
                row,
            });
        }
        if s.is_ended() && s.output_complete() && *progress.borrow() >= s.bytes_in_out().1 {
            return Err(ApiError::conflict(
                "not_running",
                "the session ended before the screen matched",
            ));
        }
        tokio::select! {
            _ = progress.changed() => {}
            _ = changes.changed() => {}
            () = tokio::time::sleep_until(deadline) => {
                return Err(ApiError::Timeout { message: format!("the screen did not match {:?} within {} ms", pattern, timeout.as_millis()) });
            }
        }
    }
}

/// How many trailing bytes form a UTF-8 character still arriving.
fn incomplete_utf8_tail(bytes: &[u8]) -> usize {
    for back in 1..=3.min(bytes.len()) {
        let b = bytes[bytes.len() - back];
        if b & 0xC0 == 0x80 {
            continue; // continuation byte: look further back
        }
        let need = match b {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        return if need > back { back } else { 0 };
    }
    0
}

/// A non-negative integer query parameter, if present.
pub(crate) fn query_u64(q: &BTreeMap<String, String>, key: &str) -> Result<Option<u64>, ApiError> {
    q.get(key)
        .map(|v| {
            v.parse::<u64>().map_err(|_| {
                ApiError::bad_request(
                    "bad_request",
                    format!("{key} must be a non-negative integer"),
                )
            })
        })
        .transpose()
}

/// Most bytes one `/output` call returns.
const MAX_OUTPUT_BYTES: usize = 1 << 20;

pub(super) async fn read_output(
    s: &Session,
    q: &BTreeMap<String, String>,
) -> Result<Response, ApiError> {
    let num = |key: &str| query_u64(q, key);
    let since = num("since")?;
    let wait = Duration::from_millis(num("wait_ms")?.unwrap_or(0)).min(Duration::from_secs(60));
    let raw = match q.get("format").map(String::as_str) {
        None | Some("json") => false,
        Some("raw") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                "bad_request",
                format!("unknown format {other:?}: json or raw"),
            ));
        }
    };
    let mut live = s.subscribe_output();
    if let Some(since) = since
        && !wait.is_zero()
    {
        let deadline = tokio::time::Instant::now() + wait;
        while *live.borrow_and_update() <= since && !s.output_complete() {
            if tokio::time::timeout_at(deadline, live.changed())
                .await
                .is_err()
            {
                break;
            }
        }
    }
    let (from, mut to, mut data, truncated) = s.read_output(since, MAX_OUTPUT_BYTES);
    let complete = s.output_complete();
    if !complete || (to - from) as usize == MAX_OUTPUT_BYTES {
        let cut = incomplete_utf8_tail(&data);
        data.truncate(data.len() - cut);
        to -= cut as u64;
    }
    if raw {
        let mut r = Response::new(data.into());
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        h.insert("ptyhub-from", HeaderValue::from(from));
        h.insert("ptyhub-to", HeaderValue::from(to));
        return Ok(r);
    }
    let body = OutputResponse {
        from,
        to,
        data: String::from_utf8_lossy(&data).into_owned(),
        truncated,
        status: s.status(),
    };
    Ok(json(StatusCode::OK, &body))
}

/// `GET /api/events`. `[cluster]`: a request forwarded by another node
/// (which merges every node's events itself) gets this node's own
/// `session_preview` events only; any other gets the other nodes'
/// previews too.
pub(super) fn events(
    state: Arc<AppState>,
    preview_lines: Option<usize>,
    headers: &HeaderMap,
) -> Response {
    use futures::StreamExt;
    let own = preview_lines.map(|n| super::previews::stream(state.clone(), n));
    if headers.contains_key(FORWARDED) {
        let own = match own {
            Some(own) => own.left_stream(),
            None => futures::stream::pending().right_stream(),
        };
        return warp::sse::reply(warp::sse::keep_alive().stream(own)).into_response();
    }
    let others = match (&state.cluster, preview_lines) {
        (Some(cluster), Some(n)) => {
            let base = state.options.base_path.clone();
            let others =
                crate::cluster::previews::stream(cluster.clone(), headers.clone(), base, n)
                    .map(|e| Ok(warp::sse::Event::default().event(e.name).data(e.data)));
            Some(others)
        }
        _ => None,
    };
    let previews = match (own, others) {
        (Some(own), Some(others)) => Some(futures::stream::select(own, others).left_stream()),
        (Some(own), None) => Some(own.right_stream()),
        _ => None,
    };
    let rx = state.registry.subscribe();
    let stop = state.shutdown.clone();
    // `[cluster]`: the other nodes' events too.
    let remote = state.cluster.as_ref().map(|c| c.remote_events.subscribe());
    let stream = futures::stream::unfold((rx, remote, stop), |(mut rx, mut remote, stop)| {
        async move {
            loop {
                let event = tokio::select! {
                    () = stop.cancelled() => return None,
                    e = rx.recv() => e,
                    e = async {
                        match remote.as_mut() {
                            Some(remote) => remote.recv().await,
                            None => std::future::pending().await,
                        }
                    }, if remote.is_some() => match e {
                        Ok(e) => {
                            let event = warp::sse::Event::default().event(e.name).data(e.data);
                            return Some((Ok::<_, Infallible>(event), (rx, remote, stop)));
                        }
                        // A slow reader missed events: it re-reads the listing.
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                            let event = warp::sse::Event::default().event("resync").data("{}");
                            return Some((Ok(event), (rx, remote, stop)));
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                            remote = None;
                            continue;
                        }
                    },
                };
                let (name, data) = match event {
                    Ok(RegistryEvent::Created(info)) => {
                        ("session_created", serde_json::to_string(&info))
                    }
                    Ok(RegistryEvent::Status(info)) => {
                        ("session_status", serde_json::to_string(&info))
                    }
                    Ok(RegistryEvent::Exit(info)) => ("session_exit", serde_json::to_string(&info)),
                    Ok(RegistryEvent::Agent(info)) => (
                        "session_agent",
                        serde_json::to_string(&serde_json::json!({"session": info})),
                    ),
                    Ok(RegistryEvent::Notification {
                        session,
                        title,
                        body,
                    }) => (
                        "session_notification",
                        serde_json::to_string(
                            &serde_json::json!({"session": session, "title": title, "body": body}),
                        ),
                    ),
                    Ok(RegistryEvent::Removed { id }) => (
                        "session_removed",
                        serde_json::to_string(&serde_json::json!({"id": id})),
                    ),
                    // A slow reader missed events: it should re-read the listing.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        ("resync", Ok("{}".to_owned()))
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                };
                let Ok(data) = data else { continue };
                let event = warp::sse::Event::default().event(name).data(data);
                return Some((Ok::<_, Infallible>(event), (rx, remote, stop)));
            }
        }
    });
    let stream = match previews {
        Some(previews) => futures::stream::select(stream, previews).left_stream(),
        None => stream.right_stream(),
    };
    warp::sse::reply(warp::sse::keep_alive().stream(stream)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_tails() {
        assert_eq!(incomplete_utf8_tail(b"abc"), 0);
        assert_eq!(incomplete_utf8_tail("é".as_bytes()), 0);
        assert_eq!(incomplete_utf8_tail(&"中".as_bytes()[..2]), 2);
        assert_eq!(incomplete_utf8_tail(&"中".as_bytes()[..1]), 1);
        assert_eq!(incomplete_utf8_tail(&"😀".as_bytes()[..3]), 3);
        assert_eq!(incomplete_utf8_tail(b"a\xff"), 0);
    }
}
