//! Who may talk to the server (docs/security.md): the token (generation,
//! constant-time comparison, and where a request may carry it), the
//! `Origin` check against cross-site WebSocket hijacking, and the `Host`
//! check against DNS rebinding.
//!
//! The checks are pure functions over header values, tested here with the
//! tricky inputs; [`AuthPolicy`] combines them for one request, and
//! [`with_auth`] is the warp filter built on it.

use std::fmt;
use std::net::Ipv6Addr;
use std::sync::Arc;

use warp::Filter;
use warp::http::HeaderMap;

use crate::error::ApiError;
use crate::options::Options;

mod login;

pub use login::{LOGIN_TTL, Logins};

/// The cookie that the web UI trades `?token=` for: it holds a login
/// secret (see [`Logins`]), never the token.
pub const COOKIE_NAME: &str = "ptyhub_login";

/// Random bytes in a generated token (256 bits).
pub const TOKEN_BYTES: usize = 32;

/// A fresh token: [`TOKEN_BYTES`] bytes from the OS's random source, as
/// lowercase hex (64 characters, safe in URLs, headers and cookies).
pub fn generate_token() -> std::io::Result<String> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(hex(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// Whether `a` and `b` are equal, in time that depends only on their
/// lengths, never on where they first differ.
pub fn tokens_equal(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    // Compare over the longer length so that a short guess costs as much
    // as a long one; the shorter input reads as zeros past its end (the
    // length check above already made the result false).
    let n = a.len().max(b.len());
    for i in 0..n {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= x ^ y;
    }
    // black_box keeps the optimiser from turning the loop into an early exit.
    std::hint::black_box(diff) == 0
}

/// Whether `token` can be carried in a header, a cookie and a URL: printable
/// ASCII, no space, none of `"`, `,`, `;`, `\`.
pub fn token_is_well_formed(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b',' | b';' | b'\\'))
}

/// The token of an `Authorization: Bearer <token>` header value (the scheme
/// name is case-insensitive).
pub fn token_from_authorization(value: &str) -> Option<&str> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = rest.trim();
    (!token.is_empty()).then_some(token)
}

/// Every `token` parameter of a raw query string (`a=1&token=x`),
/// percent-decoded.
pub fn tokens_from_query(query: &str) -> impl Iterator<Item = String> + '_ {
    query.split('&').filter_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        (percent_decode(name)? == "token")
            .then(|| percent_decode(value))
            .flatten()
    })
}

/// Every `ptyhub_login` value of a `Cookie` header (a browser may send
/// several cookies of that name, for different paths).
pub fn tokens_from_cookie(header: &str) -> impl Iterator<Item = &str> {
    header.split(';').filter_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        (name.trim() == COOKIE_NAME).then(|| value.trim().trim_matches('"'))
    })
}

/// The `Set-Cookie` value that hands a login secret to the web UI: not
/// readable by scripts, never sent on cross-site requests, gone when the
/// login expires; `secure` (the page came over HTTPS) keeps it off plain
/// HTTP.
pub fn set_cookie_value(secret: &str, secure: bool) -> String {
    format!(
        "{COOKIE_NAME}={secret}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        LOGIN_TTL.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that removes the login cookie (`Secure` as the
/// one it removes).
pub fn clear_cookie_value(secure: bool) -> String {
    format!(
        "{COOKIE_NAME}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Decodes `%XX` escapes and `+` (a space in a query string); `None` for a
/// bad escape or bytes that are not UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'%' => {
                let hi = char::from(bytes.next()?).to_digit(16)?;
                let lo = char::from(bytes.next()?).to_digit(16)?;
                out.push(u8::try_from(hi * 16 + lo).ok()?);
            }
            b'+' => out.push(b' '),
            _ => out.push(b),
        }
    }
    String::from_utf8(out).ok()
}

/// Encodes everything but RFC 3986's unreserved characters, for putting a
/// token into a URL's query.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A web origin: scheme, host and port, with the host lowercased and the
/// scheme's default port filled in. Displays as `scheme://host:port`, the
/// form `allowed_origins` entries are normalised to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// `http` or `https`.
    pub scheme: String,
    /// The host, lowercased; an IPv6 address keeps its brackets.
    pub host: String,
    /// The port, the scheme's default when the origin names none.
    pub port: u16,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// The default port of `http` and `https`.
fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// A host and optional port as in a `Host` header or an origin's
/// authority: `name`, `name:port`, `1.2.3.4:port`, `[::1]:port`. The host
/// comes back lowercased. `None` for anything else, a user-info `@`
/// included.
pub fn parse_host_port(authority: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (addr, after) = rest.split_once(']')?;
        addr.parse::<Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':')?),
        };
        (format!("[{}]", addr.to_ascii_lowercase()), port)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        let valid = !host.is_empty()
            && host.len() <= 253
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
        if !valid {
            return None;
        }
        (host.to_ascii_lowercase(), port)
    };
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().ok()?)
        }
        Some(_) => return None,
    };
    Some((host, port))
}

/// Parses an origin (`https://dev.example.com`, `http://[::1]:7681`).
/// Refuses `null`, other schemes, user info, and anything after the
/// authority but a single `/` (allowed for config entries written as URLs).
pub fn parse_origin(text: &str) -> Option<Origin> {
    let (scheme, rest) = text.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default = default_port(&scheme)?;
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = parse_host_port(authority)?;
    Some(Origin {
        scheme,
        host,
        port: port.unwrap_or(default),
    })
}

/// Normalises an `allowed_origins` entry to `scheme://host:port`; `None`
/// when it is not an origin.
pub fn normalize_origin(text: &str) -> Option<String> {
    parse_origin(text.trim()).map(|o| o.to_string())
}

/// Whether a request's `Origin` header value may reach the server: exactly
/// (scheme, host, port) the server's own origin, taken from the request's
/// `Host` header and the server's `scheme`, or one of `allowed` (normalised
/// entries, see [`normalize_origin`]). `null` and anything unparsable are
/// refused.
///
/// The `Host` header must itself have passed [`host_allowed`]: this
/// function trusts it to name the server.
pub fn origin_allowed(
    origin: &str,
    host_header: Option<&str>,
    scheme: &str,
    allowed: &[String],
) -> bool {
    let Some(origin) = parse_origin(origin.trim()) else {
        return false;
    };
    let own = host_header.and_then(|h| {
        let (host, port) = parse_host_port(h.trim())?;
        let scheme = scheme.to_ascii_lowercase();
        let port = port.or_else(|| default_port(&scheme))?;
        Some(Origin { scheme, host, port })
    });
    if own.as_ref() == Some(&origin) {
        return true;
    }
    let origin = origin.to_string();
    allowed.contains(&origin)
}

/// A trusted proxy's header naming the scheme the client used.
pub const FORWARDED_PROTO: &str = "x-forwarded-proto";

/// The host names a loopback-bound server answers to, any port.
const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// Whether a request's `Host` header passes the DNS-rebinding check. On a
/// loopback bind only `localhost`, `127.0.0.1`, `[::1]` or an
/// `allowed_hosts` entry (a host name, compared case-insensitively) pass,
/// with any port; a request without `Host` is refused there too. On other
/// binds every host passes (the token guards those).
pub fn host_allowed(
    host_header: Option<&str>,
    bind_is_loopback: bool,
    allowed_hosts: &[String],
) -> bool {
    if !bind_is_loopback {
        return true;
    }
    let Some((host, _port)) = host_header.and_then(|h| parse_host_port(h.trim())) else {
        return false;
    };
    LOOPBACK_HOSTS.contains(&host.as_str())
        || allowed_hosts.iter().any(|a| a.eq_ignore_ascii_case(&host))
}

/// Normalises an `allowed_hosts` entry: lowercased, any port dropped;
/// `None` when it is not a host name or address.
pub fn normalize_host(text: &str) -> Option<String> {
    parse_host_port(text.trim()).map(|(host, _)| host)
}

/// Where a request's valid token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialSource {
    /// `Authorization: Bearer`.
    Bearer,
    /// `?token=`.
    Query,
    /// The login cookie.
    Cookie,
}

