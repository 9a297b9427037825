//! The server's options: one validated struct, [`Options`], with the units
//! in the field names, and the ways to fill it.
//!
//! Precedence, lowest first (each layer overrides the ones below it):
//!
//! 1. the defaults of spec section 6 ([`Options::default`]);
//! 2. the TOML config file ([`ConfigFile`]; every key optional, unknown
//!    keys refused) named by `--config`, else `PTYHUB_CONFIG`, else the
//!    default the caller passes;
//! 3. the environment: `PTYHUB_TOKEN`, `PTYHUB_BIND` (an empty value counts
//!    as unset);
//! 4. the command line ([`Flags`]).
//!
//! [`Options::load`] merges the layers and validates the result: bad
//! values name their key and where they came from, a bad config file names
//! the file, the line and the key. The token's value never appears in an
//! error or a warning.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ptyhub_core::Limits;
use ptyhub_protocol::api::ResizePolicy;
use serde::Deserialize;
use toml::de::{DeTable, DeValue};

use crate::auth;
use crate::units::{ByteSize, DurationValue, Limit};

/// The address the server binds when nothing says otherwise.
pub const DEFAULT_BIND: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 7681));

/// The port of [`DEFAULT_BIND`], used when `--bind` names an address only.
pub const DEFAULT_PORT: u16 = 7681;

/// Reads one environment variable; `std::env::var(name).ok()` in the
/// binary, a map in tests.
pub type EnvFn<'a> = &'a dyn Fn(&str) -> Option<String>;

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

/// Every option of the server, validated; see the module doc for where the
/// values come from. Durations and sizes carry their unit in the name;
/// `None` switches a limit off.
#[derive(Clone, PartialEq)]
pub struct Options {
    /// Where to listen (`127.0.0.1:7681`).
    pub bind: SocketAddr,
    /// The token; `None` means one is generated at start (see
    /// [`Options::resolve_token`]), or none is needed under `no_auth`.
    pub token: Option<String>,
    /// No token at all: only allowed on a loopback bind.
    pub no_auth: bool,
    /// Allow a non-loopback bind when running as root.
    pub allow_root: bool,
    /// Extra origins a WebSocket upgrade may come from, normalised to
    /// `scheme://host:port`.
    pub allowed_origins: Vec<String>,
    /// Extra host names a loopback-bound server answers to (lowercase, no
    /// port).
    pub allowed_hosts: Vec<String>,
    /// Whether a request may run a `command` of its own instead of a
    /// provider.
    pub allow_arbitrary_commands: bool,
    /// When set, every session's `cwd` must be under it.
    pub workspace_root: Option<PathBuf>,
    /// When set, the only environment variable names a request may set.
    pub env_allow: Option<Vec<String>>,
    /// Running sessions at most (64).
    pub max_sessions: usize,
    /// Attached clients per session at most (32).
    pub max_clients_per_session: usize,
    /// No input and no output for this long ends a session (2h).
    pub idle_timeout: Option<Duration>,
    /// A session older than this is ended (none).
    pub max_lifetime: Option<Duration>,
    /// A session whose process tree's RSS passes this is ended (none).
    pub memory_limit_bytes: Option<u64>,
    /// A session whose process tree's CPU time passes this is ended (none).
    pub cpu_limit: Option<Duration>,
    /// A session with more processes than this is ended (512).
    pub max_processes: Option<u64>,
    /// From SIGTERM to SIGKILL (5s).
    pub terminate_grace: Duration,
    /// How long an ended session stays listed (5min).
    pub linger: Duration,
    /// No I/O for this long makes a session `idle` (30s).
    pub idle_after: Duration,
    /// How often the process trees are sampled (1s).
    pub sample_interval: Duration,
    /// Raw output kept per session (1 MiB).
    pub scrollback_bytes: usize,
    /// Each client's output queue (1 MiB).
    pub client_queue_bytes: usize,
    /// How long a full client queue may stall the terminal (2s).
    pub stall_timeout: Duration,
    /// The resize policy of sessions that do not ask for one (`latest`).
    pub resize_policy: ResizePolicy,
    /// The HTTP body and WebSocket message limit (1 MiB).
    pub max_message_bytes: usize,
    /// Providers from the config file; they add to or replace the
    /// built-in ones (see `providers`).
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Where the runtime file goes; `None` for the default
    /// (`$XDG_RUNTIME_DIR/ptyhub`, else `~/.local/state/ptyhub`).
    pub runtime_dir: Option<PathBuf>,
    /// Warnings for the operator found while loading (`--token` on the
    /// command line, running as root, ...); empty for hand-built options.
    pub warnings: Vec<String>,
}

