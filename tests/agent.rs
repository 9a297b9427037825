//! Agent state end to end, against the real binary: each signal driven by
//! a real program (OSC notifications from printf, a spinner, a shell that
//! runs `ptyhub hook` the way Claude Code does), the hook token's limits,
//! `/wait` on a state, SSE and WebSocket events, `ptyhub ls` and
//! `ptyhub wait`, the metrics gauge and a bad pattern in the config.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{TOKEN, TempDir, TestClient, TestServer, poll};
use ptyhub_protocol::v1::ServerEvent;
use serde_json::{Value, json};

/// A short quiet time, so that tests do not wait the default 3 s.
const CONFIG: &str = "agent_quiet = \"1s\"\n";

/// Server-Sent Events, read as they come.
struct Sse {
    response: reqwest::Response,
    buffer: String,
}

impl Sse {
    async fn open(server: &TestServer) -> Sse {
        let response = server.get("/api/events").send().await.unwrap();
        assert_eq!(response.status(), 200);
        Sse {
            response,
            buffer: String::new(),
        }
    }

    /// The data of the first event named `name` whose data satisfies `f`.
    async fn until(&mut self, name: &str, f: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = "";
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(e) = line.strip_prefix("event:") {
                        event = e.trim();
                    } else if let Some(d) = line.strip_prefix("data:") {
                        data.push_str(d.trim_start());
                    }
                }
                if event == name {
                    let value: Value = serde_json::from_str(&data).unwrap();
                    if f(&value) {
                        return value;
                    }
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .unwrap_or_else(|_| panic!("no {name} event in time; buffer {:?}", self.buffer))
                .unwrap()
                .expect("the stream stays open");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

fn state_of(session: &Value) -> (&str, &str) {
    let agent = &session["agent"];
    (
        agent["state"].as_str().unwrap_or("?"),
        agent["source"].as_str().unwrap_or("-"),
    )
}

async fn wait_state(server: &TestServer, id: &str, state: &str) -> Value {
    let r = server
        .call(
            &format!("/api/sessions/{id}/wait"),
            json!({"agent_state": state, "timeout_ms": 15000}),
        )
        .await;
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "waiting for {state}: {body}");
    assert_eq!(body["matched"], true);
    body["agent"].clone()
}

#[tokio::test]
async fn notifications_in_the_output_make_a_session_wait() {
    let server = TestServer::start_with(CONFIG, &[]);
    let mut sse = Sse::open(&server).await;
    // OSC 777 with HTML in its body, then OSC 9, then a bare BEL, each
    // once the previous was seen (the script waits for a line of input).
    let script = r#"printf 'start\n'; read a; printf '\033]777;notify;Build;<b>done</b>\033\\'; read b; printf '\033]9;tests passed\007'; read c; printf 'bell\007'; exec sleep 60"#;
    let s = server.create(&["bash", "-c", script]).await;
    let id = s["id"].as_str().unwrap().to_owned();
    assert_eq!(state_of(&s).0, "unknown", "no signal yet");
    server.wait_screen(&id, "start").await;
    server
        .call(&format!("/api/sessions/{id}/input"), json!({"data": "\r"}))
        .await;
    // The state change goes out first, then the notification.
    let changed = sse
        .until("session_agent", |v| {
            v["session"]["id"] == id.as_str() && v["session"]["agent"]["state"] == "waiting"
        })
        .await;
    assert_eq!(changed["session"]["agent"]["source"], "notification");
    let note = sse
        .until("session_notification", |v| {
            v["session"]["id"] == id.as_str()
        })
        .await;
    assert_eq!(note["title"], "Build");
    assert_eq!(note["body"], "<b>done</b>", "HTML is stored as text");
    let agent = wait_state(&server, &id, "waiting").await;
    assert_eq!(agent["source"], "notification");
    assert_eq!(agent["detail"], "Build: <b>done</b>");
    assert_eq!(agent["notifications"], 1);

    server
        .call(&format!("/api/sessions/{id}/input"), json!({"data": "\r"}))
        .await;
    let note = sse
        .until("session_notification", |v| v["body"] == "tests passed")
        .await;
    assert_eq!(note["title"], Value::Null, "OSC 9 has no title");
    server
        .call(&format!("/api/sessions/{id}/input"), json!({"data": "\r"}))
        .await;
    let bel = sse
        .until("session_notification", |v| {
            v["session"]["agent"]["notifications"] == 3
        })
        .await;
    assert_eq!(
        (bel["title"].clone(), bel["body"].clone()),
        (Value::Null, Value::Null)
    );
    let s = server.session(&id).await;
    assert_eq!(s["agent"]["notifications"], 3);
    assert_eq!(s["agent"]["state"], "waiting");
}

#[tokio::test]
async fn progress_is_busy_until_it_ends() {
    let server = TestServer::start_with(CONFIG, &[]);
    let script =
        r#"printf '\033]9;4;1;30\007working\n'; read a; printf '\033]9;4;0\007'; exec sleep 60"#;
    let s = server.create(&["bash", "-c", script]).await;
    let id = s["id"].as_str().unwrap().to_owned();
    let agent = wait_state(&server, &id, "busy").await;
    assert_eq!(agent["source"], "notification");
    // Quiet for longer than agent_quiet: progress still holds it busy.
    let mut ws = TestClient::attach(&server, &id, "").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        state_of(&server.session(&id).await),
        ("busy", "notification")
    );
    ws.send_json(json!({"type": "input", "data": "\r"})).await;
    let agent = wait_state(&server, &id, "ready").await;
    assert_eq!(agent["source"], "quiet");
    // The WebSocket client heard the change as an `agent` event.
    ws.until("the agent event", |c| {
        c.events.iter().any(|e| {
            matches!(e, ServerEvent::Agent { agent } if agent.state == ptyhub_protocol::api::AgentState::Ready)
        })
    })
    .await;
}