/// What the auth check found out about a request that passed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthInfo {
    /// Where the valid token came from; `None` when the server runs with
    /// `--no-auth`.
    pub source: Option<CredentialSource>,
}

/// The parts of a request that the checks look at, as raw header values.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestAuth<'a> {
    /// `Host`.
    pub host: Option<&'a str>,
    /// `Origin`.
    pub origin: Option<&'a str>,
    /// `Authorization`.
    pub authorization: Option<&'a str>,
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    /// `Cookie`.
    pub cookie: Option<&'a str>,
    /// Whether this is a WebSocket upgrade (`Upgrade: websocket`).
    pub websocket: bool,
}

/// Finds the credential a request carries and checks it, in constant time
/// per candidate: `Authorization: Bearer` first, then `?token=`, then the
/// cookie's login secret, checked against `logins` (a stale cookie does not
/// spoil a valid header or query token). With `cookie_allowed` false a
/// cookie alone is not enough.
pub fn find_token(
    expected: &str,
    logins: &Logins,
    req: &RequestAuth<'_>,
    cookie_allowed: bool,
) -> Option<CredentialSource> {
    let expected = expected.as_bytes();
    if let Some(t) = req.authorization.and_then(token_from_authorization)
        && tokens_equal(t.as_bytes(), expected)
    {
        return Some(CredentialSource::Bearer);
    }
    if let Some(q) = req.query
        && tokens_from_query(q).any(|t| tokens_equal(t.as_bytes(), expected))
    {
        return Some(CredentialSource::Query);
    }
    if cookie_allowed
        && let Some(c) = req.cookie
        && tokens_from_cookie(c).any(|t| logins.is_valid(t))
    {
        return Some(CredentialSource::Cookie);
    }
    None
}

/// The request checks of docs/security.md for one server, in order: `Host`
/// (DNS rebinding), `Origin` (cross-site requests and WebSocket hijacking),
/// then the token.
pub struct AuthPolicy {
    /// The token; `None` under `--no-auth` (only on a loopback bind).
    token: Option<String>,
    /// The browsers' login secrets.
    logins: Logins,
    bind_is_loopback: bool,
    allowed_hosts: Vec<String>,
    allowed_origins: Vec<String>,
    scheme: &'static str,
}

impl fmt::Debug for AuthPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthPolicy")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("logins", &self.logins)
            .field("bind_is_loopback", &self.bind_is_loopback)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("allowed_origins", &self.allowed_origins)
            .field("scheme", &self.scheme)
            .finish()
    }
}

impl AuthPolicy {
    /// The policy for a server started with `options` and the resolved
    /// `token` (see [`Options::resolve_token`]; `None` for `--no-auth`).
    pub fn new(options: &Options, token: Option<String>) -> Self {
        AuthPolicy {
            token,
            logins: Logins::default(),
            // A Unix socket has no Host check (no browser reaches it by
            // a DNS name).
            bind_is_loopback: options.bind.ip().is_loopback() && options.unix_socket.is_none(),
            // Normalised again: `Options` may have been built by hand.
            allowed_hosts: options
                .allowed_hosts
                .iter()
                .filter_map(|h| normalize_host(h))
                .collect(),
            allowed_origins: options
                .allowed_origins
                .iter()
                .filter_map(|o| normalize_origin(o))
                .collect(),
            // Under TLS the server's own origin is https://.
            scheme: if options.tls.is_some() {
                "https"
            } else {
                "http"
            },
        }
    }

    /// The token, for the `tty` auth message's check; never log it.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The browsers' login secrets (the cookie's values).
    pub fn logins(&self) -> &Logins {
        &self.logins
    }

    /// The `Host` check alone (403 `forbidden_host`).
    pub fn check_host(&self, host: Option<&str>) -> Result<(), ApiError> {
        if host_allowed(host, self.bind_is_loopback, &self.allowed_hosts) {
            Ok(())
        } else {
            Err(ApiError::Forbidden {
                code: "forbidden_host".into(),
                message:
                    "This Host is not allowed: the server is bound to loopback and answers only \
                          localhost, 127.0.0.1, [::1] and the configured allowed_hosts."
                        .into(),
            })
        }
    }

