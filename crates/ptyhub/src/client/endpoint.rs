//! [`Endpoint`]: which server a client command talks to, and with which
//! token.
//!
//! Precedence, lowest first: the default URL `http://127.0.0.1:7681` < the
//! runtime file of a running server (its URL and token) < the environment
//! (`PTYHUB_URL`, `PTYHUB_TOKEN`) < the flags (`--url`, `--token`). The
//! runtime file's token is only used for the URL it names: a token is never
//! sent to another server than the one that wrote it.
//!
//! A URL is `http://HOST:PORT`, `https://HOST:PORT` (TLS: the system's
//! roots plus `--ca FILE` / `PTYHUB_CA`), or `unix:/PATH` for a server on a
//! Unix socket; each may end with the server's `base_path` (`/pty`).

use std::path::{Path, PathBuf};

use clap::Args;
use ptyhub_server::runtime_file::{self, RuntimeInfo};

use super::error::{Error, Result};

/// The URL a client tries when nothing says otherwise.
pub const DEFAULT_URL: &str = "http://127.0.0.1:7681";

/// Where the server is; flattened into every client command.
#[derive(Debug, Clone, Default, Args)]
pub struct ServerArgs {
    /// The server's URL [env: PTYHUB_URL] [default: the running server's
    /// runtime file, else http://127.0.0.1:7681].
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,

    /// The token. It shows in `ps`: prefer PTYHUB_TOKEN [env: PTYHUB_TOKEN]
    /// [default: the running server's runtime file].
    #[arg(long, value_name = "T")]
    pub token: Option<String>,

    /// A CA or server certificate (PEM) to trust for https:// URLs, besides
    /// the system's [env: PTYHUB_CA].
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
}

/// A server's base URL (no trailing slash) and the token to send it.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `http://host:port`, `https://host:port` or `unix:/path`, with the
    /// server's path prefix if any, without a trailing slash.
    pub url: String,
    /// The token; `None` for a `--no-auth` server.
    pub token: Option<String>,
    /// A PEM file of certificates to trust besides the system's roots.
    pub ca: Option<PathBuf>,
}

/// Where an [`Endpoint`]'s URL leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// TCP, with TLS for `https://`.
    Tcp {
        /// The host as written (an IPv6 address in brackets).
        host: String,
        /// The port (the scheme's default when the URL names none).
        port: u16,
        /// `https://`.
        tls: bool,
        /// The server's path prefix (`/pty`), or empty.
        prefix: String,
    },
    /// A Unix socket.
    Unix {
        /// The socket file.
        socket: PathBuf,
        /// The server's path prefix, or empty.
        prefix: String,
    },
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("ca", &self.ca)
            .finish()
    }
}

impl Endpoint {
    /// Resolves the endpoint from the flags, the environment (`env`) and
    /// the runtime file in `runtime_dir` (the default one when `None`).
    pub fn resolve(
        args: &ServerArgs,
        env: &dyn Fn(&str) -> Option<String>,
        runtime_dir: Option<&Path>,
    ) -> Result<Endpoint> {
        let set = |v: Option<String>| v.filter(|s| !s.is_empty());
        let url = set(args.url.clone()).or_else(|| set(env("PTYHUB_URL")));
        let token = set(args.token.clone()).or_else(|| set(env("PTYHUB_TOKEN")));
        let ca = args
            .ca
            .clone()
            .or_else(|| set(env("PTYHUB_CA")).map(PathBuf::from));
        let url = url.map(|u| normalize(&u)).transpose()?;
        if let Some(token) = token {
            let url = url.unwrap_or_else(|| DEFAULT_URL.to_owned());
            return Ok(Endpoint {
                url,
                token: Some(token),
                ca,
            });
        }
        let dir = runtime_dir
            .map(Path::to_path_buf)
            .or_else(|| runtime_file::default_dir(env));
        let info = dir.and_then(|dir| read_runtime(&dir));
        Ok(match (url, info) {
            // The server's own certificate is trusted for its own URL.
            (None, Some(info)) => Endpoint {
                url: normalize(&info.url)?,
                token: info.token,
                ca: ca.or(info.tls_cert),
            },
            (Some(url), Some(info)) if normalize(&info.url).ok().as_ref() == Some(&url) => {
                Endpoint {
                    url,
                    token: info.token,
                    ca: ca.or(info.tls_cert),
                }
            }
            (url, _) => Endpoint {
                url: url.unwrap_or_else(|| DEFAULT_URL.to_owned()),
                token: None,
                ca,
            },
        })
    }

