//! WebSocket attach (`GET /api/sessions/{id}/ws`): one task per socket with
//! one `select!` over socket input, session events and shutdown. The three
//! framings of docs/websocket.md are small modules over [`Framing`]'s shapes:
//! each turns client frames into [`Command`]s and session events into
//! frames.

mod loop_;
mod socket;
mod tty_auth;

use std::collections::BTreeMap;
use std::sync::Arc;

use ptyhub_core::AttachOptions;
use ptyhub_protocol::Framing;
use warp::http::{HeaderMap, HeaderValue};
use warp::reply::Response;
use warp::{Filter, Rejection};

use crate::budget::Ticket;
use crate::error::ApiError;
use crate::routes::query_u64;
use crate::sessions::check_size;
use crate::state::AppState;
use tty_auth::TtyAuth;

/// The attach options a query asks for.
fn parse_query(q: &BTreeMap<String, String>) -> Result<AttachOptions, ApiError> {
    let flag = |k: &str| {
        q.get(k)
            .is_some_and(|v| matches!(v.as_str(), "1" | "true" | "yes"))
    };
    let num = |k: &str| query_u64(q, k);
    let dim =
        |v: Option<u64>, default: u32| v.map_or(default, |v| v.min(u64::from(u32::MAX)) as u32);
    let size = match (num("cols")?, num("rows")?) {
        (None, None) => None,
        (c, r) => Some(check_size(dim(c, 80), dim(r, 24))?),
    };
    Ok(AttachOptions {
        readonly: flag("readonly"),
        size,
        since: num("since")?,
        snapshot: q.get("snapshot").is_none_or(|v| v != "0" && v != "false"),
    })
}

/// The attach route.
pub fn route(
    state: Arc<AppState>,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let st = warp::any().map(move || state.clone());
    warp::path!("api" / "sessions" / String / "ws")
        .and(warp::get())
        .and(warp::header::headers_cloned())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(socket::upgrade())
        .and(warp::ext::optional::<Arc<Ticket>>())
        .and(st)
        .and_then(
            |id: String,
             headers: HeaderMap,
             raw_query: String,
             ws: socket::Upgrade,
             ticket: Option<Arc<Ticket>>,
             state: Arc<AppState>| async move {
                upgrade(id, headers, raw_query, ws, ticket, state).map_err(warp::reject::custom)
            },
        )
}

fn upgrade(
    id: String,
    headers: HeaderMap,
    raw_query: String,
    ws: socket::Upgrade,
    ticket: Option<Arc<Ticket>>,
    state: Arc<AppState>,
) -> Result<Response, ApiError> {
    let framing = Framing::negotiate(
        headers
            .get_all("sec-websocket-protocol")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim),
    );
    let query_text = (!raw_query.is_empty()).then_some(raw_query.as_str());
    // `tty` (ttyd's client) may upgrade from an allowed page without
    // credentials and send the token in its first message instead.
    let deferred_auth = match state.policy.authorize_headers(&headers, query_text) {
        Ok(_) => false,
        Err(ApiError::Unauthorized)
            if framing == Framing::Tty && headers.contains_key("origin") =>
        {
            true
        }
        Err(e) => return Err(e),
    };
    if state.shutdown.is_cancelled() {
        return Err(ApiError::ShuttingDown);
    }
    let max = state.options.max_message_bytes;
    let tasks = state.tasks.clone();
    let auth = TtyAuth {
        deferred: deferred_auth,
        ticket,
    };
    let query: BTreeMap<String, String> = raw_query
        .split('&')
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            Some((
                crate::auth::percent_decode(k)?,
                crate::auth::percent_decode(v)?,
            ))
        })
        .collect();
    let opts = parse_query(&query)?;
    let session = match state.registry.get(&id) {
        Ok(session) => session,
        // Without credentials, whether a session exists is told only after
        // the auth message (no 404 before it).
        Err(_) if deferred_auth => {
            let reply = ws.reply(max, move |socket| {
                tasks.track_future(tty_auth::refuse_unknown(socket, state, auth))
            });
            return Ok(with_subprotocol(reply, framing));
        }
        Err(e) => return Err(e.into()),
    };
    if !deferred_auth && session.info().clients as usize >= state.options.max_clients_per_session {
        return Err(ApiError::too_many(
            "too_many_clients",
            format!(
                "at most {} clients may attach to one session",
                state.options.max_clients_per_session
            ),
        ));
    }
    let reply = ws.reply(max, move |socket| {
        tasks.track_future(async move {
            let supervisor = state.supervisor.clone();
            loop_::run(socket, state, session, framing, opts, auth).await;
            // The socket's buffers are free now: the allocator gives
            // them back at the sampler's next pass.
            supervisor.trim_soon();
        })
    });
    Ok(with_subprotocol(reply, framing))
}

fn with_subprotocol(mut response: Response, framing: Framing) -> Response {
    if let Some(name) = framing.subprotocol() {
        response
            .headers_mut()
            .insert("sec-websocket-protocol", HeaderValue::from_static(name));
    }
    response
}
