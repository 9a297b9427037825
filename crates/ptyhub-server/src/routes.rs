//! The HTTP routes of spec section 3 on warp, and the pages of the web UI.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ptyhub_core::{RegistryEvent, Session};
use ptyhub_protocol::api::{
    self, CreateSessionRequest, Cursor, ExitReason, InputRequest, OutputResponse,
    PatchSessionRequest, ProviderList, ResizeRequest, ScreenResponse, SessionList, SignalRequest,
    WaitRequest, WaitResponse,
};
use ptyhub_pty::Signal;
use warp::http::{HeaderMap, HeaderValue, StatusCode, header};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::assets;
use crate::auth::{self, AuthInfo};
use crate::error::ApiError;
use crate::sessions::{check_labels, check_name, check_size, spec_from_request};
use crate::state::AppState;

/// Signals a client may send (spec section 3).
pub const ALLOWED_SIGNALS: &[Signal] = &[
    Signal::Int,
    Signal::Quit,
    Signal::Tstp,
    Signal::Cont,
    Signal::Hup,
    Signal::Term,
    Signal::Kill,
    Signal::Usr1,
    Signal::Usr2,
    Signal::Winch,
];

/// Parses a signal name a client sent, refusing those not allowed.
pub fn parse_signal(name: &str) -> Result<Signal, ApiError> {
    Signal::from_name(name)
        .filter(|s| ALLOWED_SIGNALS.contains(s))
        .ok_or_else(|| {
            let allowed: Vec<&str> = ALLOWED_SIGNALS.iter().map(|s| s.name()).collect();
            ApiError::bad_request(
                "unknown_signal",
                format!("signal {name:?} is not one of {}", allowed.join(", ")),
            )
        })
}

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

fn json<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
    warp::reply::with_status(warp::reply::json(body), status).into_response()
}

fn reject(e: ApiError) -> Rejection {
    warp::reject::custom(e)
}

fn with_state(
    state: Arc<AppState>,
) -> impl Filter<Extract = (Arc<AppState>,), Error = Infallible> + Clone {
    warp::any().map(move || state.clone())
}