    /// Where the URL leads. A `unix:` URL's socket is the longest leading
    /// part of its path that exists (the rest is the server's prefix, as
    /// in the `unix:/run/ptyhub.sock/pty` a server under `base_path`
    /// prints); when none exists, the whole path (connecting then says
    /// there is no server).
    pub fn target(&self) -> Target {
        if let Some(path) = self.url.strip_prefix("unix:") {
            let (socket, prefix) = split_socket_path(path);
            return Target::Unix { socket, prefix };
        }
        let (scheme, rest) = self.url.split_once("://").unwrap_or(("http", &self.url));
        let tls = scheme == "https";
        let (authority, prefix) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let (host, port) = split_port(authority);
        Target::Tcp {
            host: host.to_owned(),
            port: port.unwrap_or(if tls { 443 } else { 80 }),
            tls,
            prefix: prefix.to_owned(),
        }
    }

    /// The URL of an API path (`/api/sessions`); over a Unix socket the
    /// host is a placeholder (`localhost`, which the server does not
    /// check there).
    pub fn http(&self, path: &str) -> String {
        match self.target() {
            Target::Unix { prefix, .. } => format!("http://localhost{prefix}{path}"),
            Target::Tcp { .. } => format!("{}{path}", self.url),
        }
    }

    /// The `ws://` (or `wss://`) URL of a path.
    pub fn ws(&self, path: &str) -> String {
        let http = self.http(path);
        match http.strip_prefix("https://") {
            Some(rest) => format!("wss://{rest}"),
            None => format!("ws://{}", http.strip_prefix("http://").unwrap_or(&http)),
        }
    }
}

/// `host:port`, `[v6]:port`, or a host alone.
fn split_port(authority: &str) -> (&str, Option<u16>) {
    let colon = match authority.rfind(']') {
        Some(end) => authority[end..].find(':').map(|i| end + i),
        None => authority.rfind(':'),
    };
    match colon {
        Some(i) => match authority[i + 1..].parse() {
            Ok(port) => (&authority[..i], Some(port)),
            Err(_) => (authority, None),
        },
        None => (authority, None),
    }
}

/// A `unix:` path split into the socket and the server's path prefix (see
/// [`Endpoint::target`]).
fn split_socket_path(path: &str) -> (PathBuf, String) {
    let mut socket = path;
    // A directory on the way is not the socket (`/tmp` of `/tmp/gone.sock`).
    while !Path::new(socket).metadata().is_ok_and(|m| !m.is_dir()) {
        match socket.rfind('/') {
            Some(i) if i > 0 => socket = &socket[..i],
            _ => return (PathBuf::from(path), String::new()),
        }
    }
    (PathBuf::from(socket), path[socket.len()..].to_owned())
}

/// The runtime file's info, or `None` (a broken file is a warning: the
/// client then goes on as if there were none).
fn read_runtime(dir: &Path) -> Option<RuntimeInfo> {
    match runtime_file::read(dir) {
        Ok(info) => info,
        Err(e) => {
            eprintln!("ptyhub: warning: ignoring the runtime file: {e}");
            None
        }
    }
}