#[tokio::test]
async fn a_spinner_stays_busy_then_quiet_makes_it_ready() {
    let server = TestServer::start_with(CONFIG, &[]);
    // A spinner redrawn every 100 ms for 3 s, then nothing.
    let script = r#"for i in $(seq 1 30); do printf '\r%s working' "${s:i%4:1}"; sleep 0.1; done; printf '\ndone\n'; exec sleep 60"#;
    let s = server
        .create(&["bash", "-c", &format!("s='|/-\\'; {script}")])
        .await;
    let id = s["id"].as_str().unwrap().to_owned();
    let mut ws = TestClient::attach(&server, &id, "").await;
    ws.until("ready", |c| {
        c.events.iter().any(|e| {
            matches!(e, ServerEvent::Agent { agent } if agent.state == ptyhub_protocol::api::AgentState::Ready)
        })
    })
    .await;
    let states: Vec<String> = ws
        .events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Agent { agent } => Some(agent.state.to_string()),
            _ => None,
        })
        .collect();
    let mut changes = states.clone();
    changes.dedup();
    assert_eq!(changes, ["busy", "ready"], "no flapping: {states:?}");
    assert!(
        ws.text().contains("done"),
        "ready only after the spinner ended"
    );
}

#[tokio::test]
async fn a_shell_posts_hooks_the_way_claude_code_does() {
    let server = TestServer::start_with(CONFIG, &[]);
    let bin = env!("CARGO_BIN_EXE_ptyhub");
    // Claude Code runs its hook commands with a shell and the event JSON on
    // stdin; `ptyhub hook` finds the server in the session's environment.
    let script = format!(
        r#"echo '{{"session_id":"s","hook_event_name":"UserPromptSubmit","prompt":"hi"}}' | {bin} hook; read a
echo '{{"hook_event_name":"Notification","message":"Claude needs your permission to use Bash","cwd":"/"}}' | {bin} hook; read b
echo '{{"hook_event_name":"Stop","stop_hook_active":false}}' | {bin} hook; read c
{bin} hook '{{"type":"agent-turn-complete","last-assistant-message":"ok"}}'; echo posted; exec sleep 60"#
    );
    let s = server.create(&["bash", "-c", &script]).await;
    let id = s["id"].as_str().unwrap().to_owned();
    let agent = wait_state(&server, &id, "busy").await;
    assert_eq!(
        (agent["source"].as_str(), agent["detail"].as_str()),
        (Some("hook"), Some("UserPromptSubmit"))
    );
    server
        .call(&format!("/api/sessions/{id}/input"), json!({"data": "\r"}))
        .await;
    let agent = wait_state(&server, &id, "waiting").await;
    assert_eq!(agent["detail"], "Claude needs your permission to use Bash");
    // The echo of the Enter is output: the hook still stands.
    assert_eq!(state_of(&server.session(&id).await), ("waiting", "hook"));
    server
        .call(&format!("/api/sessions/{id}/input"), json!({"data": "\r"}))
        .await;
    let agent = wait_state(&server, &id, "ready").await;
    assert_eq!(
        (agent["source"].as_str(), agent["detail"].as_str()),
        (Some("hook"), Some("Stop"))
    );
    // Codex's notify passes the JSON as an argument.
    server
        .call(&format!("/api/sessions/{id}/input"), json!({"data": "\r"}))
        .await;
    server.wait_screen(&id, "^posted").await;
    // The route answers once the event is queued for the session's agent
    // task; the detail follows within moments.
    poll("the notify's detail", Duration::from_secs(5), || async {
        let s = server.session(&id).await;
        match s["agent"]["detail"].as_str() {
            Some("agent-turn-complete") => Ok(()),
            _ => Err(s["agent"].to_string()),
        }
    })
    .await;
}

