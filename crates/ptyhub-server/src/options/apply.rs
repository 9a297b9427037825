//! The config file's layer: its values laid over the options, checked.

use std::num::NonZeroUsize;
use std::path::Path;
use std::time::Duration;

use super::{
    ConfigFile, Layer, Options, OptionsError, checked_token, invalid, parse_base_path, parse_proxy,
    parse_socket_mode, read_token_file, set,
};
use crate::auth;
use crate::units::Limit;

impl Options {
    /// Lays the config file's values over these options.
    pub(super) fn apply_file(
        &mut self,
        c: ConfigFile,
        path: &Path,
        warnings: &mut Vec<String>,
    ) -> Result<(), OptionsError> {
        let source = Layer::File(path.to_owned());
        if let Some(bind) = c.bind {
            self.set_bind(&bind, &source)?;
        }
        match (c.token, c.token_file) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "token_file",
                    &source,
                    "give `token` or `token_file`, not both",
                ));
            }
            (Some(token), None) => self.token = Some(checked_token(&token, &source)?),
            (None, Some(token_file)) => {
                let (token, warning) = read_token_file(&token_file, &source)?;
                self.token = Some(token);
                warnings.extend(warning);
            }
            (None, None) => {}
        }
        set(&mut self.no_auth, c.no_auth);
        set(&mut self.allow_root, c.allow_root);
        if let Some(origins) = c.allowed_origins {
            self.allowed_origins = origins
                .iter()
                .map(|o| {
                    auth::normalize_origin(o).ok_or_else(|| {
                        invalid(
                            "allowed_origins",
                            &source,
                            format!("\"{o}\" is not an origin: give scheme://host[:port], with http or https"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(hosts) = c.allowed_hosts {
            self.allowed_hosts = hosts
                .iter()
                .map(|h| {
                    auth::normalize_host(h).ok_or_else(|| {
                        invalid(
                            "allowed_hosts",
                            &source,
                            format!("\"{h}\" is not a host name"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        set(
            &mut self.allow_arbitrary_commands,
            c.allow_arbitrary_commands,
        );
        if c.workspace_root.is_some() {
            self.workspace_root = c.workspace_root;
        }
        if c.env_allow.is_some() {
            self.env_allow = c.env_allow;
        }
        set(
            &mut self.max_sessions,
            c.max_sessions.map(NonZeroUsize::get),
        );
        set(
            &mut self.max_clients_per_session,
            c.max_clients_per_session.map(NonZeroUsize::get),
        );
        set(
            &mut self.idle_timeout,
            c.idle_timeout.map(|l| l.map(Duration::from).into_option()),
        );
        set(
            &mut self.max_lifetime,
            c.max_lifetime.map(|l| l.map(Duration::from).into_option()),
        );
        set(
            &mut self.memory_limit_bytes,
            c.memory_limit.map(|l| l.map(|b| b.0).into_option()),
        );
        set(
            &mut self.cpu_limit,
            c.cpu_limit.map(|l| l.map(Duration::from).into_option()),
        );
        set(
            &mut self.max_processes,
            c.max_processes.map(Limit::into_option),
        );
        set(
            &mut self.terminate_grace,
            c.terminate_grace.map(Duration::from),
        );
        set(&mut self.linger, c.linger.map(Duration::from));
        set(&mut self.idle_after, c.idle_after.map(Duration::from));
        set(&mut self.agent_quiet, c.agent_quiet.map(Duration::from));
        set(
            &mut self.sample_interval,
            c.sample_interval.map(Duration::from),
        );
        set(&mut self.stall_timeout, c.stall_timeout.map(Duration::from));
        for (key, value, field) in [
            (
                "scrollback_bytes",
                c.scrollback_bytes,
                &mut self.scrollback_bytes,
            ),
            (
                "client_queue_bytes",
                c.client_queue_bytes,
                &mut self.client_queue_bytes,
            ),
            (
                "max_message_bytes",
                c.max_message_bytes,
                &mut self.max_message_bytes,
            ),
        ] {
            if let Some(size) = value {
                *field = size
                    .to_usize()
                    .map_err(|e| invalid(key, &source, e.to_string()))?;
            }
        }
        set(&mut self.resize_policy, c.resize_policy);
        if let Some(providers) = c.providers {
            self.providers = providers;
        }
        if c.runtime_dir.is_some() {
            self.runtime_dir = c.runtime_dir;
        }
        if let Some(proxies) = c.trusted_proxies {
            self.trusted_proxies = proxies
                .iter()
                .map(|p| parse_proxy(p).map_err(|m| invalid("trusted_proxies", &source, m)))
                .collect::<Result<_, _>>()?;
        }
        if let Some(mode) = c.socket_mode {
            self.socket_mode =
                parse_socket_mode(&mode).map_err(|m| invalid("socket_mode", &source, m))?;
        }
        if let Some(cluster) = c.cluster {
            self.cluster = Some(super::ClusterOptions::from_config(
                cluster,
                &source,
                super::hostname,
            )?);
        }
        if let Some(base) = c.base_path {
            self.base_path =
                parse_base_path(&base).map_err(|m| invalid("base_path", &source, m))?;
        }
        set(&mut self.record, c.record);
        if c.recordings_dir.is_some() {
            self.recordings_dir = c.recordings_dir;
        }
        set(&mut self.record_input, c.record_input);
        set(&mut self.record_max_bytes, c.record_max_bytes.map(|b| b.0));
        Ok(())
    }
}
