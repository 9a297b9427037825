//! The providers a session can be started from (docs/sessions.md): the
//! built-in `shell` and AI CLI presets, plus the config file's
//! `[providers.NAME]` entries, which add to or replace them. A provider is
//! offered as available only when its program is found: in its `bin_dir`,
//! on `PATH`, or in the folders where these CLIs install themselves and
//! that a bare service environment leaves off `PATH` (see
//! [`install_dirs`]).

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ptyhub_protocol::api::ProviderInfo;

use crate::options::{Options, ProviderConfig};

pub mod agent;

/// The name of the provider that runs the user's shell.
pub const SHELL: &str = "shell";

/// The AI CLI presets: provider name and program, run in its normal
/// interactive mode. Their unattended variants are one config entry each
/// (README, "Running AI coding CLIs"): `claude
/// --dangerously-skip-permissions`, `codex --ask-for-approval never
/// --sandbox danger-full-access`, `gemini --yolo`, `cursor-agent --force`.
pub const PRESETS: [(&str, &str); 4] = [
    ("claude", "claude"),
    ("codex", "codex"),
    ("gemini", "gemini"),
    ("cursor", "cursor-agent"),
];

/// How long `--version` may take before the version is given up on.
/// Generous: Gemini CLI takes 5 s to print its version on a busy 2-core
/// machine, and over 10 s while other CLIs start. The lookups start with
/// the server ([`Providers::prefetch_versions`]); a `GET /api/providers`
/// that comes earlier waits for them.
pub const VERSION_TIMEOUT: Duration = Duration::from_secs(30);

/// One recipe for a session: the program, its arguments, environment and
/// working directory, and whether the program was found.
#[derive(Debug, Clone)]
pub struct Provider {
    /// Its name (`shell`, `claude`, or the config's).
    pub name: String,
    /// The program as configured (`claude`, `/bin/bash`).
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Extra environment for its sessions.
    pub env: BTreeMap<String, String>,
    /// The working directory of its sessions, when the request gives none.
    pub cwd: Option<PathBuf>,
    /// Whether the program was found.
    pub available: bool,
    /// The program's path, when found: what a session should execute.
    pub resolved: Option<PathBuf>,
    /// Agent-state patterns (the preset's, or the config's).
    pub agent: Arc<ptyhub_core::AgentRules>,
    /// Which CLI's hooks its program takes, if any.
    pub hooks: Option<agent::HookKind>,
    /// The `--version` answer, looked up once (shared by clones).
    version: Arc<OnceLock<Option<String>>>,
}

impl PartialEq for Provider {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.command == other.command
            && self.args == other.args
            && self.env == other.env
            && self.cwd == other.cwd
            && self.available == other.available
            && self.resolved == other.resolved
    }
}

impl Provider {
    fn new(name: &str, config: &ProviderConfig, search: &Search<'_>) -> Provider {
        let resolved = find_executable(&config.command, config.bin_dir.as_deref(), search.path_env)
            .or_else(|| find_in(&config.command, search.extra_dirs));
        Provider {
            name: name.to_owned(),
            command: config.command.clone(),
            args: config.args.clone(),
            env: config.env.clone(),
            cwd: config.cwd.clone(),
            available: resolved.is_some(),
            resolved,
            agent: agent::rules(name, config),
            hooks: agent::HookKind::of(name, &config.command),
            version: Arc::default(),
        }
    }

    /// The program's version: the first line of `PROGRAM --version`, run
    /// once with a [`VERSION_TIMEOUT`] and cached; `None` when the program
    /// is missing, fails or is too slow. Blocks: call it from
    /// `spawn_blocking`.
    pub fn version(&self) -> Option<String> {
        self.version
            .get_or_init(|| {
                self.resolved
                    .as_deref()
                    .and_then(|p| run_version(p, VERSION_TIMEOUT))
            })
            .clone()
    }

    /// The version if it was already looked up, without running anything.
    pub fn cached_version(&self) -> Option<String> {
        self.version.get().cloned().flatten()
    }

    /// The provider as `GET /api/providers` lists it (with the cached
    /// version, if any).
    pub fn info(&self) -> ProviderInfo {
        ProviderInfo {
            name: self.name.clone(),
            command: self.command.clone(),
            args: self.args.clone(),
            available: self.available,
            version: self.cached_version(),
        }
    }
}