/// Checks and normalizes a base URL: `http://`, `https://` or `unix:/PATH`,
/// an optional path prefix (a server's `base_path`, such as `/pty`), no
/// trailing slash, scheme and host in lower case.
fn normalize(url: &str) -> Result<String> {
    let bad = |why: &str| Error::Other(format!("bad server URL {url:?}: {why}"));
    let expected = "expected http://HOST:PORT, https://HOST:PORT or unix:/PATH, optionally with \
                    the server's path prefix (/pty)";
    let trimmed = url.trim().trim_end_matches('/');
    if let Some(path) = trimmed.strip_prefix("unix:") {
        if !path.starts_with('/') || path.contains(['?', '#']) || path.contains("//") {
            return Err(bad(
                "expected unix:/PATH, an absolute path to the server's socket",
            ));
        }
        return Ok(format!("unix:{path}"));
    }
    let Some((scheme, rest)) = trimmed.split_once("://") else {
        return Err(bad(expected));
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(bad(expected));
    }
    let (host, prefix) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if host.is_empty() || rest.contains(['?', '#', '@']) || prefix.contains("//") {
        return Err(bad(expected));
    }
    Ok(format!("{scheme}://{}{prefix}", host.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn nowhere() -> PathBuf {
        PathBuf::from("/nonexistent/ptyhub-test")
    }

    fn with_file(url: &str, token: Option<&str>) -> (PathBuf, runtime_file::RuntimeFile) {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ptyhub-endpoint-{}-{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let info = RuntimeInfo {
            url: url.to_owned(),
            token: token.map(str::to_owned),
            pid: std::process::id(),
            tls_cert: None,
        };
        let file = runtime_file::RuntimeFile::write(&dir, &info).unwrap();
        (dir, file)
    }

    #[test]
    fn defaults_env_and_flags() {
        let none = ServerArgs::default();
        let ep = Endpoint::resolve(&none, &env(&[]), Some(&nowhere())).unwrap();
        assert_eq!(ep.url, DEFAULT_URL);
        assert_eq!(ep.token, None);
        let e = env(&[("PTYHUB_URL", "HTTP://Example:9/"), ("PTYHUB_TOKEN", "t")]);
        let ep = Endpoint::resolve(&none, &e, Some(&nowhere())).unwrap();
        assert_eq!(
            (ep.url.as_str(), ep.token.as_deref()),
            ("http://example:9", Some("t"))
        );
        let flags = ServerArgs {
            url: Some("http://127.0.0.1:1".into()),
            token: Some("f".into()),
            ca: None,
        };
        let ep = Endpoint::resolve(&flags, &e, Some(&nowhere())).unwrap();
        assert_eq!(
            (ep.url.as_str(), ep.token.as_deref()),
            ("http://127.0.0.1:1", Some("f"))
        );
        assert_eq!(ep.ws("/api/x"), "ws://127.0.0.1:1/api/x");
        assert!(!format!("{ep:?}").contains("\"f\""));
    }

    #[test]
    fn bad_urls_are_refused() {
        for url in [
            "x:1",
            "http://",
            "http://x:1/a?b",
            "ftp://x",
            "unix:rel.sock",
            "unix:",
        ] {
            let e = env(&[("PTYHUB_URL", url)]);
            let err = Endpoint::resolve(&ServerArgs::default(), &e, Some(&nowhere())).unwrap_err();
            assert!(err.to_string().contains("bad server URL"), "{url}: {err}");
        }
    }

    #[test]
    fn https_and_unix_urls() {
        let ep = |url: &str| {
            let e = env(&[("PTYHUB_URL", url), ("PTYHUB_CA", "/etc/ca.pem")]);
            Endpoint::resolve(&ServerArgs::default(), &e, Some(&nowhere())).unwrap()
        };
        let tls = ep("HTTPS://Example.org:8443/pty/");
        assert_eq!(tls.url, "https://example.org:8443/pty");
        assert_eq!(tls.ca.as_deref(), Some(Path::new("/etc/ca.pem")));
        assert_eq!(
            tls.target(),
            Target::Tcp {
                host: "example.org".into(),
                port: 8443,
                tls: true,
                prefix: "/pty".into()
            }
        );
        assert_eq!(tls.http("/api/x"), "https://example.org:8443/pty/api/x");
        assert_eq!(tls.ws("/api/x"), "wss://example.org:8443/pty/api/x");
        let v6 = ep("https://[::1]");
        assert!(matches!(v6.target(), Target::Tcp { port: 443, ref host, .. } if host == "[::1]"));
        assert!(matches!(
            ep("http://[::1]:9").target(),
            Target::Tcp { port: 9, .. }
        ));

        // The socket is the part of the path that exists; the rest is the
        // server's prefix.
        let dir = std::env::temp_dir();
        let sock = dir.join(format!("ptyhub-endpoint-{}.sock", std::process::id()));
        std::fs::write(&sock, "").unwrap();
        let unix = ep(&format!("unix:{}/pty", sock.display()));
        assert_eq!(
            unix.target(),
            Target::Unix {
                socket: sock.clone(),
                prefix: "/pty".into()
            }
        );
        assert_eq!(unix.http("/api/x"), "http://localhost/pty/api/x");
        assert_eq!(unix.ws("/api/x"), "ws://localhost/pty/api/x");
        let plain = ep(&format!("unix:{}", sock.display()));
        assert_eq!(plain.http("/healthz"), "http://localhost/healthz");
        std::fs::remove_file(&sock).unwrap();
        // Nothing there: the whole path, and connecting will say so.
        let gone = ep("unix:/nonexistent/ptyhub.sock");
        assert_eq!(
            gone.target(),
            Target::Unix {
                socket: "/nonexistent/ptyhub.sock".into(),
                prefix: String::new()
            }
        );
    }

    #[test]
    fn the_runtime_file_fills_in_for_its_own_url_only() {
        let (dir, file) = with_file("http://127.0.0.1:4567", Some("rt"));
        let none = ServerArgs::default();
        let ep = Endpoint::resolve(&none, &env(&[]), Some(&dir)).unwrap();
        assert_eq!(
            (ep.url.as_str(), ep.token.as_deref()),
            ("http://127.0.0.1:4567", Some("rt"))
        );
        // Same server named by PTYHUB_URL: its token is used.
        let e = env(&[("PTYHUB_URL", "http://127.0.0.1:4567/")]);
        assert_eq!(
            Endpoint::resolve(&none, &e, Some(&dir))
                .unwrap()
                .token
                .as_deref(),
            Some("rt")
        );
        // Another server: the token stays home.
        let e = env(&[("PTYHUB_URL", "http://127.0.0.1:9999")]);
        assert_eq!(
            Endpoint::resolve(&none, &e, Some(&dir)).unwrap().token,
            None
        );
        // PTYHUB_TOKEN wins, with the default URL.
        let e = env(&[("PTYHUB_TOKEN", "env")]);
        let ep = Endpoint::resolve(&none, &e, Some(&dir)).unwrap();
        assert_eq!(
            (ep.url.as_str(), ep.token.as_deref()),
            (DEFAULT_URL, Some("env"))
        );
        drop(file);
        let _ = std::fs::remove_dir_all(dir);
    }
}
