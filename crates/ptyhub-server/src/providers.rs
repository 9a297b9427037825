//! The providers a session can be started from (spec section 2): the
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
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            static N: AtomicUsize = AtomicUsize::new(0);
            let path = std::env::temp_dir().join(format!(
                "ptyhub-providers-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&path).unwrap();
            TempDir(path)
        }

        fn script(&self, name: &str, body: &str) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn presets_are_available_only_when_found() {
        let dir = TempDir::new();
        dir.script("claude", "echo 'claude 1.2.3 (Claude Code)'");
        dir.script("cursor-agent", "exit 0");
        // Not executable: not found.
        std::fs::write(dir.0.join("codex"), "x").unwrap();
        let path = std::env::join_paths(["", dir.0.to_str().unwrap()]).unwrap();
        let p = Providers::build(&BTreeMap::new(), Some(&path), None);
        let names: Vec<_> = p.list().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["claude", "codex", "cursor", "gemini", "shell"]);
        let claude = p.get("claude").unwrap();
        assert!(claude.available);
        assert_eq!(
            claude.resolved.as_deref(),
            Some(dir.0.join("claude").as_path())
        );
        assert_eq!(claude.command, "claude");
        assert!(!p.get("codex").unwrap().available);
        assert!(!p.get("gemini").unwrap().available);
        assert_eq!(p.get("cursor").unwrap().command, "cursor-agent");
        assert!(p.get("cursor").unwrap().available);
        assert!(p.get("nope").is_none());

        let none = Providers::build(&BTreeMap::new(), None, None);
        assert!(!none.get("claude").unwrap().available);
    }

    #[test]
    fn shell_comes_from_shell_env_then_bash_then_sh() {
        let dir = TempDir::new();
        let fish = dir.script("fish", "exit 0");
        let p = Providers::build(&BTreeMap::new(), None, Some(fish.as_os_str()));
        let shell = p.get(SHELL).unwrap();
        assert_eq!(shell.command, fish.to_str().unwrap());
        assert!(shell.available);
        for bad in ["/nonexistent/zsh", "zsh", ""] {
            let p = Providers::build(&BTreeMap::new(), None, Some(OsStr::new(bad)));
            let shell = p.get(SHELL).unwrap();
            let expected = if Path::new("/bin/bash").exists() {
                "/bin/bash"
            } else {
                "/bin/sh"
            };
            assert_eq!(shell.command, expected, "{bad:?}");
            assert!(shell.available);
        }
    }

    #[test]
    fn config_adds_and_overrides() {
        let dir = TempDir::new();
        let bin = TempDir::new();
        bin.script("claude", "exit 0");
        let mut configured = BTreeMap::new();
        configured.insert(
            "claude".to_owned(),
            ProviderConfig {
                command: "claude".into(),
                args: vec!["--dangerously-skip-permissions".into()],
                env: BTreeMap::from([("A".to_owned(), "1".to_owned())]),
                cwd: Some("/tmp".into()),
                bin_dir: Some(bin.0.clone()),
                ..Default::default()
            },
        );
        configured.insert(
            "sh-login".to_owned(),
            ProviderConfig {
                command: "/bin/sh".into(),
                args: vec!["-l".into()],
                env: BTreeMap::new(),
                cwd: None,
                bin_dir: None,
                ..Default::default()
            },
        );
        let path = dir.0.as_os_str();
        let p = Providers::build(&configured, Some(path), None);
        let claude = p.get("claude").unwrap();
        assert_eq!(claude.args, ["--dangerously-skip-permissions"]);
        assert_eq!(claude.env["A"], "1");
        assert_eq!(claude.cwd.as_deref(), Some(Path::new("/tmp")));
        assert!(claude.available, "found in bin_dir");
        assert_eq!(
            claude.resolved.as_deref(),
            Some(bin.0.join("claude").as_path())
        );
        let login = p.get("sh-login").unwrap();
        assert!(login.available);
        assert_eq!(login.resolved.as_deref(), Some(Path::new("/bin/sh")));
        let info = login.info();
        assert_eq!(
            (info.name.as_str(), info.command.as_str(), info.available),
            ("sh-login", "/bin/sh", true)
        );
        assert_eq!(info.args, ["-l"]);

        let options = Options {
            providers: configured,
            ..Options::default()
        };
        assert!(
            Providers::from_options(&options, Some(path))
                .get("sh-login")
                .is_some()
        );
    }

    #[test]
    fn version_is_the_first_line_and_cached() {
        let dir = TempDir::new();
        let counter = dir.0.join("count");
        dir.script(
            "claude",
            &format!(
                "echo run >> {}\necho\necho '  2.0.1 (Claude Code)  '\necho more",
                counter.display()
            ),
        );
        let p = Providers::build(&BTreeMap::new(), Some(dir.0.as_os_str()), None);
        let claude = p.get("claude").unwrap();
        assert_eq!(claude.cached_version(), None);
        assert_eq!(claude.version().as_deref(), Some("2.0.1 (Claude Code)"));
        assert_eq!(
            claude.clone().version().as_deref(),
            Some("2.0.1 (Claude Code)")
        );
        assert_eq!(
            claude.info().version.as_deref(),
            Some("2.0.1 (Claude Code)")
        );
        assert_eq!(std::fs::read_to_string(&counter).unwrap(), "run\n");
        assert_eq!(p.get("gemini").unwrap().version(), None);
    }

    #[test]
    fn install_dirs_come_from_npm_settings_and_home() {
        let home = TempDir::new();
        std::fs::write(
            home.0.join(".npmrc"),
            "registry=https://r.example\nprefix = ~/npm-prefix\n",
        )
        .unwrap();
        let h = home.0.clone();
        let env = |k: &str| match k {
            "HOME" => Some(h.clone().into_os_string()),
            "NPM_CONFIG_PREFIX" => Some("/opt/npm".into()),
            _ => None,
        };
        assert_eq!(
            install_dirs(env),
            [
                PathBuf::from("/opt/npm/bin"),
                home.0.join("npm-prefix/bin"),
                home.0.join(".npm-global/bin"),
                home.0.join(".local/bin"),
            ]
        );
        assert!(install_dirs(|_| None).is_empty());
        assert_eq!(
            npmrc_prefix("prefix=\"${HOME}/x\"", Path::new("/h")),
            Some(PathBuf::from("/h/x"))
        );
        assert_eq!(npmrc_prefix("prefix=relative", Path::new("/h")), None);

        // A preset is found there after PATH.
        let bin = home.0.join(".local/bin");
        std::fs::create_dir_all(&bin).unwrap();
        let codex = bin.join("codex");
        std::fs::write(&codex, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&codex, std::fs::Permissions::from_mode(0o755)).unwrap();
        let p = Providers::build_with(&BTreeMap::new(), None, None, &install_dirs(env));
        assert_eq!(
            p.get("codex").unwrap().resolved.as_deref(),
            Some(codex.as_path())
        );
        assert!(!p.get("claude").unwrap().available);
    }

    #[tokio::test]
    async fn versions_are_fetched_for_available_providers() {
        let dir = TempDir::new();
        dir.script("codex", "echo 'codex-cli 0.1.0'");
        let p = Providers::build(&BTreeMap::new(), Some(dir.0.as_os_str()), None);
        assert_eq!(p.get("codex").unwrap().info().version, None);
        p.fetch_versions().await;
        assert_eq!(
            p.get("codex").unwrap().info().version.as_deref(),
            Some("codex-cli 0.1.0")
        );
        assert_eq!(p.get("claude").unwrap().info().version, None);
    }

    #[test]
    fn a_hanging_version_times_out() {
        let dir = TempDir::new();
        let slow = dir.script("slow", "exec sleep 30");
        let started = std::time::Instant::now();
        assert_eq!(run_version(&slow, Duration::from_millis(200)), None);
        assert!(started.elapsed() < Duration::from_secs(5));
        let failing = dir.script("failing", "exit 3");
        assert_eq!(run_version(&failing, VERSION_TIMEOUT), None);
    }
}
