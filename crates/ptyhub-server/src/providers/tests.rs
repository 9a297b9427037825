//! Tests of the providers: presets, the config, lookup and versions.

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
