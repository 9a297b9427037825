//! The recording routes: `GET /api/sessions/{id}/recording` (also while
//! the session runs), `GET /api/recordings` (every file in
//! `recordings_dir`, also of sessions long forgotten),
//! `GET /api/recordings/{id}` and `DELETE /api/recordings/{id}`.
//!
//! A recording's id is its session's id, a UUID in its hyphenated lower-case
//! form: anything else is 400 `invalid_id`, so no id can name a path
//! outside the directory.

use std::sync::Arc;

use ptyhub_core::recording::{self, RecordingFile};
use ptyhub_protocol::api::{RecordingEntry, RecordingList, RecordingState};
use warp::http::{HeaderMap, HeaderValue, StatusCode, header};
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::{json, reject, session, with_state};
use crate::auth::{self, AuthInfo};
use crate::error::ApiError;
use crate::state::AppState;

/// The media type of asciicast files.
pub const ASCIICAST: &str = "application/x-asciicast";

/// The recording routes, each boxed.
pub fn routes(state: Arc<AppState>) -> Vec<warp::filters::BoxedFilter<(Response,)>> {
    let auth = auth::with_auth(state.policy.clone());
    let st = with_state(state);

    let of_session = warp::path!("api" / "sessions" / String / "recording")
        .and(warp::get())
        .and(auth.clone())
        .and(st.clone())
        .and_then(|id: String, _: AuthInfo, state: Arc<AppState>| async move {
            let s = session(&state, &id)?;
            let path = s.recording_path().ok_or_else(|| {
                reject(ApiError::not_found(format!(
                    "session {} is not recorded",
                    s.id()
                )))
            })?;
            cast_file(path).await
        });

    let list = warp::path!("api" / "recordings")
        .and(warp::get())
        .and(auth.clone())
        .and(st.clone())
        .and(warp::header::headers_cloned())
        .and_then(
            |_: AuthInfo, state: Arc<AppState>, headers: HeaderMap| async move {
                let dir = state.options.recordings_dir();
                let files = blocking(move || recording::list(&dir)).await?;
                let mut recordings = files.iter().map(|f| entry(&state, f)).collect();
                if let Some(cluster) = &state.cluster {
                    let base = &state.options.base_path;
                    recordings = cluster.list_recordings(recordings, &headers, base).await;
                }
                Ok::<_, Rejection>(json(StatusCode::OK, &RecordingList { recordings }))
            },
        );

    let get = warp::path!("api" / "recordings" / String)
        .and(warp::get())
        .and(auth.clone())
        .and(st.clone())
        .and_then(|id: String, _: AuthInfo, state: Arc<AppState>| async move {
            let file = find(&state, &id).await?;
            cast_file(file.path).await
        });

    let delete = warp::path!("api" / "recordings" / String)
        .and(warp::delete())
        .and(auth)
        .and(st)
        .and_then(|id: String, _: AuthInfo, state: Arc<AppState>| async move {
            let file = find(&state, &id).await?;
            if let Ok(s) = state.registry.get(&id)
                && !s.is_ended()
                && s.recording_info()
                    .is_some_and(|r| r.state == RecordingState::On)
            {
                return Err(reject(ApiError::conflict(
                    "recording_in_progress",
                    "the session is still being recorded: delete the recording once it has ended",
                )));
            }
            let path = file.path.clone();
            blocking(move || std::fs::remove_file(&path)).await?;
            tracing::info!(path = %file.path.display(), "recording deleted");
            if let Some(cluster) = &state.cluster {
                cluster.forget_recording(&id).await;
            }
            Ok::<_, Rejection>(json(
                StatusCode::OK,
                &serde_json::json!({"id": id, "deleted": true}),
            ))
        });

    vec![
        of_session.boxed(),
        list.boxed(),
        get.boxed(),
        delete.boxed(),
    ]
}

/// Runs blocking file I/O off the runtime; an error is a 500.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, Rejection> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(reject(ApiError::internal(format!("recordings: {e}")))),
        Err(e) => Err(reject(ApiError::internal(format!("recordings task: {e}")))),
    }
}

/// The recording with this id, or 400 (not an id) or 404.
async fn find(state: &AppState, id: &str) -> Result<RecordingFile, Rejection> {
    let uuid = recording::parse_id(id).ok_or_else(|| {
        reject(ApiError::bad_request(
            "invalid_id",
            format!("{id:?} is not a recording id (a session id, a UUID)"),
        ))
    })?;
    let dir = state.options.recordings_dir();
    let found = blocking(move || recording::find(&dir, uuid)).await?;
    if found.is_none()
        && let Some(cluster) = &state.cluster
    {
        // The nodes may still send its requests here.
        cluster.forget_recording_if_here(id).await;
    }
    found.ok_or_else(|| reject(ApiError::not_found(format!("no recording {id}"))))
}

/// A file as listed: `ended_at` is the last write once the session is
/// no longer running (or forgotten).
fn entry(state: &AppState, f: &RecordingFile) -> RecordingEntry {
    let id = f.id.to_string();
    let running = state.registry.get(&id).is_ok_and(|s| !s.is_ended());
    let (cols, rows) = f.size();
    RecordingEntry {
        started_at: f.started_at(),
        ended_at: (!running).then(|| f.modified_at()),
        name: f.meta("name"),
        provider: f.meta("provider"),
        bytes: f.bytes,
        cols,
        rows,
        id,
        node: state.cluster.as_ref().map(|c| c.node().to_owned()),
    }
}

/// The file as written so far, up to its last whole line (a line being
/// written right now is left out).
async fn cast_file(path: std::path::PathBuf) -> Result<Response, Rejection> {
    let mut bytes = match tokio::fs::read(&path).await {
        Ok(bytes) => bytes,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Err(reject(ApiError::not_found(
                "the recording file is gone (deleted, or never written)",
            )));
        }
        Err(e) => {
            return Err(reject(ApiError::internal(format!(
                "reading {}: {e}",
                path.display()
            ))));
        }
    };
    let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    bytes.truncate(whole);
    let mut r = Response::new(bytes.into());
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ASCIICAST));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(name) = path.file_name().and_then(|n| n.to_str())
        && let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{name}\""))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}
