//! Tests of the options: defaults, the config file, precedence of the
//! layers, validation and its messages.

use super::*;
use std::collections::HashMap;

/// A fresh directory, removed on drop.
struct TempDir(tempfile::TempDir);

impl TempDir {
    fn new() -> TempDir {
        TempDir(
            tempfile::Builder::new()
                .prefix("ptyhub-options-")
                .tempdir()
                .unwrap(),
        )
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
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
        config: Some(dir.0.path().join("nope.toml")),
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

    // Not root: no root warning (only the one about plain HTTP off
    // loopback), no refusal.
    let o = load(None, &[], &public).unwrap();
    assert!(
        !o.warnings().iter().any(|w| w.contains("root")),
        "{:?}",
        o.warnings()
    );
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

#[test]
fn base_path_and_trusted_proxies() {
    assert_eq!(parse_base_path("").unwrap(), "");
    assert_eq!(parse_base_path("/").unwrap(), "");
    assert_eq!(parse_base_path("pty").unwrap(), "/pty");
    assert_eq!(parse_base_path("/a/b-c_d.e~/").unwrap(), "/a/b-c_d.e~");
    for bad in ["/a b", "/a//b", "/../x", "/a?b", "/%2e", "/a/./b"] {
        assert!(parse_base_path(bad).is_err(), "{bad}");
    }
    let o =
        load_file("base_path = \"/pty/\"\ntrusted_proxies = [\"10.1.2.3/8\", \"::1\"]\n").unwrap();
    assert_eq!(o.base_path, "/pty");
    let nets: Vec<String> = o.trusted_proxies.iter().map(|n| n.to_string()).collect();
    assert_eq!(nets, ["10.0.0.0/8", "::1/128"]);
    let err = load_file("trusted_proxies = [\"nope\"]\n").unwrap_err();
    assert!(err.to_string().contains("trusted_proxies"), "{err}");
    let err = load_file("base_path = \"/a b\"\n").unwrap_err();
    assert!(err.to_string().contains("base_path"), "{err}");
}