#[tokio::test]
async fn the_hook_token_is_good_for_its_own_hook_route_only() {
    let server = TestServer::start_with(CONFIG, &[]);
    let dir = TempDir::new("hook-token");
    let mut sessions = Vec::new();
    for name in ["a", "b"] {
        let file = dir.path(name);
        let script = format!(
            r#"printf '%s %s %s' "$PTYHUB_URL" "$PTYHUB_SESSION_ID" "$PTYHUB_HOOK_TOKEN" > {}; exec sleep 60"#,
            file.display()
        );
        let s = server.create(&["bash", "-c", &script]).await;
        let id = s["id"].as_str().unwrap().to_owned();
        let env = poll("the session's environment", Duration::from_secs(10), || {
            let file = file.clone();
            async move {
                let text = std::fs::read_to_string(&file).map_err(|e| e.to_string())?;
                let parts: Vec<String> = text.split(' ').map(str::to_owned).collect();
                if parts.len() == 3 {
                    Ok(parts)
                } else {
                    Err(text)
                }
            }
        })
        .await;
        assert_eq!(env[0], server.base, "PTYHUB_URL");
        assert_eq!(env[1], id, "PTYHUB_SESSION_ID");
        assert_ne!(env[2], TOKEN, "never the server's token");
        assert_eq!(env[2].len(), 64);
        sessions.push((id, env[2].clone()));
    }
    let (a, token_a) = &sessions[0];
    let (b, _) = &sessions[1];
    let http = reqwest::Client::new();
    let hook = |id: &str, token: &str, body: Vec<u8>| {
        http.post(server.url(&format!("/api/sessions/{id}/hook")))
            .bearer_auth(token)
            .body(body)
            .send()
    };
    // Any other route: not the server's token.
    for path in ["/api/sessions", &format!("/api/sessions/{a}"), "/metrics"] {
        let r = http
            .get(server.url(path))
            .bearer_auth(token_a)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path}");
    }
    let r = http
        .post(server.url(&format!("/api/sessions/{a}/input")))
        .bearer_auth(token_a)
        .json(&json!({"data": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Another session's hook route.
    let r = hook(b, token_a, br#"{"hook_event_name":"Stop"}"#.to_vec())
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // No token, a wrong one.
    let r = http
        .post(server.url(&format!("/api/sessions/{a}/hook")))
        .body(r#"{"hook_event_name":"Stop"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Bad bodies: 400 with the error shape, the state unchanged.
    let before = server.session(a).await["agent"].clone();
    let big = format!(
        r#"{{"hook_event_name":"Stop","x":"{}"}}"#,
        "x".repeat(2 << 20)
    );
    for (body, code) in [
        (b"not json".to_vec(), "invalid_json"),
        (
            br#"{"hook_event_name":"Explode"}"#.to_vec(),
            "unknown_event",
        ),
        (br#"{"type":"other"}"#.to_vec(), "unknown_event"),
        (big.into_bytes(), "body_too_large"),
    ] {
        let r = hook(a, token_a, body).await.unwrap();
        assert_eq!(r.status(), 400);
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["error"]["code"], code, "{e}");
        assert!(e["error"]["message"].is_string());
    }
    assert_eq!(server.session(a).await["agent"]["source"], before["source"]);
    assert_ne!(server.session(a).await["agent"]["source"], "hook");
    // Its own route, with extra fields: 204.
    let r = hook(
        a,
        token_a,
        br#"{"hook_event_name":"Stop","extra":{"any":1}}"#.to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 204);
    let agent = wait_state(&server, a, "ready").await;
    assert_eq!(agent["source"], "hook");
    // The server's token is good on the hook route too.
    let r = server
        .post(
            &format!("/api/sessions/{b}/hook"),
            json!({"hook_event_name": "PreToolUse", "tool_name": "Bash"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    wait_state(&server, b, "busy").await;
}

#[tokio::test]
async fn ls_wait_and_metrics_show_the_state() {
    let server = TestServer::start_with(CONFIG, &[]);
    let s = server
        .create(&["bash", "-c", "echo hello; exec sleep 60"])
        .await;
    let id = s["id"].as_str().unwrap().to_owned();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ptyhub"))
            .args(args)
            .env("PTYHUB_URL", &server.base)
            .env("PTYHUB_TOKEN", TOKEN)
            .output()
            .unwrap()
    };
    let ready = tokio::task::spawn_blocking({
        let id = id.clone();
        let base = server.base.clone();
        move || {
            Command::new(env!("CARGO_BIN_EXE_ptyhub"))
                .args(["wait", &id, "--state", "ready", "--timeout", "20s"])
                .env("PTYHUB_URL", base)
                .env("PTYHUB_TOKEN", TOKEN)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert_eq!(ready.status.code(), Some(0), "{ready:?}");
    assert_eq!(String::from_utf8_lossy(&ready.stdout).trim(), "ready");
    let timeout = run(&["wait", &id, "--state", "waiting", "--timeout", "500ms"]);
    assert_eq!(timeout.status.code(), Some(1), "{timeout:?}");
    let ls = run(&["ls"]);
    let text = String::from_utf8_lossy(&ls.stdout);
    let header = text.lines().next().unwrap();
    assert!(header.contains("STATE"), "{text}");
    let row = text.lines().nth(1).unwrap();
    assert!(row.split_whitespace().any(|c| c == "ready"), "{text}");
    let metrics = server
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("ptyhub_sessions_agent{state=\"ready\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("ptyhub_sessions_agent{state=\"waiting\"} 0"),
        "{metrics}"
    );
    // /wait refuses a state that is not one.
    let r = server
        .call(
            &format!("/api/sessions/{id}/wait"),
            json!({"agent_state": "idle"}),
        )
        .await;
    assert_eq!(r.status(), 400);
}

#[test]
fn a_bad_pattern_refuses_the_config_naming_file_line_and_key() {
    let dir = TempDir::new("bad-pattern");
    let path = dir.path("config.toml");
    std::fs::write(
        &path,
        "[providers.mine]\ncommand = \"bash\"\nwaiting_patterns = [\"ok\", \"(unclosed\"]\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ptyhub"))
        .args(["serve", "--bind", "127.0.0.1:0", "--config"])
        .arg(&path)
        .env("PTYHUB_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("line 3"), "{err}");
    assert!(err.contains("providers.mine.waiting_patterns[1]"), "{err}");
}

/// A recorded session's agent-state changes are markers in its asciicast,
/// in order, before the exit's.
#[tokio::test]
async fn agent_state_changes_are_markers_in_the_recording() {
    let dir = TempDir::new("agent-rec");
    let server = TestServer::start_with(
        &format!("{CONFIG}record = true\nrecordings_dir = {:?}\n", dir.dir()),
        &[],
    );
    // Progress makes it busy; a notification, once told to go on, waiting.
    let script = r#"printf '\033]9;4;1;10\007working\n'; read a; printf '\033]9;4;0\007\033]9;your turn\007'; read b"#;
    let s = server.create(&["bash", "-c", script]).await;
    let id = s["id"].as_str().unwrap().to_owned();
    wait_state(&server, &id, "busy").await;
    server
        .call(&format!("/api/sessions/{id}/input"), json!({"data": "\r"}))
        .await;
    wait_state(&server, &id, "waiting").await;
    server
        .call(&format!("/api/sessions/{id}/input"), json!({"data": "\r"}))
        .await;
    server.wait_ended(&id, Duration::from_secs(20)).await;

    let markers = poll("the exit's marker", Duration::from_secs(10), || async {
        let text = server
            .get(&format!("/api/sessions/{id}/recording"))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .text()
            .await
            .map_err(|e| e.to_string())?;
        let markers: Vec<String> = text
            .lines()
            .skip(1)
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|e| e[1] == "m")
            .map(|e| e[2].as_str().unwrap_or_default().to_owned())
            .collect();
        if markers.last().is_some_and(|m| m.starts_with("exit:")) {
            Ok(markers)
        } else {
            Err(format!("{markers:?}"))
        }
    })
    .await;
    let agent: Vec<&str> = markers
        .iter()
        .filter(|m| m.starts_with("agent:"))
        .map(String::as_str)
        .collect();
    // What follows the reply (busy again, ready after the quiet time)
    // depends on timing; these two come first, in order.
    assert_eq!(
        agent.get(..2),
        Some(&["agent:busy", "agent:waiting"][..]),
        "{markers:?}"
    );
}