fn body(limit: usize) -> impl Filter<Extract = (Bytes,), Error = Rejection> + Clone {
    warp::body::content_length_limit(limit as u64).and(warp::body::bytes())
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Rejection> {
    api::decode_body(bytes).map_err(|e| reject(ApiError::bad_request("bad_request", e.to_string())))
}

fn session(state: &AppState, id: &str) -> Result<Arc<Session>, Rejection> {
    state.registry.get(id).map_err(|e| reject(e.into()))
}

/// Every route, with the security headers and the error shape.
pub fn routes(state: Arc<AppState>) -> warp::filters::BoxedFilter<(Response,)> {
    let limit = state.options.max_message_bytes;
    let auth = auth::with_auth(state.policy.clone());
    let st = with_state(state.clone());

    let healthz = warp::path!("healthz")
        .and(warp::get())
        .map(|| json(StatusCode::OK, &serde_json::json!({"status": "ok"})));

    let providers = warp::path!("api" / "providers")
        .and(warp::get())
        .and(auth.clone())
        .and(st.clone())
        .and_then(|_: AuthInfo, state: Arc<AppState>| async move {
            // The first listing runs each program's `--version` (bounded,
            // then cached).
            state.providers.fetch_versions().await;
            let providers = state.providers.list().map(|p| p.info()).collect();
            Ok::<_, Rejection>(json(StatusCode::OK, &ProviderList { providers }))
        });

    let list = warp::path!("api" / "sessions")
        .and(warp::get())
        .and(auth.clone())
        .and(st.clone())
        .map(|_: AuthInfo, state: Arc<AppState>| {
            let sessions = state.registry.list().iter().map(|s| s.info()).collect();
            json(StatusCode::OK, &SessionList { sessions })
        });

    let create = warp::path!("api" / "sessions")
        .and(warp::post())
        .and(auth.clone())
        .and(st.clone())
        .and(body(limit))
        .and_then(
            |_: AuthInfo, state: Arc<AppState>, body: Bytes| async move {
                if state.shutdown.is_cancelled() {
                    return Err(reject(ApiError::ShuttingDown));
                }
                let req: CreateSessionRequest = decode(&body)?;
                let spec = spec_from_request(&state, req).map_err(reject)?;
                let session = state
                    .registry
                    .create(spec)
                    .await
                    .map_err(|e| reject(e.into()))?;
                tracing::info!(id = %session.id(), pid = session.pid(), "session started");
                Ok::<_, Rejection>(json(StatusCode::CREATED, &session.info()))
            },
        );

    let get = warp::path!("api" / "sessions" / String)
        .and(warp::get())
        .and(auth.clone())
        .and(st.clone())
        .and_then(|id: String, _: AuthInfo, state: Arc<AppState>| async move {
            Ok::<_, Rejection>(json(StatusCode::OK, &session(&state, &id)?.info()))
        });

    let patch = warp::path!("api" / "sessions" / String)
        .and(warp::patch())
        .and(auth.clone())
        .and(st.clone())
        .and(body(limit))
        .and_then(
            |id: String, _: AuthInfo, state: Arc<AppState>, body: Bytes| async move {
                let s = session(&state, &id)?;
                let req: PatchSessionRequest = decode(&body)?;
                if let Some(Some(name)) = &req.name {
                    check_name(name).map_err(reject)?;
                }
                if let Some(labels) = &req.labels {
                    check_labels(labels).map_err(reject)?;
                }
                if let Some(name) = req.name {
                    state
                        .registry
                        .rename(&s, name)
                        .map_err(|e| reject(ApiError::from(e)))?;
                }
                s.update(None, req.labels, req.resize_policy);
                Ok::<_, Rejection>(json(StatusCode::OK, &s.info()))
            },
        );

    let delete = warp::path!("api" / "sessions" / String)
        .and(warp::delete())
        .and(auth.clone())
        .and(st.clone())
        .and_then(|id: String, _: AuthInfo, state: Arc<AppState>| async move {
            let s = session(&state, &id)?;
            s.terminate(ExitReason::Deleted)
                .map_err(|e| reject(e.into()))?;
            Ok::<_, Rejection>(json(StatusCode::ACCEPTED, &s.info()))
        });

    let input =
        warp::path!("api" / "sessions" / String / "input")
            .and(warp::post())
            .and(auth.clone())
            .and(st.clone())
            .and(warp::header::optional::<String>("content-type"))
            .and(body(limit))
            .and_then(
                |id: String,
                 _: AuthInfo,
                 state: Arc<AppState>,
                 ctype: Option<String>,
                 body: Bytes| async move {
                    let s = session(&state, &id)?;
                    // Raw bytes when said so; else JSON whatever the label,
                    // as on every other route (`curl -d` says form data).
                    // Browsers cannot use this for cross-site requests: the
                    // Origin check refuses them before any route.
                    let raw = ctype.is_some_and(|t| t.starts_with("application/octet-stream"));
                    let data = if raw {
                        body
                    } else {
                        let req: InputRequest = decode(&body)?;
                        Bytes::from(req.data)
                    };
                    let n = data.len();
                    s.write_input(data).await.map_err(|e| reject(e.into()))?;
                    Ok::<_, Rejection>(json(StatusCode::OK, &serde_json::json!({"written": n})))
                },
            );

    let resize = warp::path!("api" / "sessions" / String / "resize")
        .and(warp::post())
        .and(auth.clone())
        .and(st.clone())
        .and(body(limit))
        .and_then(
            |id: String, _: AuthInfo, state: Arc<AppState>, body: Bytes| async move {
                let s = session(&state, &id)?;
                let req: ResizeRequest = decode(&body)?;
                let size = check_size(req.cols, req.rows).map_err(reject)?;
                s.resize(size).map_err(|e| reject(e.into()))?;
                Ok::<_, Rejection>(json(StatusCode::OK, &s.info()))
            },
        );

    let signal = warp::path!("api" / "sessions" / String / "signal")
        .and(warp::post())
        .and(auth.clone())
        .and(st.clone())
        .and(body(limit))
        .and_then(
            |id: String, _: AuthInfo, state: Arc<AppState>, body: Bytes| async move {
                let s = session(&state, &id)?;
                let req: SignalRequest = decode(&body)?;
                let sig = parse_signal(&req.signal).map_err(reject)?;
                s.signal(sig).map_err(|e| reject(e.into()))?;
                Ok::<_, Rejection>(json(
                    StatusCode::OK,
                    &serde_json::json!({"signal": sig.name()}),
                ))
            },
        );

    let screen = warp::path!("api" / "sessions" / String / "screen")
        .and(warp::get())
        .and(auth.clone())
        .and(st.clone())
        .and(warp::query::<BTreeMap<String, String>>())
        .and_then(|id: String, _: AuthInfo, state: Arc<AppState>, q: BTreeMap<String, String>| async move {
            let s = session(&state, &id)?;
            let (lines, (row, col), title, size) = s.screen_text();
            let cursor = Cursor { row, col };
            let title = Some(title).filter(|t| !t.is_empty());
            let body = match q.get("format").map(String::as_str) {
                None | Some("text") => ScreenResponse::text(size.cols, size.rows, cursor, title, lines),
                Some("ansi") => ScreenResponse::ansi(size.cols, size.rows, cursor, title, s.screen_ansi()),
                Some(other) => {
                    return Err(reject(ApiError::bad_request("bad_request", format!("unknown format {other:?}: text or ansi"))));
                }
            };
            Ok::<_, Rejection>(json(StatusCode::OK, &body))
        });

    let wait = warp::path!("api" / "sessions" / String / "wait")
        .and(warp::post())
        .and(auth.clone())
        .and(st.clone())
        .and(body(limit))
        .and_then(
            |id: String, _: AuthInfo, state: Arc<AppState>, body: Bytes| async move {
                let s = session(&state, &id)?;
                let req: WaitRequest = decode(&body)?;
                wait_for_screen(&s, req)
                    .await
                    .map(|r| json(StatusCode::OK, &r))
                    .map_err(reject)
            },
        );

    let output = warp::path!("api" / "sessions" / String / "output")
        .and(warp::get())
        .and(auth.clone())
        .and(st.clone())
        .and(warp::query::<BTreeMap<String, String>>())
        .and_then(|id: String, _: AuthInfo, state: Arc<AppState>, q: BTreeMap<String, String>| async move {
            let s = session(&state, &id)?;
            read_output(&s, &q).await.map_err(reject)
        });

    let events = warp::path!("api" / "events")
        .and(warp::get())
        .and(auth.clone())
        .and(st.clone())
        .map(|_: AuthInfo, state: Arc<AppState>| events(state));

    let metrics = warp::path!("metrics")
        .and(warp::get())
        .and(auth.clone())
        .and(st.clone())
        .map(|_: AuthInfo, state: Arc<AppState>| {
            let text = crate::metrics::render(&state);
            let mut r = Response::new(text.into());
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4"),
            );
            r
        });

    let ws = crate::ws::route(state.clone());

    let assets_route = warp::path!("assets" / String)
        .and(warp::get())
        .and(auth.clone())
        .and_then(|name: String, _: AuthInfo| async move {
            let asset =
                assets::asset(&name).ok_or_else(|| reject(ApiError::not_found("no such asset")))?;
            let mut r = Response::new(asset.body.into());
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", assets::HASH.trim())) {
                h.insert(header::ETAG, etag);
            }
            Ok::<_, Rejection>(r)
        });

    let pages = warp::get()
        .and(
            warp::path::end()
                .map(|| "/".to_owned())
                .or(warp::path!("s" / String).map(|id| format!("/s/{id}")))
                .unify(),
        )
        .and(warp::header::headers_cloned())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(st.clone())
        .map(
            |path: String, headers: HeaderMap, query: String, state: Arc<AppState>| {
                page(&state, &path, &headers, &query)
            },
        );

    // Each route is boxed before they are combined: a long chain of
    // unboxed `or`s makes the filter type, and the compile time, explode.
    let all: Vec<warp::filters::BoxedFilter<(Response,)>> = vec![
        healthz.boxed(),
        providers.boxed(),
        list.boxed(),
        create.boxed(),
        get.boxed(),
        patch.boxed(),
        delete.boxed(),
        input.boxed(),
        resize.boxed(),
        signal.boxed(),
        screen.boxed(),
        wait.boxed(),
        output.boxed(),
        events.boxed(),
        metrics.boxed(),
        ws.boxed(),
        assets_route.boxed(),
        pages.boxed(),
    ];
    let mut combined = warp::any()
        .and_then(|| async { Err::<Response, Rejection>(warp::reject::not_found()) })
        .boxed();
    for route in all.into_iter().rev() {
        combined = route.or(combined).unify().boxed();
    }
    combined
        .recover(|r: Rejection| async move {
            Ok::<_, Infallible>(crate::error::rejection_to_error(&r).into_response())
        })
        .unify()
        .map(|mut r: Response| {
            let h = r.headers_mut();
            h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
            h.insert(
                "x-content-type-options",
                HeaderValue::from_static("nosniff"),
            );
            r
        })
        .boxed()
}

