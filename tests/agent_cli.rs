//! Agent state with the real AI CLIs (tests/install-ai-clis.sh): the state
//! each preset reports on its first screen is what a person sees, and the
//! presets pass their hook wiring on the command line (the CLIs start with
//! it). Without an account the CLIs stop at a first screen: Codex at its
//! sign-in menu, Gemini CLI at its folder-trust dialog, Claude Code at its
//! "Unable to connect" error: each waits for the user.

mod common;
#[path = "ai_cli/support.rs"]
#[allow(dead_code)]
mod support;

use common::{TempDir, TestServer, poll};
use serde_json::Value;
use support::{ONE_AT_A_TIME, SLOW, ai_server, cli_bin, start, wait_screen};

async fn wait_agent(server: &TestServer, id: &str, state: &str) -> Value {
    poll(&format!("agent state {state}"), SLOW, || async {
        let s = server.session(id).await;
        if s["agent"]["state"] == state {
            Ok(s["agent"].clone())
        } else {
            Err(s["agent"].to_string())
        }
    })
    .await
}

#[tokio::test]
async fn codex_sign_in_menu_is_waiting_and_notify_is_wired() {
    let Some(bin) = cli_bin("(agent_cli) codex_sign_in_menu_is_waiting_and_notify_is_wired") else {
        return;
    };
    let _one = ONE_AT_A_TIME.lock().await;
    let (home, work) = (TempDir::new("home"), TempDir::new("work"));
    let server = ai_server(&bin, home.dir(), work.dir());
    let s = start(&server, "codex").await;
    let id = s["id"].as_str().unwrap();
    let command: Vec<&str> = s["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(command[1], "-c");
    assert!(
        command[2].starts_with("notify=[") && command[2].ends_with(r#""hook"]"#),
        "{command:?}"
    );
    wait_screen(&server, id, r"Sign in with ChatGPT").await;
    let agent = wait_agent(&server, id, "waiting").await;
    assert_eq!(agent["source"], "screen");
    assert!(
        agent["detail"]
            .as_str()
            .unwrap()
            .contains("Sign in with ChatGPT"),
        "{agent}"
    );
}

#[tokio::test]
async fn gemini_trust_dialog_is_waiting() {
    let Some(bin) = cli_bin("(agent_cli) gemini_trust_dialog_is_waiting") else {
        return;
    };
    let _one = ONE_AT_A_TIME.lock().await;
    let (home, work) = (TempDir::new("home"), TempDir::new("work"));
    let server = ai_server(&bin, home.dir(), work.dir());
    let s = start(&server, "gemini").await;
    let id = s["id"].as_str().unwrap();
    wait_screen(&server, id, r"Do you trust the files in this folder\?").await;
    let agent = wait_agent(&server, id, "waiting").await;
    assert_eq!(agent["source"], "screen");
    assert!(
        agent["detail"]
            .as_str()
            .unwrap()
            .contains("Do you trust the files in this folder?"),
        "{agent}"
    );
}

#[tokio::test]
async fn claude_code_takes_its_hook_settings_and_its_error_is_waiting() {
    let Some(bin) =
        cli_bin("(agent_cli) claude_code_takes_its_hook_settings_and_its_error_is_waiting")
    else {
        return;
    };
    let _one = ONE_AT_A_TIME.lock().await;
    let (home, work) = (TempDir::new("home"), TempDir::new("work"));
    let server = ai_server(&bin, home.dir(), work.dir());
    let s = start(&server, "claude").await;
    let id = s["id"].as_str().unwrap();
    let command = s["command"].as_array().unwrap();
    assert_eq!(command[1], "--settings");
    let settings: Value = serde_json::from_str(command[2].as_str().unwrap()).unwrap();
    for event in [
        "UserPromptSubmit",
        "PreToolUse",
        "PostToolUse",
        "Notification",
        "Stop",
    ] {
        let hook = &settings["hooks"][event][0]["hooks"][0]["command"];
        assert!(
            hook.as_str().unwrap().ends_with("ptyhub hook"),
            "{event}: {hook}"
        );
    }
    // It starts with those settings (an unknown flag or bad JSON would end
    // it with a usage error instead of its banner).
    wait_screen(&server, id, "Welcome to Claude Code").await;
    wait_screen(&server, id, "Unable to connect to Anthropic services").await;
    let agent = wait_agent(&server, id, "waiting").await;
    assert_eq!(agent["source"], "screen");
}
