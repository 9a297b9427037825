//! The real AI coding CLIs (Claude Code, Codex, Gemini CLI) through their
//! provider presets: first screens, the same screens as in tmux, keys,
//! Ctrl-C, termination, late joiners; and the terminal environment and
//! synchronized output they rely on.
//!
//! The CLIs come from `tests/install-ai-clis.sh` (run by `tests/run-all.sh`),
//! or from the folder in `PTYHUB_AI_CLIS`; when they are missing these
//! tests fail, unless `PTYHUB_SKIP=ai-cli` asks to skip them (outside CI). Without network credentials they
//! still draw their first screens: Claude Code its welcome banner (then an
//! error), Codex its sign-in menu, Gemini CLI its folder-trust dialog.

mod common;
#[allow(dead_code)]
#[path = "../examples/drive_a_session.rs"]
mod example;
#[path = "ai_cli/gate.rs"]
mod gate;
#[path = "ai_cli/support.rs"]
mod support;

use std::time::{Duration, Instant};

use common::{TOKEN, TestClient, TestServer, poll, session_processes};
use serde_json::{Value, json};
use support::{
    BareServer, SLOW, Tmux, assert_same_as_tmux, cli_test, input, normalized, parser,
    processes_with_home, rows, screen_lines, session, start, wait_screen,
};

#[tokio::test]
async fn claude_code_shows_its_welcome_screen_as_in_tmux() {
    let Some(cli) = cli_test("claude_code_shows_its_welcome_screen_as_in_tmux").await else {
        return;
    };
    let server = &cli.server;
    let s = start(server, "claude").await;
    let id = s["id"].as_str().unwrap();
    assert_eq!(s["provider"], "claude");
    wait_screen(server, id, "Welcome to Claude Code").await;
    let tmux = Tmux::start(&cli.bin.join("claude"), cli.work.dir());
    assert_same_as_tmux(server, id, &tmux, "Welcome to Claude Code").await;
}

#[tokio::test]
async fn codex_menu_follows_the_arrow_keys_and_ctrl_c_ends_it() {
    let Some(cli) = cli_test("codex_menu_follows_the_arrow_keys_and_ctrl_c_ends_it").await else {
        return;
    };
    let server = &cli.server;
    // Started with no client attached: Codex asks for the cursor position
    // and the colours at start, and the server answers.
    let s = start(server, "codex").await;
    let id = s["id"].as_str().unwrap();
    wait_screen(server, id, "Welcome to Codex").await;
    wait_screen(server, id, r"^> 1\. Sign in with ChatGPT").await;

    let tmux = Tmux::start(&cli.bin.join("codex"), cli.work.dir());
    assert_same_as_tmux(server, id, &tmux, "> 1. Sign in with ChatGPT").await;

    input(server, id, "\x1b[B").await;
    wait_screen(server, id, r"^> 2\. Sign in with Device Code").await;
    input(server, id, "\x1b[B").await;
    wait_screen(server, id, r"^> 3\. Sign in another way").await;

    // A client that attaches now gets the screen everyone sees.
    let mut late = TestClient::attach(server, id, "?readonly=1").await;
    let k = late.hello["snapshot_bytes"].as_u64().unwrap() as usize;
    late.until("the snapshot", |c| c.output.len() >= k).await;
    // The snapshot may stand at the start of a synchronized frame still
    // open; with the stream after it, the client's screen is the live one.
    let ours = normalized(&screen_lines(server, id).await);
    let deadline = Instant::now() + SLOW;
    loop {
        let mut replayed = parser();
        replayed.process(&late.output);
        let theirs = normalized(&rows(&replayed));
        if theirs == ours {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "snapshot + stream = live screen: {theirs:?} vs {ours:?}"
        );
        let n = late.output.len();
        let _ = tokio::time::timeout(
            Duration::from_millis(200),
            late.until("more output", |c| c.output.len() > n),
        )
        .await;
    }

    input(server, id, "\r").await;
    wait_screen(server, id, r"^> 1\. Use an OpenAI API key").await;
    // The late client followed live.
    let want = normalized(&screen_lines(server, id).await);
    let deadline = Instant::now() + SLOW;
    let mut replayed = parser();
    let mut fed = 0;
    loop {
        replayed.process(&late.output[fed..]);
        fed = late.output.len();
        let got = normalized(&rows(&replayed));
        if got == want {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the late client's screen:\n{}\n---- live:\n{}",
            got.join("\n"),
            want.join("\n")
        );
        // Take what has come meanwhile (at most 200 ms of waiting).
        let _ = tokio::time::timeout(
            Duration::from_millis(200),
            late.until("more output", |c| c.output.len() > fed),
        )
        .await;
    }

    input(server, id, "\x03").await;
    let ended = poll("Ctrl-C ends Codex", SLOW, || async {
        let s = session(server, id).await;
        if s["status"] == "exited" {
            Ok(s)
        } else {
            Err(s.to_string())
        }
    })
    .await;
    assert_eq!(ended["exit"]["reason"], "exited");
    // Codex's app-server daemon (a session of its own) ended with it.
    poll("nothing Codex started is left", SLOW, || async {
        let left = processes_with_home(cli.home.dir());
        if left.is_empty() {
            Ok(())
        } else {
            Err(format!("left: {left:?}"))
        }
    })
    .await;
}