impl Default for Options {
    /// The defaults of spec section 6.
    fn default() -> Self {
        const MIB: usize = 1 << 20;
        Options {
            bind: DEFAULT_BIND,
            token: None,
            no_auth: false,
            allow_root: false,
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            allow_arbitrary_commands: false,
            workspace_root: None,
            env_allow: None,
            max_sessions: 64,
            max_clients_per_session: 32,
            idle_timeout: Some(Duration::from_secs(2 * 3600)),
            max_lifetime: None,
            memory_limit_bytes: None,
            cpu_limit: None,
            max_processes: Some(512),
            terminate_grace: Duration::from_secs(5),
            linger: Duration::from_secs(5 * 60),
            idle_after: Duration::from_secs(30),
            sample_interval: Duration::from_secs(1),
            scrollback_bytes: MIB,
            client_queue_bytes: MIB,
            stall_timeout: Duration::from_secs(2),
            resize_policy: ResizePolicy::Latest,
            max_message_bytes: MIB,
            providers: BTreeMap::new(),
            runtime_dir: None,
            warnings: Vec::new(),
        }
    }
}

impl fmt::Debug for Options {
    /// Every field but the token's value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("bind", &self.bind)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("no_auth", &self.no_auth)
            .field("allow_root", &self.allow_root)
            .field("allowed_origins", &self.allowed_origins)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("allow_arbitrary_commands", &self.allow_arbitrary_commands)
            .field("workspace_root", &self.workspace_root)
            .field("env_allow", &self.env_allow)
            .field("max_sessions", &self.max_sessions)
            .field("max_clients_per_session", &self.max_clients_per_session)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_lifetime", &self.max_lifetime)
            .field("memory_limit_bytes", &self.memory_limit_bytes)
            .field("cpu_limit", &self.cpu_limit)
            .field("max_processes", &self.max_processes)
            .field("terminate_grace", &self.terminate_grace)
            .field("linger", &self.linger)
            .field("idle_after", &self.idle_after)
            .field("sample_interval", &self.sample_interval)
            .field("scrollback_bytes", &self.scrollback_bytes)
            .field("client_queue_bytes", &self.client_queue_bytes)
            .field("stall_timeout", &self.stall_timeout)
            .field("resize_policy", &self.resize_policy)
            .field("max_message_bytes", &self.max_message_bytes)
            .field("providers", &self.providers)
            .field("runtime_dir", &self.runtime_dir)
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// The options the command line can set (`ptyhub serve ...`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    /// `--config FILE`.
    pub config: Option<PathBuf>,
    /// `--bind ADDR`.
    pub bind: Option<String>,
    /// `--token T` (works, but shows in `ps`: a warning says so).
    pub token: Option<String>,
    /// `--no-auth`.
    pub no_auth: bool,
    /// `--allow-root`.
    pub allow_root: bool,
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
    pub sample_interval: Option<DurationValue>,
    pub scrollback_bytes: Option<ByteSize>,
    pub client_queue_bytes: Option<ByteSize>,
    pub stall_timeout: Option<DurationValue>,
    pub resize_policy: Option<ResizePolicy>,
    pub max_message_bytes: Option<ByteSize>,
    pub providers: Option<BTreeMap<String, ProviderConfig>>,
    pub runtime_dir: Option<PathBuf>,
}

/// Where a value came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layer {
    /// The built-in default, or options built by hand.
    Default,
    /// The config file at this path.
    File(PathBuf),
    /// This environment variable.
    Env(&'static str),
    /// This command-line flag.
    Flag(&'static str),
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Layer::Default => f.write_str("the options"),
            Layer::File(path) => write!(f, "config file {}", path.display()),
            Layer::Env(name) => write!(f, "environment variable {name}"),
            Layer::Flag(name) => f.write_str(name),
        }
    }
}

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

fn invalid(key: &str, layer: &Layer, message: impl Into<String>) -> OptionsError {
    OptionsError::Invalid {
        key: key.to_owned(),
        layer: layer.clone(),
        message: message.into(),
    }
}

