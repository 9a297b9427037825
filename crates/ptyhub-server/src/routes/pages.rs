//! The web UI's pages: `/` and `/s/{id}` (the token traded for a cookie,
//! else the login page).

use warp::Reply;
use warp::http::{HeaderMap, HeaderValue, StatusCode, header};
use warp::reply::Response;

use crate::assets;
use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// `/` and `/s/{id}`: a `?token=` is traded for the cookie (and leaves the
/// address bar by a redirect); without a valid token or cookie, the login
/// page.
pub(super) fn page(state: &AppState, path: &str, headers: &HeaderMap, query: &str) -> Response {
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
