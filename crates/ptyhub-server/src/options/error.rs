//! Why the options could not be loaded.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::Layer;

/// Why the options could not be loaded. Every message is one line, names
/// the key or flag at fault, and never contains the token.
#[derive(Debug, thiserror::Error)]
pub enum OptionsError {
    /// The config file (or the token file) could not be read.
    #[error("cannot read {what} {}: {source}", path.display())]
    Read {
        /// `"config file"` or `"token_file"`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The config file is not valid TOML or has a bad key or value.
    #[error(
        "config file {}, line {line}, column {column}{}: {message}",
        path.display(),
        key.as_ref().map(|k| format!(", key `{k}`")).unwrap_or_default()
    )]
    Config {
        /// The file.
        path: PathBuf,
        /// 1-based line of the fault.
        line: usize,
        /// 1-based column of the fault.
        column: usize,
        /// The key at fault (`idle_timeout`, `providers.claude.command`),
        /// when the fault is at a key or its value.
        key: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// A value is out of range or malformed.
    #[error("invalid `{key}` (from {layer}): {message}")]
    Invalid {
        /// The key or flag name.
        key: String,
        /// Where the value came from.
        layer: Layer,
        /// What is wrong, without the token.
        message: String,
    },
    /// `tls_cert` or `tls_key` was refused.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// `--no-auth` on an address other machines can reach.
    #[error(
        "--no-auth is refused with bind {bind}, which is not a loopback address: anyone who can reach it \
         would get a shell; bind 127.0.0.1 or use a token"
    )]
    NoAuthNotLoopback {
        /// The bind address.
        bind: SocketAddr,
    },
    /// Root on an address other machines can reach, without
    /// `--allow-root`.
    #[error(
        "refusing to run as root with bind {bind}, which is not a loopback address: every session would \
         be a root shell for the network; run as another user, bind 127.0.0.1, or pass --allow-root"
    )]
    RootNotLoopback {
        /// The bind address.
        bind: SocketAddr,
    },
}

pub(super) fn invalid(key: &str, layer: &Layer, message: impl Into<String>) -> OptionsError {
    OptionsError::Invalid {
        key: key.to_owned(),
        layer: layer.clone(),
        message: message.into(),
    }
}
