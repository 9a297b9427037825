//! The web UI's pages: `/`, `/s/{id}` and `/r/{id}` (the token traded for
//! a cookie, else the login page).

use bytes::Bytes;
use warp::Reply;
use warp::http::{HeaderMap, HeaderValue, StatusCode, header};
use warp::reply::Response;

use crate::assets;
use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// The replay page's: the same, and `'wasm-unsafe-eval'`, which lets
/// asciinema-player compile its terminal emulator (WebAssembly, shipped
/// inside `player.js`). It allows compiling WebAssembly only: `eval` and
/// inline scripts stay refused.
const REPLAY_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// `/`, `/s/{id}` and `/r/{id}`: a `?token=` is traded for the cookie (and leaves the
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
            // Every spelling of `token` leaves (`%74oken` too: the check
            // above decoded it, and a redirect that kept it would loop).
            let rest: Vec<&str> = query
                .split('&')
                .filter(|kv| {
                    let name = kv.split('=').next().unwrap_or_default();
                    !kv.is_empty() && auth::percent_decode(name).is_some_and(|n| n != "token")
                })
                .collect();
            let base = &state.options.base_path;
            let location = if rest.is_empty() {
                format!("{base}{path}")
            } else {
                format!("{base}{path}?{}", rest.join("&"))
            };
            let mut r = Response::new("".into());
            *r.status_mut() = StatusCode::FOUND;
            let h = r.headers_mut();
            if let Ok(loc) = HeaderValue::from_str(&location) {
                h.insert(header::LOCATION, loc);
            }
            // The browser gets a login secret of its own, never the token.
            if state.policy.token().is_some() {
                match state.policy.logins().create() {
                    Ok(secret) => {
                        // `Secure` when the browser came over HTTPS: ours,
                        // or a trusted proxy's (X-Forwarded-Proto).
                        let secure = state.policy.scheme_of(headers) == "https";
                        if let Ok(cookie) = HeaderValue::from_str(&under_base(
                            &auth::set_cookie_value(&secret, secure),
                            base,
                        )) {
                            h.insert(header::SET_COOKIE, cookie);
                        }
                    }
                    Err(e) => {
                        return ApiError::internal(format!("cannot make a login secret: {e}"))
                            .into_response();
                    }
                }
            }
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Ok(_) => {
            let csp = if path.starts_with("/r/") {
                REPLAY_CSP
            } else {
                CSP
            };
            html(StatusCode::OK, index_page(&state.options.base_path), csp)
        }
        Err(ApiError::Unauthorized) => html(
            StatusCode::UNAUTHORIZED,
            login_page(&state.options.base_path),
            CSP,
        ),
        Err(e) => e.into_response(),
    }
}

/// A cookie's `Path=/` moved under `base_path` (unchanged without one).
fn under_base(cookie: &str, base: &str) -> String {
    if base.is_empty() {
        cookie.to_owned()
    } else {
        cookie.replace("Path=/;", &format!("Path={base};"))
    }
}

/// `index.html` with its asset URLs under `base_path` and the prefix told to
/// the page's script (`<meta name="ptyhub-base">`, read by web/src/base.ts).
fn index_page(base: &str) -> Bytes {
    if base.is_empty() {
        return Bytes::from_static(assets::INDEX.body);
    }
    let text = String::from_utf8_lossy(assets::INDEX.body)
        .replace("\"/assets/", &format!("\"{base}/assets/"))
        .replacen(
            "<head>",
            &format!("<head>\n    <meta name=\"ptyhub-base\" content=\"{base}\">"),
            1,
        );
    Bytes::from(text)
}

/// The login page, its form posting to `base_path`'s `/`.
fn login_page(base: &str) -> Bytes {
    if base.is_empty() {
        return Bytes::from_static(assets::LOGIN.as_bytes());
    }
    Bytes::from(assets::LOGIN.replace("action=\"/\"", &format!("action=\"{base}/\"")))
}

fn html(status: StatusCode, body: Bytes, csp: &'static str) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert("content-security-policy", HeaderValue::from_static(csp));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    r
}

/// `POST /logout`: revokes the login secrets the request's cookie holds and
/// removes the cookie (204). Needs no credential (a stale cookie must be
/// removable too), only the `Host` and `Origin` checks.
pub(super) fn logout(state: &AppState, headers: &HeaderMap) -> Response {
    let get = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let host = get(header::HOST);
    if let Err(e) = state.policy.check_host(host) {
        return e.into_response();
    }
    let origin = headers
        .get(header::ORIGIN)
        .map(|v| v.to_str().unwrap_or("null"));
    if let Err(e) = state
        .policy
        .check_origin_as(origin, host, state.policy.scheme_of(headers))
    {
        return e.into_response();
    }
    for value in headers.get_all(header::COOKIE) {
        if let Ok(text) = value.to_str() {
            for secret in auth::tokens_from_cookie(text) {
                state.policy.logins().revoke(secret);
            }
        }
    }
    let mut r = Response::new("".into());
    *r.status_mut() = StatusCode::NO_CONTENT;
    let h = r.headers_mut();
    if let Ok(cookie) = HeaderValue::from_str(&under_base(
        &auth::clear_cookie_value(state.policy.scheme_of(headers) == "https"),
        &state.options.base_path,
    )) {
        h.insert(header::SET_COOKIE, cookie);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