/// `/` and `/s/{id}`: a `?token=` is traded for the cookie (and leaves the
/// address bar by a redirect); without a valid token or cookie, the login
/// page.
fn page(state: &AppState, path: &str, headers: &HeaderMap, query: &str) -> Response {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if let Err(e) = state.policy.check_host(host) {
        return e.into_response();
    }
    let with_token = auth::tokens_from_query(query).next().is_some();
    match state
        .policy
        .authorize_headers(headers, (!query.is_empty()).then_some(query))
    {
        Ok(_) if with_token => {
            let rest: Vec<&str> = query
                .split('&')
                .filter(|kv| !kv.is_empty() && kv.split('=').next() != Some("token"))
                .collect();
            let location = if rest.is_empty() {
                path.to_owned()
            } else {
                format!("{path}?{}", rest.join("&"))
            };
            let mut r = Response::new("".into());
            *r.status_mut() = StatusCode::FOUND;
            let h = r.headers_mut();
            if let Ok(loc) = HeaderValue::from_str(&location) {
                h.insert(header::LOCATION, loc);
            }
            if let Some(token) = state.policy.token()
                && let Ok(cookie) = HeaderValue::from_str(&auth::set_cookie_value(token))
            {
                h.insert(header::SET_COOKIE, cookie);
            }
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Ok(_) => html(StatusCode::OK, assets::INDEX.body),
        Err(ApiError::Unauthorized) => html(StatusCode::UNAUTHORIZED, assets::LOGIN.as_bytes()),
        Err(e) => e.into_response(),
    }
}

fn html(status: StatusCode, body: &'static [u8]) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    r
}

/// Longest `/wait` pattern.
const MAX_PATTERN_BYTES: usize = 1024;
/// Longest `/wait`.
const MAX_WAIT: Duration = Duration::from_secs(600);

async fn wait_for_screen(s: &Session, req: WaitRequest) -> Result<WaitResponse, ApiError> {
    if req.pattern.len() > MAX_PATTERN_BYTES {
        return Err(ApiError::bad_request(
            "invalid_pattern",
            format!("a pattern is at most {MAX_PATTERN_BYTES} bytes"),
        ));
    }
    let re = regex::RegexBuilder::new(&req.pattern)
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
                return Err(ApiError::Timeout { message: format!("the screen did not match {:?} within {} ms", req.pattern, timeout.as_millis()) });
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

async fn read_output(s: &Session, q: &BTreeMap<String, String>) -> Result<Response, ApiError> {
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

fn events(state: Arc<AppState>) -> Response {
    let rx = state.registry.subscribe();
    let stop = state.shutdown.clone();
    let stream = futures::stream::unfold((rx, stop), |(mut rx, stop)| async move {
        loop {
            let event = tokio::select! {
                () = stop.cancelled() => return None,
                e = rx.recv() => e,
            };
            let (name, data) = match event {
                Ok(RegistryEvent::Created(info)) => {
                    ("session_created", serde_json::to_string(&info))
                }
                Ok(RegistryEvent::Status(info)) => ("session_status", serde_json::to_string(&info)),
                Ok(RegistryEvent::Exit(info)) => ("session_exit", serde_json::to_string(&info)),
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
            return Some((Ok::<_, Infallible>(event), (rx, stop)));
        }
    });
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

    #[test]
    fn signals_are_allowlisted() {
        assert_eq!(parse_signal("SIGINT").unwrap(), Signal::Int);
        assert_eq!(parse_signal("term").unwrap(), Signal::Term);
        assert!(parse_signal("SIGSEGV").is_err());
        assert!(parse_signal("SIGNOPE").is_err());
    }
}
