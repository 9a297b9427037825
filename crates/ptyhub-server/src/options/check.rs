//! Validation of the merged options: every value in range, with a
//! message that names the key and the layer it came from.

use std::time::Duration;

use super::{Layer, Options, OptionsError, TOKEN_FORM, invalid, running_as_root};
use crate::auth;

impl Options {
    /// Checks options built by hand (those from [`Options::load`] are
    /// already checked) and returns the warnings for the operator.
    pub fn validate(&self) -> Result<Vec<String>, OptionsError> {
        self.check(running_as_root())
    }

    /// The checks of [`Options::validate`], with the root check's answer
    /// given.
    pub(super) fn check(&self, is_root: bool) -> Result<Vec<String>, OptionsError> {
        let source = Layer::Default;
        let mut warnings = Vec::new();
        let loopback = self.bind.ip().is_loopback();
        if self.no_auth && !loopback {
            return Err(OptionsError::NoAuthNotLoopback { bind: self.bind });
        }
        if is_root && !loopback && !self.allow_root {
            return Err(OptionsError::RootNotLoopback { bind: self.bind });
        }
        if self.tls.is_some() && self.unix_socket.is_some() {
            return Err(invalid(
                "tls_cert",
                &source,
                "TLS is for TCP listeners, and bind is a unix: socket (guarded by its file mode): \
                 drop tls_cert and tls_key, or bind IP:PORT",
            ));
        }
        if self.tls.is_some() && self.cluster.is_some() {
            return Err(invalid(
                "cluster",
                &source,
                "the nodes of a cluster reach each other over plain HTTP (advertise_url is \
                 http://), which a TLS listener does not answer: drop tls_cert and tls_key and \
                 serve the nodes behind a TLS proxy (trusted_proxies), or drop [cluster]",
            ));
        }
        if !loopback && self.tls.is_none() && self.trusted_proxies.is_empty() {
            warnings.push(format!(
                "bind {} is not a loopback address and TLS is off: the token and every keystroke \
                 cross the network in clear; set tls_cert and tls_key, or serve behind a TLS proxy \
                 (trusted_proxies)",
                self.bind
            ));
        }
        if is_root {
            warnings.push("running as root: every session's program runs as root".to_owned());
        }
        if self.no_auth {
            warnings.push(format!(
                "authentication is off (--no-auth): every local user who can reach {} gets a shell",
                self.bind
            ));
        }
        if let Some(token) = &self.token {
            if !auth::token_is_well_formed(token) {
                return Err(invalid("token", &source, TOKEN_FORM));
            }
            if token.len() < 16 {
                warnings.push(format!(
                    "the token is short ({} characters): a generated one has 64",
                    token.len()
                ));
            }
        }
        for origin in &self.allowed_origins {
            if auth::normalize_origin(origin).is_none() {
                return Err(invalid(
                    "allowed_origins",
                    &source,
                    format!("\"{origin}\" is not an origin"),
                ));
            }
        }
        for host in &self.allowed_hosts {
            if auth::normalize_host(host).is_none() {
                return Err(invalid(
                    "allowed_hosts",
                    &source,
                    format!("\"{host}\" is not a host name"),
                ));
            }
        }
        for (key, count) in [
            ("max_sessions", self.max_sessions),
            ("max_clients_per_session", self.max_clients_per_session),
        ] {
            if count == 0 {
                return Err(invalid(key, &source, "must be at least 1"));
            }
        }
        for (key, limit) in [
            ("idle_timeout", self.idle_timeout),
            ("max_lifetime", self.max_lifetime),
            ("cpu_limit", self.cpu_limit),
        ] {
            if limit == Some(Duration::ZERO) {
                return Err(invalid(
                    key,
                    &source,
                    "must be more than 0; use \"none\" for no limit",
                ));
            }
        }
        if self.memory_limit_bytes == Some(0) {
            return Err(invalid(
                "memory_limit",
                &source,
                "must be more than 0; use \"none\" for no limit",
            ));
        }
        if self.max_processes == Some(0) {
            return Err(invalid(
                "max_processes",
                &source,
                "must be more than 0; use \"none\" for no limit",
            ));
        }
        for (name, provider) in &self.providers {
            let limits = provider.limits(self.limits());
            for (key, zero) in [
                ("idle_timeout", limits.idle_timeout == Some(Duration::ZERO)),
                ("max_lifetime", limits.max_lifetime == Some(Duration::ZERO)),
                ("cpu_limit", limits.cpu_limit == Some(Duration::ZERO)),
                ("memory_limit", limits.memory_limit == Some(0)),
                ("max_processes", limits.max_processes == Some(0)),
            ] {
                if zero {
                    return Err(invalid(
                        &format!("providers.{name}.{key}"),
                        &source,
                        "must be more than 0; use \"none\" for no limit",
                    ));
                }
            }
        }
        if self.sample_interval < Duration::from_millis(10) {
            return Err(invalid("sample_interval", &source, "must be at least 10ms"));
        }
        if self.agent_quiet < Duration::from_millis(100) {
            return Err(invalid("agent_quiet", &source, "must be at least 100ms"));
        }
        if self.idle_after.is_zero() {
            return Err(invalid("idle_after", &source, "must be more than 0"));
        }
        for (key, size) in [
            ("scrollback_bytes", self.scrollback_bytes),
            ("client_queue_bytes", self.client_queue_bytes),
            ("max_message_bytes", self.max_message_bytes),
        ] {
            if size < 1024 {
                return Err(invalid(
                    key,
                    &source,
                    format!("{size} bytes is too small: the least is 1KiB"),
                ));
            }
        }
        if self.record_max_bytes < 4096 {
            return Err(invalid(
                "record_max_bytes",
                &source,
                format!(
                    "{} bytes is too small: the least is 4KiB",
                    self.record_max_bytes
                ),
            ));
        }
        for (key, path) in [
            ("workspace_root", &self.workspace_root),
            ("runtime_dir", &self.runtime_dir),
            ("recordings_dir", &self.recordings_dir),
        ] {
            if let Some(path) = path
                && !path.is_absolute()
            {
                return Err(invalid(
                    key,
                    &source,
                    format!("\"{}\" is not an absolute path", path.display()),
                ));
            }
        }
        if let Some(names) = &self.env_allow {
            for name in names {
                if name.is_empty() || name.contains('=') || name.contains('\0') {
                    return Err(invalid(
                        "env_allow",
                        &source,
                        format!("\"{name}\" is not a variable name"),
                    ));
                }
            }
        }
        for (name, provider) in &self.providers {
            let key = format!("providers.{name}");
            let name_ok = !name.is_empty()
                && name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
            if !name_ok {
                return Err(invalid(
                    &key,
                    &source,
                    "a provider name is 1 to 64 letters, digits, `-`, `_` or `.`",
                ));
            }
            if provider.command.trim().is_empty() {
                return Err(invalid(
                    &format!("{key}.command"),
                    &source,
                    "must not be empty",
                ));
            }
            for (field, path) in [("cwd", &provider.cwd), ("bin_dir", &provider.bin_dir)] {
                if let Some(path) = path
                    && !path.is_absolute()
                {
                    return Err(invalid(
                        &format!("{key}.{field}"),
                        &source,
                        format!("\"{}\" is not an absolute path", path.display()),
                    ));
                }
            }
        }
        Ok(warnings)
    }
}
