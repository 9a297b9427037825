//! The server's options: one validated struct, [`Options`], with the units
//! in the field names, and the ways to fill it.
//!
//! Precedence, lowest first (each layer overrides the ones below it):
//!
//! 1. the defaults of docs/configuration.md ([`Options::default`]);
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
use std::path::{Path, PathBuf};
use std::time::Duration;

use ptyhub_core::Limits;
use ptyhub_protocol::api::ResizePolicy;

mod apply;
mod check;
mod cluster;
mod error;
mod file;
pub mod patterns;

pub use cluster::{ClusterConfig, ClusterOptions, check_node_name, hostname};
pub use error::OptionsError;
use error::invalid;
pub use file::{ConfigFile, ProviderConfig};

use crate::auth;
use crate::tls::TlsFiles;

/// The address the server binds when nothing says otherwise.
pub const DEFAULT_BIND: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 7681));

/// The port of [`DEFAULT_BIND`], used when `--bind` names an address only.
pub const DEFAULT_PORT: u16 = 7681;

/// Reads one environment variable; `std::env::var(name).ok()` in the
/// binary, a map in tests.
pub type EnvFn<'a> = &'a dyn Fn(&str) -> Option<String>;

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
    /// No output for this long turns agent state `busy` into `ready` (3s).
    pub agent_quiet: Duration,
    /// Agent detection off (hooks still count): the benchmarks' baseline.
    /// Not a config key; `PTYHUB_AGENT_DETECTION=off` in the server's
    /// environment sets it.
    pub agent_detection_off: bool,
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
    /// The URL prefix every route, page, asset, cookie and WebSocket URL
    /// lives under (`/pty`), for a reverse proxy that forwards it
    /// unchanged; empty for none. Normalised: one leading `/`, no
    /// trailing one.
    pub base_path: String,
    /// The proxies (CIDRs) whose `X-Forwarded-Proto`, `-Host` and `-For`
    /// are believed; everyone else's are removed before any check.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `bind = "unix:/path"`: listen on this Unix socket instead (then
    /// `bind` stays loopback: a Unix socket counts as loopback for the
    /// `--no-auth` and root rules, and has no Host check).
    pub unix_socket: Option<PathBuf>,
    /// The Unix socket's permission bits (`socket_mode = "0660"`; 0600).
    pub socket_mode: u32,
    /// `[cluster]`: several machines as one service; `None` for one
    /// machine (no Redis, no extra task).
    pub cluster: Option<ClusterOptions>,
    /// Record sessions as asciicast files (false; a provider's `record`
    /// and a create request's `record` go over it).
    pub record: bool,
    /// Where recordings go; `None` for the default
    /// (`$XDG_STATE_HOME/ptyhub/recordings`, else
    /// `~/.local/state/ptyhub/recordings`), see [`Options::recordings_dir`].
    pub recordings_dir: Option<PathBuf>,
    /// Record what clients type too (false: passwords stay out).
    pub record_input: bool,
    /// The most bytes one recording file may take (100 MiB).
    pub record_max_bytes: u64,
    /// `tls_cert` and `tls_key`, read and checked: every TCP listener
    /// serves HTTPS and WSS, and the login cookie is `Secure`.
    pub tls: Option<TlsFiles>,
    /// Warnings for the operator found while loading (`--token` on the
    /// command line, running as root, ...); empty for hand-built options.
    pub warnings: Vec<String>,
}

