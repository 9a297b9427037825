//! The AI CLI tests cannot pass without the CLIs: a failed install fails
//! (with its reason), and a skip happens only when asked for by name
//! outside CI, and is reported.

use std::path::Path;
use std::process::{Command, Output};

use super::common::TempDir;

/// `tests/install-ai-clis.sh` into `dir`, npm pointed at a closed port.
fn install(dir: &Path, env: &[(&str, &str)]) -> Output {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/install-ai-clis.sh"
    );
    let mut cmd = Command::new("bash");
    cmd.arg(script)
        .env("PTYHUB_AI_CLIS", dir)
        .env("npm_config_registry", "http://127.0.0.1:9/")
        .env("npm_config_fetch_retries", "0")
        .env_remove("PTYHUB_SKIP")
        .env_remove("CI");
    cmd.envs(env.iter().copied()).output().unwrap()
}

#[test]
fn a_failed_install_fails_and_names_the_way_to_skip() {
    let dir = TempDir::new("ai-clis");
    let out = install(dir.dir(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("npm install"), "{stderr}");
    assert!(stderr.contains("PTYHUB_SKIP=ai-cli"), "{stderr}");
    assert!(
        dir.read("FAILED").contains("failed"),
        "{}",
        dir.read("FAILED")
    );

    let out = install(dir.dir(), &[("PTYHUB_SKIP", "ai-cli")]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = install(dir.dir(), &[("PTYHUB_SKIP", "ai-cli"), ("CI", "true")]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused under CI=true"));
}

/// This test binary running the one test `name`, the CLIs looked for in an
/// empty folder.
fn run_alone(name: &str, empty: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", name, "--nocapture"])
        .env("PTYHUB_AI_CLIS", empty)
        .env_remove("PTYHUB_SKIP")
        .env_remove("PTYHUB_SKIP_LOG")
        .env_remove("CI");
    cmd.envs(env.iter().copied()).output().unwrap()
}

#[test]
fn a_test_without_its_cli_fails_unless_skipped_by_name_outside_ci() {
    let name = "providers_show_availability_and_version";
    let empty = TempDir::new("no-clis");
    std::fs::write(empty.path("FAILED"), "npm install failed: the reason").unwrap();
    let out = run_alone(name, empty.dir(), &[]);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "passed without the CLIs: {text}");
    assert!(text.contains("the reason"), "{text}");
    assert!(text.contains("1 failed"), "{text}");

    let log = empty.path("skipped.log");
    let log_env = log.to_str().unwrap();
    let out = run_alone(
        name,
        empty.dir(),
        &[("PTYHUB_SKIP", "ai-cli"), ("PTYHUB_SKIP_LOG", log_env)],
    );
    assert!(out.status.success(), "{out:?}");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        logged,
        format!("SKIPPED tests/ai_cli.rs {name}: PTYHUB_SKIP=ai-cli\n")
    );

    let out = run_alone(
        name,
        empty.dir(),
        &[("PTYHUB_SKIP", "ai-cli"), ("CI", "true")],
    );
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "skipped under CI=true: {text}");
    assert!(text.contains("not honoured under CI=true"), "{text}");
}