/// Every provider, by name.
#[derive(Debug, Clone, PartialEq)]
pub struct Providers {
    by_name: BTreeMap<String, Provider>,
}

impl Providers {
    /// The built-in providers and the options' ones (which replace a
    /// built-in of the same name), with programs looked up on `path_env`
    /// (the server's `PATH`) and the shell taken from the server's `$SHELL`.
    pub fn from_options(options: &Options, path_env: Option<&OsStr>) -> Providers {
        let shell = std::env::var_os("SHELL");
        let extra = install_dirs(|k| std::env::var_os(k));
        Providers::build_with(&options.providers, path_env, shell.as_deref(), &extra)
    }

    /// [`Providers::from_options`] with `$SHELL` given and no install
    /// folders beyond `PATH`.
    pub fn build(
        configured: &BTreeMap<String, ProviderConfig>,
        path_env: Option<&OsStr>,
        shell_env: Option<&OsStr>,
    ) -> Providers {
        Providers::build_with(configured, path_env, shell_env, &[])
    }

    /// [`Providers::build`], with `extra_dirs` searched after `PATH`.
    pub fn build_with(
        configured: &BTreeMap<String, ProviderConfig>,
        path_env: Option<&OsStr>,
        shell_env: Option<&OsStr>,
        extra_dirs: &[PathBuf],
    ) -> Providers {
        let search = &Search {
            path_env,
            extra_dirs,
        };
        let mut by_name = BTreeMap::new();
        let shell = ProviderConfig {
            command: user_shell(shell_env),
            args: Vec::new(),
            env: BTreeMap::new(),
            cwd: None,
            bin_dir: None,
            ..Default::default()
        };
        by_name.insert(SHELL.to_owned(), Provider::new(SHELL, &shell, search));
        for (name, program) in PRESETS {
            let preset = ProviderConfig {
                command: program.to_owned(),
                args: Vec::new(),
                env: BTreeMap::new(),
                cwd: None,
                bin_dir: None,
                ..Default::default()
            };
            by_name.insert(name.to_owned(), Provider::new(name, &preset, search));
        }
        for (name, config) in configured {
            by_name.insert(name.clone(), Provider::new(name, config, search));
        }
        Providers { by_name }
    }

    /// The provider of this name.
    pub fn get(&self, name: &str) -> Option<&Provider> {
        self.by_name.get(name)
    }

    /// Every provider, available or not, by name.
    pub fn list(&self) -> impl Iterator<Item = &Provider> {
        self.by_name.values()
    }

    /// Starts looking up the version of every available provider, each on
    /// a thread of its own, without waiting.
    pub fn prefetch_versions(&self) {
        for p in self.list().filter(|p| p.available) {
            // The thread owns a clone (the version cache is shared).
            let p = p.clone();
            let spawned = std::thread::Builder::new()
                .name("provider-version".into())
                .spawn(move || p.version());
            if let Err(e) = spawned {
                tracing::debug!("version lookup not started: {e}");
            }
        }
    }

    /// Looks up the version of every available provider (in parallel, each
    /// at most [`VERSION_TIMEOUT`], once: later calls return at once).
    pub async fn fetch_versions(&self) {
        let lookups: Vec<_> = self
            .list()
            .filter(|p| p.available)
            .cloned()
            .map(|p| tokio::task::spawn_blocking(move || p.version()))
            .collect();
        for lookup in lookups {
            // A panicked lookup leaves that version unknown; nothing else.
            let _ = lookup.await;
        }
    }
}

/// Where programs are looked up.
struct Search<'a> {
    path_env: Option<&'a OsStr>,
    extra_dirs: &'a [PathBuf],
}

