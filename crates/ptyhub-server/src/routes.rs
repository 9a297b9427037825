//! The HTTP routes of docs/http-api.md on warp, and the pages of the web UI.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use ptyhub_core::Session;
use ptyhub_protocol::api::{
    self, CreateSessionRequest, Cursor, ExitReason, InputRequest, PatchSessionRequest,
    ProviderList, ResizeRequest, ScreenResponse, SessionList, SignalRequest, WaitRequest,
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

mod agent_wait;
mod body;
mod pages;
mod previews;
mod reads;
pub mod recordings;

pub use body::BODY_TIMEOUT;
use body::body;
pub(crate) use body::read_body;
use pages::page;
pub(crate) use reads::query_u64;
use reads::{events, read_output, wait_for_screen};

/// Signals a client may send (docs/http-api.md).
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

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Rejection> {
    api::decode_body(bytes).map_err(|e| reject(ApiError::bad_request("bad_request", e.to_string())))
}

fn out_of_descriptors() -> ApiError {
    ApiError::unavailable(
        "out_of_descriptors",
        "The server is out of file descriptors: end some sessions or raise its open-files limit.",
    )
}

fn session(state: &AppState, id: &str) -> Result<Arc<Session>, Rejection> {
    state.registry.get(id).map_err(|e| reject(e.into()))
}

/// Every route, with the security headers and the error shape.
pub fn routes(state: Arc<AppState>) -> warp::filters::BoxedFilter<(Response,)> {
    let limit = state.options.max_message_bytes;
    let auth = auth::with_auth(state.policy.clone());
    let st = with_state(state.clone());

    let healthz =
        warp::path!("healthz")
            .and(warp::get())
            .and(st.clone())
            .map(|state: Arc<AppState>| {
                // Clustered without Redis: still 200, this node serves its own.
                let degraded = state.cluster.as_ref().and_then(|c| c.degraded());
                let body = match degraded {
                    Some(why) => serde_json::json!({"status": "degraded", "cluster": why}),
                    None => serde_json::json!({"status": "ok"}),
                };
                json(StatusCode::OK, &body)
            });

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
        .and(warp::header::headers_cloned())
        .then(
            |_: AuthInfo, state: Arc<AppState>, headers: HeaderMap| async move {
                let mut sessions = state.registry.list().iter().map(|s| s.info()).collect();
                if let Some(cluster) = &state.cluster {
                    let base = &state.options.base_path;
                    sessions = cluster.list(sessions, &headers, base).await;
                }
                json(StatusCode::OK, &SessionList { sessions })
            },
        );

    let create = warp::path!("api" / "sessions")
        .and(warp::post())
        .and(auth.clone())
        .and(st.clone())
        .and(warp::header::headers_cloned())
        .and(warp::path::full())
        .and(body(limit))
        .and_then(
            |_: AuthInfo,
             state: Arc<AppState>,
             headers: HeaderMap,
             full: warp::path::FullPath,
             body: Bytes| async move {
                if state.shutdown.is_cancelled() {
                    return Err(reject(ApiError::ShuttingDown));
                }
                let mut req: CreateSessionRequest = decode(&body)?;
                // `"node"`: created there (the request goes on as it came).
                if let Some(node) = req.node.take() {
                    let elsewhere = crate::cluster::forward::create_on(
                        &state,
                        &node,
                        headers,
                        full.as_str(),
                        body,
                    )
                    .await
                    .map_err(reject)?;
                    if let Some(response) = elsewhere {
                        return Ok(response);
                    }
                }
                let record = req.record;
                let spec = spec_from_request(&state, req).map_err(reject)?;
                let record = state.options.records(spec.provider.as_deref(), record);
                if crate::resources::descriptors_left()
                    .is_some_and(|left| left < crate::resources::RESERVE)
                {
                    return Err(reject(out_of_descriptors()));
                }
                let session = state.supervisor.create(spec).await.map_err(|e| {
                    let e = ApiError::from(e);
                    match &e {
                        ApiError::Internal { detail }
                            if crate::resources::says_out_of_descriptors(detail) =>
                        {
                            reject(out_of_descriptors())
                        }
                        _ => reject(e),
                    }
                })?;
                if record {
                    let path =
                        ptyhub_core::recording::start(&session, &state.options.record_config());
                    tracing::info!(id = %session.id(), path = %path.display(), "recording");
                }
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
                // As `/input`: an ended session has no terminal to resize.
                if s.is_ended() {
                    return Err(reject(ptyhub_core::CoreError::Ended.into()));
                }
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
                if let Some(want) = req.agent_state {
                    return crate::routes::agent_wait::wait_for_agent(&s, want, req)
                        .await
                        .map(|r| json(StatusCode::OK, &r))
                        .map_err(reject);
                }
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

    let events =
        warp::path!("api" / "events")
            .and(warp::get())
            .and(auth.clone())
            .and(st.clone())
            .and(warp::query::<BTreeMap<String, String>>())
            .and(warp::header::headers_cloned())
            .and_then(
                |_: AuthInfo,
                 state: Arc<AppState>,
                 q: BTreeMap<String, String>,
                 headers: HeaderMap| async move {
                    let lines = query_u64(&q, "preview_lines")
                        .and_then(previews::lines)
                        .map_err(reject)?;
                    Ok::<_, Rejection>(events(state, lines, &headers))
                },
            );

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

    let openapi_text = crate::openapi::json(&state.options.base_path);
    let openapi = warp::path!("api" / "openapi.json")
        .and(warp::get())
        .and(auth.clone())
        .map(move |_: AuthInfo| {
            let mut r = Response::new(openapi_text.clone().into());
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
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
                .unify()
                .or(warp::path!("r" / String).map(|id| format!("/r/{id}")))
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

    let logout = warp::path!("logout")
        .and(warp::post())
        .and(warp::header::headers_cloned())
        .and(st.clone())
        .map(|headers: HeaderMap, state: Arc<AppState>| pages::logout(&state, &headers));

    // Each route is boxed before they are combined: a long chain of
    // unboxed `or`s makes the filter type, and the compile time, explode.
    let mut all: Vec<warp::filters::BoxedFilter<(Response,)>> = vec![
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
        crate::hook::route(state.clone()).boxed(),
        output.boxed(),
        events.boxed(),
        metrics.boxed(),
        openapi.boxed(),
        ws.boxed(),
        assets_route.boxed(),
        pages.boxed(),
        logout.boxed(),
    ];
    // Before the pages: `/api/sessions/{id}/recording` and the rest.
    all.splice(0..0, recordings::routes(state.clone()));
    // `[cluster]`: another node's session is forwarded to it, before any
    // session route looks for it here.
    if let Some(cluster) = state.cluster.clone() {
        all.insert(0, crate::cluster::forward::filter(state.clone(), cluster));
    }
    let mut combined = warp::any()
        .and_then(|| async { Err::<Response, Rejection>(warp::reject::not_found()) })
        .boxed();
    for route in all.into_iter().rev() {
        combined = route.or(combined).unify().boxed();
    }
    // `base_path`: every route lives under its segments, nothing outside.
    let base = state.options.base_path.clone();
    for segment in base.trim_start_matches('/').split('/').rev() {
        if !segment.is_empty() {
            combined = warp::path(segment.to_owned()).and(combined).boxed();
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_are_allowlisted() {
        assert_eq!(parse_signal("SIGINT").unwrap(), Signal::Int);
        assert_eq!(parse_signal("term").unwrap(), Signal::Term);
        assert!(parse_signal("SIGSEGV").is_err());
        assert!(parse_signal("SIGNOPE").is_err());
    }
}
