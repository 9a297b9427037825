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

use common::{TestServer, poll};
use serde_json::Value;
use support::{SLOW, cli_test, start, wait_screen};

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

/// Waits until the screen of `id` matches `pattern`, then until the agent
/// state is `waiting` from the screen, its detail the line that says so
/// (which contains `line`).
async fn waiting_on_screen(server: &TestServer, id: &str, pattern: &str, line: &str) {
    wait_screen(server, id, pattern).await;
    let agent = wait_agent(server, id, "waiting").await;
    assert_eq!(agent["source"], "screen");
    assert!(agent["detail"].as_str().unwrap().contains(line), "{agent}");
}

#[tokio::test]
async fn codex_sign_in_menu_is_waiting_and_notify_is_wired() {
    let Some(cli) = cli_test("(agent_cli) codex_sign_in_menu_is_waiting_and_notify_is_wired").await
    else {
        return;
    };
    let server = &cli.server;
    let s = start(server, "codex").await;
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
    waiting_on_screen(server, id, r"Sign in with ChatGPT", "Sign in with ChatGPT").await;
}

#[tokio::test]
async fn gemini_trust_dialog_is_waiting() {
    let Some(cli) = cli_test("(agent_cli) gemini_trust_dialog_is_waiting").await else {
        return;
    };
    let server = &cli.server;
    let s = start(server, "gemini").await;
    let id = s["id"].as_str().unwrap();
    waiting_on_screen(
        server,
        id,
        r"Do you trust the files in this folder\?",
        "Do you trust the files in this folder?",
    )
    .await;
}

#[tokio::test]
async fn claude_code_takes_its_hook_settings_and_its_error_is_waiting() {
    let Some(cli) =
        cli_test("(agent_cli) claude_code_takes_its_hook_settings_and_its_error_is_waiting").await
    else {
        return;
    };
    let server = &cli.server;
    let s = start(server, "claude").await;
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
    wait_screen(server, id, "Welcome to Claude Code").await;
    wait_screen(server, id, "Unable to connect to Anthropic services").await;
    let agent = wait_agent(server, id, "waiting").await;
    assert_eq!(agent["source"], "screen");
}