/// The folders where AI CLIs are installed outside `PATH` as a service
/// (systemd, launchd) sees it, from `env` (the server's environment): npm's
/// global bin (`$NPM_CONFIG_PREFIX/bin`, the `prefix` of `~/.npmrc`, and the
/// customary `~/.npm-global/bin`), and `~/.local/bin`, where the native
/// installers of Claude Code and Cursor's agent put their binaries. Read
/// from files, not by running `npm` (which takes a second to start).
pub fn install_dirs(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Vec<PathBuf> {
    let home = env("HOME").map(PathBuf::from);
    let mut prefixes: Vec<PathBuf> = ["NPM_CONFIG_PREFIX", "npm_config_prefix"]
        .iter()
        .filter_map(|k| env(k))
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .collect();
    if let Some(home) = &home {
        let npmrc = std::fs::read_to_string(home.join(".npmrc")).unwrap_or_default();
        prefixes.extend(npmrc_prefix(&npmrc, home));
        prefixes.push(home.join(".npm-global"));
    }
    let mut dirs: Vec<PathBuf> = prefixes.into_iter().map(|p| p.join("bin")).collect();
    if let Some(home) = &home {
        dirs.push(home.join(".local/bin"));
    }
    dirs.dedup();
    dirs
}

/// The `prefix = ...` of an `.npmrc`, with `~` and `${HOME}` expanded.
fn npmrc_prefix(npmrc: &str, home: &Path) -> Option<PathBuf> {
    let value = npmrc.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        (key.trim() == "prefix").then(|| value.trim().trim_matches('"').to_owned())
    })?;
    let home = home.to_str()?;
    let value = value.replace("${HOME}", home);
    let value = match value.strip_prefix("~/") {
        Some(rest) => format!("{home}/{rest}"),
        None => value,
    };
    Path::new(&value)
        .is_absolute()
        .then(|| PathBuf::from(value))
}

/// `command` (a bare name) in the first of `dirs` that has it.
fn find_in(command: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    if command.is_empty() || command.contains('/') {
        return None;
    }
    dirs.iter()
        .map(|dir| dir.join(command))
        .find(|candidate| is_executable(candidate))
}

/// The user's shell: `$SHELL` when it is an executable file, else
/// `/bin/bash` when present, else `/bin/sh`.
fn user_shell(shell_env: Option<&OsStr>) -> String {
    if let Some(shell) = shell_env.and_then(OsStr::to_str)
        && Path::new(shell).is_absolute()
        && is_executable(Path::new(shell))
    {
        return shell.to_owned();
    }
    if is_executable(Path::new("/bin/bash")) {
        "/bin/bash".to_owned()
    } else {
        "/bin/sh".to_owned()
    }
}

/// Whether `path` is a regular file (after symlinks) that someone may
/// execute.
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Finds `command` as `execvp` would: a name with a `/` as it is, else in
/// `bin_dir` first, then in each `PATH` entry (empty entries skipped: they
/// would mean the server's working directory).
pub fn find_executable(
    command: &str,
    bin_dir: Option<&Path>,
    path_env: Option<&OsStr>,
) -> Option<PathBuf> {
    if command.is_empty() {
        return None;
    }
    if command.contains('/') {
        let path = PathBuf::from(command);
        return is_executable(&path).then_some(path);
    }
    let path_dirs = path_env.map(std::env::split_paths).into_iter().flatten();
    bin_dir
        .map(Path::to_owned)
        .into_iter()
        .chain(path_dirs)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(command))
        .find(|candidate| is_executable(candidate))
}

/// Runs `program --version` and returns its first non-empty output line
/// (at most 200 characters), or `None` when it fails, or has not closed its
/// output after `timeout` (it is killed then).
fn run_version(program: &Path, timeout: Duration) -> Option<String> {
    let mut child = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let stdout = child.stdout.take()?;
    // One answer at most: a capacity of 1 never blocks the reader.
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    std::thread::spawn(move || {
        let mut stdout = stdout;
        let mut out = Vec::new();
        // 4 KiB is plenty for a version line; the rest is drained so that
        // a chatty program is not blocked on a full pipe.
        let result = (&mut stdout)
            .take(4096)
            .read_to_end(&mut out)
            .and_then(|_| std::io::copy(&mut stdout, &mut std::io::sink()))
            .map(|_| out);
        // The receiver may have timed out and gone: nothing to tell then.
        let _ = tx.send(result);
    });
    let output = rx.recv_timeout(timeout);
    // After end of output the program is exiting (or already a zombie, or
    // reaped): the kill changes nothing then. Otherwise it was too slow.
    // An error here means it is already gone.
    let _ = child.kill();
    let status = child.wait().ok()?;
    let out = output.ok()?.ok()?;
    // Only a program that exited by itself with a failure is refused: one
    // that had closed its output but was still tearing down when killed
    // (seen with Claude Code on a busy machine) ends by our signal.
    if status.code().is_some_and(|code| code != 0) {
        return None;
    }
    let text = String::from_utf8_lossy(&out);
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(line.chars().take(200).collect())
}

#[cfg(test)]
mod tests;
