//! The config file: [`ConfigFile`] and its providers ([`ProviderConfig`]),
//! parsed from TOML with unknown keys refused; a parse error names the
//! file, the line, the column and the dotted key.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ptyhub_core::Limits;
use ptyhub_protocol::api::ResizePolicy;
use serde::Deserialize;
use toml::de::{DeTable, DeValue};

use super::OptionsError;
use crate::units::{ByteSize, DurationValue, Limit};

/// A provider as the config file describes it (`[providers.NAME]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// The program: a name looked up on `PATH` (and in `bin_dir`), or a
    /// path.
    pub command: String,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Extra environment for its sessions.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The working directory of its sessions, when the request gives none.
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    /// A directory searched for `command` before `PATH`.
    #[serde(default)]
    pub bin_dir: Option<PathBuf>,
    /// `idle_timeout` for its sessions, over the server-wide one.
    #[serde(default)]
    pub idle_timeout: Option<Limit<DurationValue>>,
    /// `max_lifetime` for its sessions.
    #[serde(default)]
    pub max_lifetime: Option<Limit<DurationValue>>,
    /// `memory_limit` for its sessions.
    #[serde(default)]
    pub memory_limit: Option<Limit<ByteSize>>,
    /// `cpu_limit` for its sessions.
    #[serde(default)]
    pub cpu_limit: Option<Limit<DurationValue>>,
    /// `max_processes` for its sessions.
    #[serde(default)]
    pub max_processes: Option<Limit<u64>>,
    /// A regex: a window title matching it is agent state `busy` (replaces
    /// the preset's).
    #[serde(default)]
    pub busy_title: Option<String>,
    /// A regex: a window title matching it is agent state `ready`.
    #[serde(default)]
    pub ready_title: Option<String>,
    /// Regexes: a screen line matching one is agent state `busy`.
    #[serde(default)]
    pub busy_patterns: Option<Vec<String>>,
    /// Regexes: a screen line matching one is agent state `waiting`.
    #[serde(default)]
    pub waiting_patterns: Option<Vec<String>>,
    /// Regexes: a screen line matching one is agent state `ready`.
    #[serde(default)]
    pub ready_patterns: Option<Vec<String>>,
    /// `record` for its sessions, over the server-wide one.
    #[serde(default)]
    pub record: Option<bool>,
}

impl ProviderConfig {
    /// `base` with this provider's own limits put over it.
    pub fn limits(&self, base: Limits) -> Limits {
        fn over<T>(own: Option<Limit<T>>, base: Option<T>) -> Option<T> {
            own.map_or(base, Limit::into_option)
        }
        Limits {
            idle_timeout: over(
                self.idle_timeout.map(|l| l.map(Duration::from)),
                base.idle_timeout,
            ),
            max_lifetime: over(
                self.max_lifetime.map(|l| l.map(Duration::from)),
                base.max_lifetime,
            ),
            memory_limit: over(self.memory_limit.map(|l| l.map(|b| b.0)), base.memory_limit),
            cpu_limit: over(
                self.cpu_limit.map(|l| l.map(Duration::from)),
                base.cpu_limit,
            ),
            max_processes: over(self.max_processes, base.max_processes),
        }
    }
}