impl Default for Options {
    /// The defaults of docs/configuration.md.
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
            agent_quiet: Duration::from_secs(3),
            agent_detection_off: std::env::var_os("PTYHUB_AGENT_DETECTION")
                .is_some_and(|v| v == "off"),
            sample_interval: Duration::from_secs(1),
            scrollback_bytes: MIB,
            client_queue_bytes: MIB,
            stall_timeout: Duration::from_secs(2),
            resize_policy: ResizePolicy::Latest,
            max_message_bytes: MIB,
            providers: BTreeMap::new(),
            runtime_dir: None,
            base_path: String::new(),
            trusted_proxies: Vec::new(),
            unix_socket: None,
            socket_mode: 0o600,
            cluster: None,
            record: false,
            recordings_dir: None,
            record_input: false,
            record_max_bytes: 100 << 20,
            tls: None,
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
            .field("agent_quiet", &self.agent_quiet)
            .field("sample_interval", &self.sample_interval)
            .field("scrollback_bytes", &self.scrollback_bytes)
            .field("client_queue_bytes", &self.client_queue_bytes)
            .field("stall_timeout", &self.stall_timeout)
            .field("resize_policy", &self.resize_policy)
            .field("max_message_bytes", &self.max_message_bytes)
            .field("providers", &self.providers)
            .field("runtime_dir", &self.runtime_dir)
            .field("base_path", &self.base_path)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("unix_socket", &self.unix_socket)
            .field("socket_mode", &format_args!("{:o}", self.socket_mode))
            .field("cluster", &self.cluster)
            .field("record", &self.record)
            .field("recordings_dir", &self.recordings_dir)
            .field("record_input", &self.record_input)
            .field("record_max_bytes", &self.record_max_bytes)
            .field("tls", &self.tls)
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
    /// `--base-path /pty`.
    pub base_path: Option<String>,
    /// `--tls-cert FILE`.
    pub tls_cert: Option<PathBuf>,
    /// `--tls-key FILE`.
    pub tls_key: Option<PathBuf>,
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

/// Normalises a `base_path`: empty or `/` is none; otherwise one leading
/// `/`, no trailing one, and segments of URL-safe characters only (letters,
/// digits, `-`, `_`, `.`, `~`; no `.` or `..` segment).
pub fn parse_base_path(text: &str) -> Result<String, String> {
    let trimmed = text.trim().trim_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    for segment in trimmed.split('/') {
        let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~');
        if segment.is_empty() || segment == "." || segment == ".." || !segment.chars().all(safe) {
            return Err(format!(
                "\"{text}\" is not a URL prefix: give a path such as /pty (letters, digits, - _ . ~ between slashes)"
            ));
        }
    }
    Ok(format!("/{trimmed}"))
}

impl Options {
    /// Sets `bind` from `IP:PORT` (see [`parse_bind`]) or `unix:/path`.
    pub(crate) fn set_bind(&mut self, text: &str, source: &Layer) -> Result<(), OptionsError> {
        match text.trim().strip_prefix("unix:") {
            Some(path) if Path::new(path).is_absolute() => {
                self.unix_socket = Some(PathBuf::from(path));
                self.bind = DEFAULT_BIND;
            }
            Some(path) => {
                return Err(invalid(
                    "bind",
                    source,
                    format!(
                        "\"unix:{path}\" needs an absolute path, such as unix:/run/user/1000/ptyhub.sock"
                    ),
                ));
            }
            None => {
                self.unix_socket = None;
                self.bind = parse_bind(text).map_err(|m| invalid("bind", source, m))?;
            }
        }
        Ok(())
    }
}

/// Parses `socket_mode`: octal permission bits as a string (`"0660"`).
pub fn parse_socket_mode(text: &str) -> Result<u32, String> {
    u32::from_str_radix(text.trim().trim_start_matches("0o"), 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| format!("\"{text}\" is not a file mode: give octal bits such as \"0660\""))
}

/// Parses a `trusted_proxies` entry: a CIDR (`10.0.0.0/8`, `::1/128`) or
/// one address (`127.0.0.1`, taken as `/32` or `/128`).
pub fn parse_proxy(text: &str) -> Result<ipnet::IpNet, String> {
    let s = text.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(ipnet::IpNet::from))
        .map(|net| net.trunc())
        .map_err(|_| format!("\"{text}\" is not an address or a CIDR such as 10.0.0.0/8"))
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
        // `tls_cert` and `tls_key` with the layer that set each, read once
        // every layer is in.
        let mut tls_cert = None;
        let mut tls_key = None;
        if let Some(path) = config_path {
            let mut config = ConfigFile::read(&path)?;
            let layer = Layer::File(path.clone());
            tls_cert = config.tls_cert.take().map(|p| (p, layer.clone()));
            tls_key = config.tls_key.take().map(|p| (p, layer));
            options.apply_file(config, &path, &mut warnings)?;
            config_source = Some(Layer::File(path));
        }

        // 3. The environment.
        if let Some(bind) = env("PTYHUB_BIND") {
            let source = Layer::Env("PTYHUB_BIND");
            options.set_bind(&bind, &source)?;
        }
        if let Some(token) = env("PTYHUB_TOKEN") {
            options.token = Some(checked_token(token.trim(), &Layer::Env("PTYHUB_TOKEN"))?);
        }

        // 4. The command line.
        if let Some(bind) = &flags.bind {
            let source = Layer::Flag("--bind");
            options.set_bind(bind, &source)?;
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
        if let Some(base) = &flags.base_path {
            options.base_path = parse_base_path(base)
                .map_err(|m| invalid("base_path", &Layer::Flag("--base-path"), m))?;
        }
        if let Some(cert) = &flags.tls_cert {
            tls_cert = Some((cert.clone(), Layer::Flag("--tls-cert")));
        }
        if let Some(key) = &flags.tls_key {
            tls_key = Some((key.clone(), Layer::Flag("--tls-key")));
        }
        options.tls = load_tls(tls_cert, tls_key)?;

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

    /// The recordings directory: `recordings_dir`, else the default of
    /// [`ptyhub_core::recording::default_dir`] from the server's
    /// environment.
    pub fn recordings_dir(&self) -> PathBuf {
        self.recordings_dir
            .clone()
            .unwrap_or_else(|| ptyhub_core::recording::default_dir(&|k| std::env::var(k).ok()))
    }

    /// Whether a session of `provider` is recorded: the request's `record`,
    /// else the provider's, else the server's.
    pub fn records(&self, provider: Option<&str>, asked: Option<bool>) -> bool {
        asked
            .or_else(|| provider.and_then(|p| self.providers.get(p)?.record))
            .unwrap_or(self.record)
    }

    /// How sessions are recorded.
    pub fn record_config(&self) -> ptyhub_core::recording::RecordConfig {
        ptyhub_core::recording::RecordConfig {
            dir: self.recordings_dir(),
            input: self.record_input,
            max_bytes: self.record_max_bytes,
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

/// Reads the TLS files when both are named; one without the other is
/// refused, naming the layer that set it.
fn load_tls(
    cert: Option<(PathBuf, Layer)>,
    key: Option<(PathBuf, Layer)>,
) -> Result<Option<TlsFiles>, OptionsError> {
    match (cert, key) {
        (None, None) => Ok(None),
        (Some((cert, _)), Some((key, _))) => Ok(Some(TlsFiles::load(&cert, &key)?)),
        (Some((_, layer)), None) => Err(invalid(
            "tls_key",
            &layer,
            "tls_cert is set but tls_key is not: give both (PEM files)",
        )),
        (None, Some((_, layer))) => Err(invalid(
            "tls_cert",
            &layer,
            "tls_key is set but tls_cert is not: give both (PEM files)",
        )),
    }
}

/// Overwrites `field` when the layer has a value.
fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *field = value;
    }
}

#[cfg(test)]
mod tests;