    /// The `Origin` check alone (403 `forbidden_origin`); a request without
    /// `Origin` passes it.
    pub fn check_origin(&self, origin: Option<&str>, host: Option<&str>) -> Result<(), ApiError> {
        self.check_origin_as(origin, host, self.scheme)
    }

    /// The scheme of the server's own origin for a request: a trusted
    /// proxy's `X-Forwarded-Proto` (the accept loop removes the header from
    /// everyone else's requests, see `trusted_proxies`), else the server's.
    pub fn scheme_of(&self, headers: &HeaderMap) -> &'static str {
        match headers
            .get(FORWARDED_PROTO)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            Some("https") => "https",
            Some("http") => "http",
            _ => self.scheme,
        }
    }

    /// [`AuthPolicy::check_origin`] with the own origin's scheme given.
    pub fn check_origin_as(
        &self,
        origin: Option<&str>,
        host: Option<&str>,
        scheme: &str,
    ) -> Result<(), ApiError> {
        match origin {
            None => Ok(()),
            Some(o) if origin_allowed(o, host, scheme, &self.allowed_origins) => Ok(()),
            Some(_) => Err(ApiError::Forbidden {
                code: "forbidden_origin".into(),
                message:
                    "This Origin is not allowed: add it to allowed_origins to use the server from \
                          another site."
                        .into(),
            }),
        }
    }

    /// Every check, for one request. A WebSocket upgrade without `Origin`
    /// is not a browser page's: it must carry the token in `Authorization`
    /// or `?token=`, a cookie alone is not enough.
    pub fn authorize(&self, req: &RequestAuth<'_>) -> Result<AuthInfo, ApiError> {
        self.authorize_as(req, self.scheme)
    }

    /// [`AuthPolicy::authorize`] with the own origin's scheme given.
    fn authorize_as(&self, req: &RequestAuth<'_>, scheme: &str) -> Result<AuthInfo, ApiError> {
        self.check_host(req.host)?;
        self.check_origin_as(req.origin, req.host, scheme)?;
        let Some(expected) = &self.token else {
            return Ok(AuthInfo { source: None });
        };
        let cookie_allowed = !(req.websocket && req.origin.is_none());
        match find_token(expected, &self.logins, req, cookie_allowed) {
            Some(source) => Ok(AuthInfo {
                source: Some(source),
            }),
            None => Err(ApiError::Unauthorized),
        }
    }

    /// The checks for a request as warp sees it.
    pub fn authorize_headers(
        &self,
        headers: &HeaderMap,
        query: Option<&str>,
    ) -> Result<AuthInfo, ApiError> {
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let websocket = headers
            .get_all("upgrade")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| {
                v.split(',')
                    .any(|p| p.trim().eq_ignore_ascii_case("websocket"))
            });
        // Several Cookie lines (HTTP/2 splits them) are one list.
        let cookie = headers
            .get_all("cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join("; ");
        let origin = match headers.get("origin") {
            // An Origin that is not text is refused like `null`.
            Some(v) => Some(v.to_str().unwrap_or("null")),
            None => None,
        };
        self.authorize_as(
            &RequestAuth {
                host: get("host"),
                origin,
                authorization: get("authorization"),
                query,
                cookie: (!cookie.is_empty()).then_some(cookie.as_str()),
                websocket,
            },
            self.scheme_of(headers),
        )
    }
}

/// A warp filter that runs [`AuthPolicy::authorize`] on every request and
/// rejects with the [`ApiError`] (turned into the JSON error body by
/// [`crate::error::recover`]).
pub fn with_auth(
    policy: Arc<AuthPolicy>,
) -> impl Filter<Extract = (AuthInfo,), Error = warp::Rejection> + Clone {
    let query = warp::query::raw()
        .map(Some)
        .or(warp::any().map(|| None))
        .unify();
    warp::header::headers_cloned().and(query).and_then(
        move |headers: HeaderMap, query: Option<String>| {
            let policy = Arc::clone(&policy);
            async move {
                policy
                    .authorize_headers(&headers, query.as_deref())
                    .map_err(warp::reject::custom)
            }
        },
    )
}

#[cfg(test)]
mod tests;