/// Parses a bind address: `IP:PORT` (`127.0.0.1:7681`, `[::1]:7681`),
/// `localhost:PORT`, an IP alone (port 7681) or a port alone (on
/// 127.0.0.1).
pub fn parse_bind(text: &str) -> Result<SocketAddr, String> {
    let s = text.trim();
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, DEFAULT_PORT));
    }
    if let Ok(ip) = s
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::Ipv6Addr>()
    {
        return Ok(SocketAddr::new(IpAddr::V6(ip), DEFAULT_PORT));
    }
    if let Ok(port) = s.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    if let Some(port) = s.strip_prefix("localhost:")
        && let Ok(port) = port.parse::<u16>()
    {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    if s == "localhost" {
        return Ok(DEFAULT_BIND);
    }
    Err(format!(
        "\"{text}\" is not an address to listen on: give IP:PORT such as 127.0.0.1:7681 or [::1]:7681"
    ))
}

impl ConfigFile {
    /// Parses a config file's text; `path` is only for the messages, which
    /// name the file, the line and the key.
    pub fn parse(text: &str, path: &Path) -> Result<ConfigFile, OptionsError> {
        toml::from_str(text).map_err(|err| {
            let offset = err.span().map(|s| s.start);
            let (line, column) = offset.map(|o| line_column(text, o)).unwrap_or((1, 1));
            OptionsError::Config {
                path: path.to_owned(),
                line,
                column,
                key: offset.and_then(|o| key_path_at(text, o)),
                message: err.message().trim().replace('\n', " "),
            }
        })
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
fn line_column(text: &str, offset: usize) -> (usize, usize) {
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

/// The effective user is root.
fn running_as_root() -> bool {
    rustix::process::geteuid().is_root()
}

impl Options {
    /// Loads the options from every layer (see the module doc) and
    /// validates them. The config file is `flags.config`, else
    /// `PTYHUB_CONFIG`, else `file`; whichever is named must exist.
    pub fn load(
        file: Option<&Path>,
        env: EnvFn<'_>,
        flags: &Flags,
    ) -> Result<Options, OptionsError> {
        Options::load_as(file, env, flags, running_as_root())
    }

    /// [`Options::load`] with the root check's answer given, for tests.
    pub fn load_as(
        file: Option<&Path>,
        env: EnvFn<'_>,
        flags: &Flags,
        is_root: bool,
    ) -> Result<Options, OptionsError> {
        let env = |name: &str| env(name).filter(|v| !v.is_empty());
        let mut options = Options::default();
        let mut warnings = Vec::new();

        // 2. The config file.
        let config_path = flags
            .config
            .clone()
            .or_else(|| env("PTYHUB_CONFIG").map(PathBuf::from))
            .or_else(|| file.map(Path::to_owned));
        let mut config_source = None;
        if let Some(path) = config_path {
            let config = ConfigFile::read(&path)?;
            options.apply_file(config, &path, &mut warnings)?;
            config_source = Some(Layer::File(path));
        }

        // 3. The environment.
        if let Some(bind) = env("PTYHUB_BIND") {
            let source = Layer::Env("PTYHUB_BIND");
            options.bind = parse_bind(&bind).map_err(|m| invalid("bind", &source, m))?;
        }
        if let Some(token) = env("PTYHUB_TOKEN") {
            options.token = Some(checked_token(token.trim(), &Layer::Env("PTYHUB_TOKEN"))?);
        }

        // 4. The command line.
        if let Some(bind) = &flags.bind {
            let source = Layer::Flag("--bind");
            options.bind = parse_bind(bind).map_err(|m| invalid("bind", &source, m))?;
        }
        if let Some(token) = &flags.token {
            options.token = Some(checked_token(token, &Layer::Flag("--token"))?);
            warnings.push(
                "--token shows the token to every local user in `ps`; prefer the PTYHUB_TOKEN environment \
                 variable or token_file in the config file"
                    .to_owned(),
            );
        }
        options.no_auth |= flags.no_auth;
        options.allow_root |= flags.allow_root;

        if options.no_auth && options.token.take().is_some() {
            warnings.push("--no-auth is on: the configured token is ignored".to_owned());
        }
        let checked = options
            .check(is_root)
            .map_err(|err| match (err, &config_source) {
                // Keys that only the file sets: name the file.
                (
                    OptionsError::Invalid {
                        key,
                        layer: Layer::Default,
                        message,
                    },
                    Some(file),
                ) => OptionsError::Invalid {
                    key,
                    layer: file.clone(),
                    message,
                },
                (err, _) => err,
            })?;
        warnings.extend(checked);
        options.warnings = warnings;
        Ok(options)
    }

    /// Lays the config file's values over these options.
    fn apply_file(
        &mut self,
        c: ConfigFile,
        path: &Path,
        warnings: &mut Vec<String>,
    ) -> Result<(), OptionsError> {
        let source = Layer::File(path.to_owned());
        if let Some(bind) = c.bind {
            self.bind = parse_bind(&bind).map_err(|m| invalid("bind", &source, m))?;
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
        Ok(())
    }

    /// Checks options built by hand (those from [`Options::load`] are
    /// already checked) and returns the warnings for the operator.
    pub fn validate(&self) -> Result<Vec<String>, OptionsError> {
        self.check(running_as_root())
    }

    /// The checks of [`Options::validate`], with the root check's answer
    /// given.
    fn check(&self, is_root: bool) -> Result<Vec<String>, OptionsError> {
        let source = Layer::Default;
        let mut warnings = Vec::new();
        let loopback = self.bind.ip().is_loopback();
        if self.no_auth && !loopback {
            return Err(OptionsError::NoAuthNotLoopback { bind: self.bind });
        }
        if is_root && !loopback && !self.allow_root {
            return Err(OptionsError::RootNotLoopback { bind: self.bind });
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
        for (key, path) in [
            ("workspace_root", &self.workspace_root),
            ("runtime_dir", &self.runtime_dir),
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

    /// The warnings found while loading, for the binary to print once.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The server-wide session limits (a provider may put its own over
    /// them, see [`ProviderConfig::limits`]).
    pub fn limits(&self) -> Limits {
        Limits {
            idle_timeout: self.idle_timeout,
            max_lifetime: self.max_lifetime,
            memory_limit: self.memory_limit_bytes,
            cpu_limit: self.cpu_limit,
            max_processes: self.max_processes,
        }
    }

    /// The token the server runs with: `None` under `no_auth`, else the
    /// configured one, else a fresh one (see [`auth::generate_token`]).
    pub fn resolve_token(&self) -> std::io::Result<Option<String>> {
        if self.no_auth {
            return Ok(None);
        }
        match &self.token {
            Some(token) => Ok(Some(token.clone())),
            None => auth::generate_token().map(Some),
        }
    }
}

const TOKEN_FORM: &str =
    "a token is printable ASCII without spaces, quotes, commas, semicolons or backslashes";

fn checked_token(token: &str, source: &Layer) -> Result<String, OptionsError> {
    if auth::token_is_well_formed(token) {
        Ok(token.to_owned())
    } else {
        Err(invalid("token", source, TOKEN_FORM))
    }
}

/// The token in `path` (its first line), and a warning when other users
/// may read the file.
fn read_token_file(path: &Path, source: &Layer) -> Result<(String, Option<String>), OptionsError> {
    use std::os::unix::fs::PermissionsExt;
    let read_error = |e| OptionsError::Read {
        what: "token_file",
        path: path.to_owned(),
        source: e,
    };
    let text = std::fs::read_to_string(path).map_err(read_error)?;
    let mode = std::fs::metadata(path)
        .map_err(read_error)?
        .permissions()
        .mode();
    let token = checked_token(text.lines().next().unwrap_or("").trim(), source)?;
    let warning = (mode & 0o077 != 0).then(|| {
        format!(
            "token_file {} can be read by other users (mode {:o}); chmod 600 it",
            path.display(),
            mode & 0o777
        )
    });
    Ok((token, warning))
}

/// Overwrites `field` when the layer has a value.
fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *field = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A directory under the system's temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            static N: AtomicUsize = AtomicUsize::new(0);
            let path = std::env::temp_dir().join(format!(
                "ptyhub-options-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&path).unwrap();
            TempDir(path)
        }

        fn file(&self, name: &str, text: &str) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, text).unwrap();
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name: &str| map.get(name).cloned()
    }

    fn load(
        file: Option<&Path>,
        vars: &[(&str, &str)],
        flags: &Flags,
    ) -> Result<Options, OptionsError> {
        Options::load_as(file, &env_of(vars), flags, false)
    }

    fn load_file(text: &str) -> Result<Options, OptionsError> {
        let dir = TempDir::new();
        let path = dir.file("ptyhub.toml", text);
        load(Some(&path), &[], &Flags::default())
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn defaults_are_the_spec_s() {
        let o = load(None, &[], &Flags::default()).unwrap();
        assert_eq!(o, Options::default());
        assert_eq!(o.bind, addr("127.0.0.1:7681"));
        assert_eq!(o.token, None);
        assert_eq!(o.max_sessions, 64);
        assert_eq!(o.max_clients_per_session, 32);
        assert_eq!(o.idle_timeout, Some(Duration::from_secs(7200)));
        assert_eq!(o.max_lifetime, None);
        assert_eq!(o.memory_limit_bytes, None);
        assert_eq!(o.cpu_limit, None);
        assert_eq!(o.max_processes, Some(512));
        assert_eq!(o.terminate_grace, Duration::from_secs(5));
        assert_eq!(o.linger, Duration::from_secs(300));
        assert_eq!(o.idle_after, Duration::from_secs(30));
        assert_eq!(o.sample_interval, Duration::from_secs(1));
        assert_eq!(o.scrollback_bytes, 1 << 20);
        assert_eq!(o.client_queue_bytes, 1 << 20);
        assert_eq!(o.stall_timeout, Duration::from_secs(2));
        assert_eq!(o.resize_policy, ResizePolicy::Latest);
        assert_eq!(o.max_message_bytes, 1 << 20);
        assert!(o.warnings().is_empty());
        assert_eq!(Options::default().validate().map(|_| ()).ok(), Some(()));
    }

    #[test]
    fn every_file_key_is_read() {
        let o = load_file(
            r#"
bind = "127.0.0.1:9000"
token = "file-token-0123456789"
allow_root = true
allowed_origins = ["https://Dev.Example.com", "http://localhost:3000/"]
allowed_hosts = ["MyBox:7681"]
allow_arbitrary_commands = true
workspace_root = "/home/me/src"
env_allow = ["LANG", "EDITOR"]
max_sessions = 3
max_clients_per_session = 4
idle_timeout = "none"
max_lifetime = "1d"
memory_limit = "2GiB"
cpu_limit = "10min"
max_processes = 100
terminate_grace = "250ms"
linger = "1min"
idle_after = "10s"
sample_interval = "500ms"
scrollback_bytes = "64KiB"
client_queue_bytes = 65536
stall_timeout = "1s"
resize_policy = "smallest"
max_message_bytes = "2MB"
runtime_dir = "/run/ptyhub-test"

[providers.claude-yolo]
command = "claude"
args = ["--dangerously-skip-permissions"]
env = { CLAUDE_CODE_ENTRYPOINT = "ptyhub" }
cwd = "/home/me/src"
bin_dir = "/opt/claude/bin"
"#,
        )
        .unwrap();
        assert_eq!(o.bind, addr("127.0.0.1:9000"));
        assert_eq!(o.token.as_deref(), Some("file-token-0123456789"));
        assert!(o.allow_root);
        assert_eq!(
            o.allowed_origins,
            ["https://dev.example.com:443", "http://localhost:3000"]
        );
        assert_eq!(o.allowed_hosts, ["mybox"]);
        assert!(o.allow_arbitrary_commands);
        assert_eq!(o.workspace_root, Some(PathBuf::from("/home/me/src")));
        assert_eq!(
            o.env_allow,
            Some(vec!["LANG".to_owned(), "EDITOR".to_owned()])
        );
        assert_eq!(o.max_sessions, 3);
        assert_eq!(o.max_clients_per_session, 4);
        assert_eq!(o.idle_timeout, None);
        assert_eq!(o.max_lifetime, Some(Duration::from_secs(86_400)));
        assert_eq!(o.memory_limit_bytes, Some(2 << 30));
        assert_eq!(o.cpu_limit, Some(Duration::from_secs(600)));
        assert_eq!(o.max_processes, Some(100));
        assert_eq!(o.terminate_grace, Duration::from_millis(250));
        assert_eq!(o.linger, Duration::from_secs(60));
        assert_eq!(o.idle_after, Duration::from_secs(10));
        assert_eq!(o.sample_interval, Duration::from_millis(500));
        assert_eq!(o.scrollback_bytes, 64 << 10);
        assert_eq!(o.client_queue_bytes, 65536);
        assert_eq!(o.stall_timeout, Duration::from_secs(1));
        assert_eq!(o.resize_policy, ResizePolicy::Smallest);
        assert_eq!(o.max_message_bytes, 2_000_000);
        assert_eq!(o.runtime_dir, Some(PathBuf::from("/run/ptyhub-test")));
        let p = &o.providers["claude-yolo"];
        assert_eq!(p.command, "claude");
        assert_eq!(p.args, ["--dangerously-skip-permissions"]);
        assert_eq!(p.env["CLAUDE_CODE_ENTRYPOINT"], "ptyhub");
        assert_eq!(p.cwd, Some(PathBuf::from("/home/me/src")));
        assert_eq!(p.bin_dir, Some(PathBuf::from("/opt/claude/bin")));
    }

    #[test]
    fn each_layer_overrides_the_one_below() {
        let dir = TempDir::new();
        let file = dir.file(
            "a.toml",
            "bind = \"127.0.0.1:1001\"\ntoken = \"from-file-0123456789\"\n",
        );
        let none = Flags::default();

        // File over defaults.
        let o = load(Some(&file), &[], &none).unwrap();
        assert_eq!(o.bind, addr("127.0.0.1:1001"));
        assert_eq!(o.token.as_deref(), Some("from-file-0123456789"));

        // Environment over file.
        let env = [
            ("PTYHUB_BIND", "127.0.0.1:1002"),
            ("PTYHUB_TOKEN", "from-env-0123456789"),
        ];
        let o = load(Some(&file), &env, &none).unwrap();
        assert_eq!(o.bind, addr("127.0.0.1:1002"));
        assert_eq!(o.token.as_deref(), Some("from-env-0123456789"));
        assert!(o.warnings().is_empty());

        // Flags over environment.
        let flags = Flags {
            bind: Some("127.0.0.1:1003".into()),
            token: Some("from-flag-0123456789".into()),
            ..Flags::default()
        };
        let o = load(Some(&file), &env, &flags).unwrap();
        assert_eq!(o.bind, addr("127.0.0.1:1003"));
        assert_eq!(o.token.as_deref(), Some("from-flag-0123456789"));
        assert!(
            o.warnings().iter().any(|w| w.contains("ps")),
            "{:?}",
            o.warnings()
        );
        assert!(!o.warnings().iter().any(|w| w.contains("from-flag")));

        // Empty environment values count as unset.
        let o = load(
            Some(&file),
            &[("PTYHUB_BIND", ""), ("PTYHUB_TOKEN", "")],
            &none,
        )
        .unwrap();
        assert_eq!(o.bind, addr("127.0.0.1:1001"));
        assert_eq!(o.token.as_deref(), Some("from-file-0123456789"));
    }

    #[test]
    fn which_config_file_is_read() {
        let dir = TempDir::new();
        let default = dir.file("default.toml", "max_sessions = 1\n");
        let from_env = dir.file("env.toml", "max_sessions = 2\n");
        let from_flag = dir.file("flag.toml", "max_sessions = 3\n");
        let env_path = from_env.to_str().unwrap();
        let flag = Flags {
            config: Some(from_flag.clone()),
            ..Flags::default()
        };
        let none = Flags::default();
        assert_eq!(load(Some(&default), &[], &none).unwrap().max_sessions, 1);
        let with_env = [("PTYHUB_CONFIG", env_path)];
        assert_eq!(
            load(Some(&default), &with_env, &none).unwrap().max_sessions,
            2
        );
        assert_eq!(
            load(Some(&default), &with_env, &flag).unwrap().max_sessions,
            3
        );
        assert_eq!(load(None, &[], &flag).unwrap().max_sessions, 3);

        let missing = Flags {
            config: Some(dir.0.join("nope.toml")),
            ..Flags::default()
        };
        let err = load(None, &[], &missing).unwrap_err().to_string();
        assert!(err.contains("nope.toml"), "{err}");
    }

    #[test]
    fn bad_values_name_the_key_and_line() {
        let err = load_file("max_sessions = 2\nidle_timeout = \"soon\"\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("ptyhub.toml"), "{text}");
        assert!(text.contains("line 2"), "{text}");
        assert!(text.contains("`idle_timeout`"), "{text}");
        assert!(text.contains("\"soon\""), "{text}");
        assert!(!text.contains('\n'), "{text}");
        match err {
            OptionsError::Config {
                line, column, key, ..
            } => {
                assert_eq!(
                    (line, column, key.as_deref()),
                    (2, 16, Some("idle_timeout"))
                );
            }
            other => panic!("{other:?}"),
        }

        for (text, key) in [
            ("idel_timeout = \"5s\"\n", "idel_timeout"),
            ("memory_limit = \"lots\"\n", "memory_limit"),
            ("max_sessions = 0\n", "max_sessions"),
            ("max_sessions = \"many\"\n", "max_sessions"),
            ("resize_policy = \"biggest\"\n", "resize_policy"),
            (
                "allowed_origins = [\n  \"https://a.example\",\n  3,\n]\n",
                "allowed_origins[1]",
            ),
            (
                "[providers.claude]\ncommand = \"claude\"\ncomand = \"x\"\n",
                "providers.claude.comand",
            ),
            ("[providers.claude]\nargs = []\n", "providers.claude"),
            (
                "providers = { x = { command = \"x\", bad = 1 } }\n",
                "providers.x.bad",
            ),
        ] {
            let err = load_file(text).unwrap_err();
            match &err {
                OptionsError::Config { key: Some(k), .. } => assert_eq!(k, key, "{err}"),
                other => panic!("{text:?}: {other}"),
            }
            assert!(err.to_string().contains(&format!("`{key}`")), "{err}");
        }

        let err = load_file("bind = = 3\n").unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn bad_values_after_parsing_name_the_file_and_key() {
        for (text, key) in [
            ("bind = \"nowhere\"\n", "bind"),
            ("allowed_origins = [\"ftp://x\"]\n", "allowed_origins"),
            ("allowed_hosts = [\"a b\"]\n", "allowed_hosts"),
            ("sample_interval = \"1ms\"\n", "sample_interval"),
            ("idle_timeout = \"0s\"\n", "idle_timeout"),
            ("memory_limit = 0\n", "memory_limit"),
            ("scrollback_bytes = 10\n", "scrollback_bytes"),
            ("workspace_root = \"src\"\n", "workspace_root"),
            ("[providers.\"a b\"]\ncommand = \"x\"\n", "providers.a b"),
            ("[providers.x]\ncommand = \"\"\n", "providers.x.command"),
            (
                "[providers.x]\ncommand = \"x\"\ncwd = \"rel\"\n",
                "providers.x.cwd",
            ),
            ("token = \"has space\"\n", "token"),
            (
                "token = \"abcdefghijklmnop\"\ntoken_file = \"/x\"\n",
                "token_file",
            ),
        ] {
            let err = load_file(text).unwrap_err();
            let message = err.to_string();
            assert!(message.contains(&format!("`{key}`")), "{text:?}: {message}");
            assert!(message.contains("ptyhub.toml"), "{text:?}: {message}");
            assert!(!message.contains("has space"), "{message}");
        }
    }

    #[test]
    fn bad_environment_and_flags_name_their_source() {
        let err = load(None, &[("PTYHUB_BIND", "nowhere")], &Flags::default()).unwrap_err();
        assert!(err.to_string().contains("PTYHUB_BIND"), "{err}");
        let flags = Flags {
            bind: Some("nowhere".into()),
            ..Flags::default()
        };
        assert!(
            load(None, &[], &flags)
                .unwrap_err()
                .to_string()
                .contains("--bind")
        );
        let err = load(None, &[("PTYHUB_TOKEN", "se;cret")], &Flags::default()).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("PTYHUB_TOKEN") && !message.contains("se;cret"),
            "{message}"
        );
    }

    #[test]
    fn no_auth_only_on_loopback() {
        let flags = |bind: &str| Flags {
            bind: Some(bind.into()),
            no_auth: true,
            ..Flags::default()
        };
        let o = load(None, &[], &flags("127.0.0.1:0")).unwrap();
        assert!(o.no_auth);
        assert!(
            o.warnings()
                .iter()
                .any(|w| w.contains("authentication is off"))
        );
        assert_eq!(o.resolve_token().unwrap(), None);
        assert!(load(None, &[], &flags("[::1]:0")).is_ok());
        for bind in [
            "0.0.0.0:0",
            "[::]:7681",
            "192.168.1.5:7681",
            "[::ffff:127.0.0.1]:7681",
        ] {
            let err = load(None, &[], &flags(bind)).unwrap_err();
            assert!(
                matches!(err, OptionsError::NoAuthNotLoopback { .. }),
                "{bind}: {err}"
            );
            assert!(err.to_string().contains("--no-auth"));
        }
        // From the file too.
        let err = load_file("no_auth = true\nbind = \"0.0.0.0:7681\"\n").unwrap_err();
        assert!(
            matches!(err, OptionsError::NoAuthNotLoopback { .. }),
            "{err}"
        );
    }

    #[test]
    fn no_auth_drops_the_token_with_a_warning() {
        let flags = Flags {
            no_auth: true,
            ..Flags::default()
        };
        let o = load(None, &[("PTYHUB_TOKEN", "from-env-0123456789")], &flags).unwrap();
        assert_eq!(o.token, None);
        assert!(o.warnings().iter().any(|w| w.contains("ignored")));
    }

    #[test]
    fn a_token_is_generated_off_loopback() {
        let flags = Flags {
            bind: Some("0.0.0.0:0".into()),
            ..Flags::default()
        };
        let o = load(None, &[], &flags).unwrap();
        assert_eq!(o.token, None);
        let token = o.resolve_token().unwrap().unwrap();
        assert_eq!(token.len(), 64);
        let o = load(None, &[("PTYHUB_TOKEN", "given-0123456789")], &flags).unwrap();
        assert_eq!(
            o.resolve_token().unwrap().as_deref(),
            Some("given-0123456789")
        );
    }

    #[test]
    fn root_needs_allow_root_off_loopback() {
        let as_root = |flags: &Flags| Options::load_as(None, &env_of(&[]), flags, true);
        let public = Flags {
            bind: Some("0.0.0.0:7681".into()),
            ..Flags::default()
        };
        let err = as_root(&public).unwrap_err();
        assert!(matches!(err, OptionsError::RootNotLoopback { .. }), "{err}");
        assert!(err.to_string().contains("--allow-root"));

        let allowed = Flags {
            allow_root: true,
            ..public.clone()
        };
        let o = as_root(&allowed).unwrap();
        assert!(o.warnings().iter().any(|w| w.contains("root")));

        let o = as_root(&Flags::default()).unwrap();
        assert_eq!(o.bind, DEFAULT_BIND);
        assert!(o.warnings().iter().any(|w| w.contains("running as root")));

        // Not root: no warning, no refusal.
        let o = load(None, &[], &public).unwrap();
        assert!(o.warnings().is_empty(), "{:?}", o.warnings());
    }

    #[test]
    fn token_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new();
        let token = dir.file("token", "tok-from-file-0123456789\nignored\n");
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
        let config = dir.file(
            "c.toml",
            &format!("token_file = {:?}\n", token.to_str().unwrap()),
        );
        let o = load(Some(&config), &[], &Flags::default()).unwrap();
        assert_eq!(o.token.as_deref(), Some("tok-from-file-0123456789"));
        assert!(o.warnings().is_empty());

        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
        let o = load(Some(&config), &[], &Flags::default()).unwrap();
        assert!(
            o.warnings().iter().any(|w| w.contains("chmod 600")),
            "{:?}",
            o.warnings()
        );

        let config = dir.file("d.toml", "token_file = \"/nonexistent/ptyhub-token\"\n");
        let err = load(Some(&config), &[], &Flags::default()).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/ptyhub-token"),
            "{err}"
        );
    }

    #[test]
    fn limits_switch_off() {
        let o = load_file(
            "idle_timeout = \"off\"\nmax_processes = \"none\"\nmemory_limit = \"none\"\ncpu_limit = false\n",
        )
        .unwrap();
        assert_eq!(o.idle_timeout, None);
        assert_eq!(o.max_processes, None);
        assert_eq!(o.memory_limit_bytes, None);
        assert_eq!(o.cpu_limit, None);
    }

    #[test]
    fn bind_forms() {
        assert_eq!(parse_bind("127.0.0.1:8080"), Ok(addr("127.0.0.1:8080")));
        assert_eq!(parse_bind("[::1]:8080"), Ok(addr("[::1]:8080")));
        assert_eq!(parse_bind("0.0.0.0"), Ok(addr("0.0.0.0:7681")));
        assert_eq!(parse_bind("::1"), Ok(addr("[::1]:7681")));
        assert_eq!(parse_bind("[::1]"), Ok(addr("[::1]:7681")));
        assert_eq!(parse_bind("8080"), Ok(addr("127.0.0.1:8080")));
        assert_eq!(parse_bind("localhost:0"), Ok(addr("127.0.0.1:0")));
        assert_eq!(parse_bind("localhost"), Ok(DEFAULT_BIND));
        for bad in [
            "",
            "example.com:80",
            "127.0.0.1:99999",
            "localhost:x",
            ":80",
        ] {
            let err = parse_bind(bad).unwrap_err();
            assert!(err.contains(&format!("\"{bad}\"")), "{err}");
        }
    }

    #[test]
    fn hand_built_options_are_checked() {
        let o = Options {
            max_sessions: 0,
            ..Options::default()
        };
        assert!(
            o.validate()
                .unwrap_err()
                .to_string()
                .contains("max_sessions")
        );
        let o = Options {
            bind: addr("0.0.0.0:1"),
            no_auth: true,
            ..Options::default()
        };
        assert!(matches!(
            o.validate(),
            Err(OptionsError::NoAuthNotLoopback { .. })
        ));
    }

    #[test]
    fn debug_hides_the_token() {
        let o = Options {
            token: Some("super-secret-token".into()),
            ..Options::default()
        };
        let text = format!("{o:?}");
        assert!(!text.contains("super-secret-token"), "{text}");
        assert!(text.contains("<redacted>"));
    }
}