#[tokio::test]
async fn gemini_asks_about_trust_as_in_tmux_and_terminating_leaves_no_process() {
    let Some(cli) =
        cli_test("gemini_asks_about_trust_as_in_tmux_and_terminating_leaves_no_process").await
    else {
        return;
    };
    let server = &cli.server;
    let s = start(server, "gemini").await;
    let id = s["id"].as_str().unwrap();
    let pid = s["pid"].as_i64().unwrap() as i32;
    wait_screen(server, id, "Do you trust the files in this folder").await;

    let tmux = Tmux::start(&cli.bin.join("gemini"), cli.work.dir());
    assert_same_as_tmux(server, id, &tmux, "Do you trust the files in this folder").await;

    let before = session_processes(pid);
    assert!(!before.is_empty(), "gemini's processes are in its session");
    server.kill(id).await;
    poll("every process of the session ends", SLOW, || async {
        let mut left = session_processes(pid);
        left.extend(processes_with_home(cli.home.dir()));
        let ended = session(server, id).await["status"] == "terminated";
        if left.is_empty() && ended {
            Ok(())
        } else {
            Err(format!("left {left:?} (before: {before:?}), ended {ended}"))
        }
    })
    .await;
}

#[tokio::test]
async fn providers_show_availability_and_version() {
    let Some(cli) = cli_test("providers_show_availability_and_version").await else {
        return;
    };
    let server = &cli.server;
    let list: Value = server.get_json("/api/providers").await;
    let by_name = |name: &str| -> Value {
        list["providers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} in {list}"))
    };
    for (name, version) in [
        ("claude", "Claude Code"),
        ("codex", "codex-cli"),
        ("gemini", "."),
    ] {
        let p = by_name(name);
        assert_eq!(p["available"], true, "{p}");
        assert_eq!(p["command"], name);
        let v = p["version"].as_str().unwrap_or_default();
        assert!(v.contains(version), "{name}: {p}");
    }
    let cursor = by_name("cursor");
    assert_eq!(cursor["command"], "cursor-agent");
}

#[tokio::test]
async fn a_bare_environment_still_gets_term_colours_utf8_and_the_size_from_the_start() {
    let server = BareServer::start();
    let http = reqwest::Client::new();
    // The size is printed before anything else could resize the terminal.
    let script = "stty size; echo \"T=$TERM C=$COLORTERM\"; locale charmap; printf '\\342\\234\\223 done\\n'; sleep 1000";
    let r = http
        .post(format!("{}/api/sessions", server.base))
        .bearer_auth(TOKEN)
        .json(&json!({"command": ["sh", "-c", script], "cols": 77, "rows": 21}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let s: Value = r.json().await.unwrap();
    let id = s["id"].as_str().unwrap().to_owned();
    let r: Value = http
        .post(format!("{}/api/sessions/{id}/wait", server.base))
        .bearer_auth(TOKEN)
        .json(&json!({"pattern": "done", "timeout_ms": 20000}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["matched"], true, "{r}");
    let screen: Value = http
        .get(format!("{}/api/sessions/{id}/screen", server.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let lines: Vec<&str> = screen["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(
        lines[..4],
        ["21 77", "T=xterm-256color C=truecolor", "UTF-8", "✓ done"],
        "{lines:?}"
    );
    http.delete(format!("{}/api/sessions/{id}", server.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn synchronized_output_reaches_clients_intact() {
    let server = TestServer::start();
    let script = r#"printf 'a\033[?2026h\033[2J\033[Hframe\033[?2026lz\n'; sleep 1000"#;
    let s = server.create(&["sh", "-c", script]).await;
    let id = s["id"].as_str().unwrap();
    let mut c = TestClient::attach(&server, id, "?since=0").await;
    c.expect("z\r\n").await;
    assert!(
        c.text()
            .starts_with("a\x1b[?2026h\x1b[2J\x1b[Hframe\x1b[?2026lz\r\n"),
        "{:?}",
        c.text()
    );
    server.kill(id).await;
}

#[tokio::test]
async fn the_rust_example_drives_a_session() {
    let server = TestServer::start();
    let report = example::Api::new(&server.base, TOKEN)
        .drive(
            "shell",
            "echo the answer is $((6*7))",
            r"^the answer is \d+$",
        )
        .await
        .unwrap();
    assert_eq!(report.line, "the answer is 42");
    assert_eq!(report.screen[report.row as usize], "the answer is 42");
    assert!(report.output.contains("the answer is 42"), "{report:?}");
    // DELETE answers at once; the session ends right after.
    poll("the example's session ends", SLOW, || async {
        let s = session(&server, &report.id).await;
        if s["status"] == "terminated" {
            Ok(())
        } else {
            Err(s.to_string())
        }
    })
    .await;
}