/// The config file: every key optional, unknown keys refused. Durations
/// are strings such as `"5s"`, sizes integers of bytes or strings such as
/// `"64MiB"`; the limits that can be switched off also take `"none"`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // the keys are documented on `Options`
pub struct ConfigFile {
    pub bind: Option<String>,
    pub token: Option<String>,
    /// A file holding the token (its first line); not with `token`.
    pub token_file: Option<PathBuf>,
    pub no_auth: Option<bool>,
    pub allow_root: Option<bool>,
    pub allowed_origins: Option<Vec<String>>,
    pub allowed_hosts: Option<Vec<String>>,
    pub allow_arbitrary_commands: Option<bool>,
    pub workspace_root: Option<PathBuf>,
    pub env_allow: Option<Vec<String>>,
    pub max_sessions: Option<NonZeroUsize>,
    pub max_clients_per_session: Option<NonZeroUsize>,
    pub idle_timeout: Option<Limit<DurationValue>>,
    pub max_lifetime: Option<Limit<DurationValue>>,
    pub memory_limit: Option<Limit<ByteSize>>,
    pub cpu_limit: Option<Limit<DurationValue>>,
    pub max_processes: Option<Limit<u64>>,
    pub terminate_grace: Option<DurationValue>,
    pub linger: Option<DurationValue>,
    pub idle_after: Option<DurationValue>,
    pub agent_quiet: Option<DurationValue>,
    pub sample_interval: Option<DurationValue>,
    pub scrollback_bytes: Option<ByteSize>,
    pub client_queue_bytes: Option<ByteSize>,
    pub stall_timeout: Option<DurationValue>,
    pub resize_policy: Option<ResizePolicy>,
    pub max_message_bytes: Option<ByteSize>,
    pub providers: Option<BTreeMap<String, ProviderConfig>>,
    pub runtime_dir: Option<PathBuf>,
    pub base_path: Option<String>,
    pub trusted_proxies: Option<Vec<String>>,
    pub socket_mode: Option<String>,
    pub record: Option<bool>,
    pub recordings_dir: Option<PathBuf>,
    pub record_input: Option<bool>,
    pub record_max_bytes: Option<ByteSize>,
    /// The certificate chain for HTTPS (PEM); with `tls_key`.
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM); with `tls_cert`.
    pub tls_key: Option<PathBuf>,
    pub cluster: Option<super::ClusterConfig>,
}

impl ConfigFile {
    /// Parses a config file's text; `path` is only for the messages, which
    /// name the file, the line and the key.
    pub fn parse(text: &str, path: &Path) -> Result<ConfigFile, OptionsError> {
        let file: ConfigFile = toml::from_str(text).map_err(|err| {
            let offset = err.span().map(|s| s.start);
            let (line, column) = offset.map(|o| line_column(text, o)).unwrap_or((1, 1));
            OptionsError::Config {
                path: path.to_owned(),
                line,
                column,
                key: offset.and_then(|o| key_path_at(text, o)),
                message: err.message().trim().replace('\n', " "),
            }
        })?;
        super::patterns::check(&file, text, path)?;
        Ok(file)
    }

    /// Reads and parses the config file at `path`.
    pub fn read(path: &Path) -> Result<ConfigFile, OptionsError> {
        let text = std::fs::read_to_string(path).map_err(|source| OptionsError::Read {
            what: "config file",
            path: path.to_owned(),
            source,
        })?;
        ConfigFile::parse(&text, path)
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub(super) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// The dotted key path (`providers.claude.command`, `allowed_origins[1]`)
/// whose key or value is at `offset`, the deepest one; `None` when the
/// text does not parse or nothing is there.
fn key_path_at(text: &str, offset: usize) -> Option<String> {
    let doc = DeTable::parse(text).ok()?;
    let path = find_in_table(doc.get_ref(), offset)?;
    let mut out = String::new();
    for part in path {
        if !out.is_empty() && !part.starts_with('[') {
            out.push('.');
        }
        out.push_str(&part);
    }
    Some(out)
}

fn find_in_table(table: &DeTable<'_>, offset: usize) -> Option<Vec<String>> {
    for (key, value) in table.iter() {
        // A `[table]`'s children are not inside its span (that is the
        // header's), so look deeper first.
        if let Some(mut deeper) = find_in_value(value.get_ref(), offset) {
            deeper.insert(0, key.get_ref().to_string());
            return Some(deeper);
        }
        if key.span().contains(&offset) || value.span().contains(&offset) {
            return Some(vec![key.get_ref().to_string()]);
        }
    }
    None
}

fn find_in_value(value: &DeValue<'_>, offset: usize) -> Option<Vec<String>> {
    match value {
        DeValue::Table(table) => find_in_table(table, offset),
        DeValue::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let mut deeper = find_in_value(item.get_ref(), offset);
            if deeper.is_none() && item.span().contains(&offset) {
                deeper = Some(Vec::new());
            }
            deeper.map(|mut d| {
                d.insert(0, format!("[{i}]"));
                d
            })
        }),
        _ => None,
    }
}
