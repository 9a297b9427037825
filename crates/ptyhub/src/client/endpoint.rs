//! [`Endpoint`]: which server a client command talks to, and with which
//! token.
//!
//! Precedence, lowest first: the default URL `http://127.0.0.1:7681` < the
//! runtime file of a running server (its URL and token) < the environment
//! (`PTYHUB_URL`, `PTYHUB_TOKEN`) < the flags (`--url`, `--token`). The
//! runtime file's token is only used for the URL it names: a token is never
//! sent to another server than the one that wrote it.

use std::path::Path;

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
}

/// A server's base URL (no trailing slash) and the token to send it.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `http://host:port`, without a trailing slash.
    pub url: String,
    /// The token; `None` for a `--no-auth` server.
    pub token: Option<String>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
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
        let url = url.map(|u| normalize(&u)).transpose()?;
        if let Some(token) = token {
            let url = url.unwrap_or_else(|| DEFAULT_URL.to_owned());
            return Ok(Endpoint {
                url,
                token: Some(token),
            });
        }
        let dir = runtime_dir
            .map(Path::to_path_buf)
            .or_else(|| runtime_file::default_dir(env));
        let info = dir.and_then(|dir| read_runtime(&dir));
        Ok(match (url, info) {
            (None, Some(info)) => Endpoint {
                url: normalize(&info.url)?,
                token: info.token,
            },
            (Some(url), Some(info)) if normalize(&info.url).ok().as_ref() == Some(&url) => {
                Endpoint {
                    url,
                    token: info.token,
                }
            }
            (url, _) => Endpoint {
                url: url.unwrap_or_else(|| DEFAULT_URL.to_owned()),
                token: None,
            },
        })
    }

    /// The URL of an API path (`/api/sessions`).
    pub fn http(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// The `ws://` URL of a path.
    pub fn ws(&self, path: &str) -> String {
        let rest = self.url.strip_prefix("http://").unwrap_or(&self.url);
        format!("ws://{rest}{path}")
    }
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

/// Checks and normalizes a base URL: `http://` only, an optional path
/// prefix (a server's `base_path`, such as `/pty`), no trailing slash,
/// scheme and host in lower case.
fn normalize(url: &str) -> Result<String> {
    let bad = |why: &str| Error::Other(format!("bad server URL {url:?}: {why}"));
    let trimmed = url.trim().trim_end_matches('/');
    let Some((scheme, rest)) = trimmed.split_once("://") else {
        return Err(bad("expected http://HOST:PORT"));
    };
    if !scheme.eq_ignore_ascii_case("http") {
        return Err(bad(
            "only http:// is supported (put a TLS proxy's plain side, or an SSH tunnel, here)",
        ));
    }
    let (host, prefix) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if host.is_empty() || rest.contains(['?', '#', '@']) || prefix.contains("//") {
        return Err(bad(
            "expected http://HOST:PORT, optionally with the server's path prefix (/pty)",
        ));
    }
    Ok(format!("http://{}{prefix}", host.to_ascii_lowercase()))
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
        for url in ["https://x:1", "x:1", "http://", "http://x:1/a?b", "ftp://x"] {
            let e = env(&[("PTYHUB_URL", url)]);
            let err = Endpoint::resolve(&ServerArgs::default(), &e, Some(&nowhere())).unwrap_err();
            assert!(err.to_string().contains("bad server URL"), "{url}: {err}");
        }
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
