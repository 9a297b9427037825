//! The HTTP API of docs/http-api.md against the real binary: every route,
//! with good and bad input; every error has the one error shape
//! (`{"error": {"code", "message"}}`).

mod common;
#[path = "api/confine.rs"]
mod confine;
#[path = "api/errors.rs"]
mod errors;

use common::{TOKEN, TestServer};
use serde_json::{Value, json};

/// The error code of a response that must have `status` and the
/// error shape (a message, never the token).
async fn error_of(r: reqwest::Response, status: u16) -> String {
    assert_eq!(r.status().as_u16(), status);
    let body: Value = r.json().await.expect("a JSON error body");
    let code = body["error"]["code"]
        .as_str()
        .expect("error.code")
        .to_owned();
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(
        !body.to_string().contains(TOKEN),
        "the token never appears in errors"
    );
    code
}

#[tokio::test]
async fn sessions_lifecycle_and_io() {
    let server = TestServer::start();
    assert_eq!(
        server
            .http
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let providers: Value = server.get_json("/api/providers").await;
    let shell = providers["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "shell")
        .unwrap();
    assert_eq!(shell["available"], true);

    let r = server
        .call("/api/sessions", json!({"provider": "shell", "name": "main", "labels": {"team": "a"}, "cols": 100, "rows": 30})).await;
    assert_eq!(r.status(), 201);
    let s: Value = r.json().await.unwrap();
    let id = s["id"].as_str().unwrap().to_owned();
    assert_eq!(s["name"], "main");
    assert_eq!(s["provider"], "shell");
    assert_eq!(
        (s["cols"].as_u64(), s["rows"].as_u64()),
        (Some(100), Some(30))
    );
    assert!(s["pid"].as_i64().unwrap() > 0);
    for key in [
        "created_at",
        "status",
        "resize_policy",
        "clients",
        "resources",
        "command",
        "cwd",
        "labels",
        "exit",
    ] {
        assert!(s.get(key).is_some(), "session object has {key}");
    }

    // JSON and raw input, then the screen, /wait and /output.
    let r = server
        .call(
            &format!("/api/sessions/{id}/input"),
            json!({"data": "stty size; echo hi-$((6*7))\r"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    server.wait_screen(&id, "^hi-42$").await;
    let r = server
        .http
        .post(server.url(&format!("/api/sessions/{id}/input")))
        .bearer_auth(TOKEN)
        .header("content-type", "application/octet-stream")
        .body(b"printf '\\x41\\x42'; echo raw-ok\r".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let m = server.wait_screen(&id, "ABraw-ok").await;
    assert_eq!(m["matched"], true);
    let screen: Value = server.get_json(&format!("/api/sessions/{id}/screen")).await;
    let lines: Vec<&str> = screen["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(lines.contains(&"30 100"), "{lines:?}");
    assert_eq!(screen["cols"], 100);
    assert!(screen["cursor"]["row"].as_u64().is_some());
    let ansi: Value = server
        .get_json(&format!("/api/sessions/{id}/screen?format=ansi"))
        .await;
    assert!(ansi["ansi"].as_str().unwrap().contains("hi-42") && ansi.get("lines").is_none());

    let out: Value = server
        .get_json(&format!("/api/sessions/{id}/output?since=0"))
        .await;
    assert_eq!(out["from"], 0);
    assert!(out["data"].as_str().unwrap().contains("hi-42"));
    let to = out["to"].as_u64().unwrap();
    // Long-poll: nothing new yet, then input arrives.
    let poll = server
        .get(&format!(
            "/api/sessions/{id}/output?since={to}&wait_ms=10000"
        ))
        .send();
    let typed = async {
        server
            .call(
                &format!("/api/sessions/{id}/input"),
                json!({"data": "echo later\r"}),
            )
            .await;
    };
    let (r, ()) = tokio::join!(poll, typed);
    let later: Value = r.unwrap().json().await.unwrap();
    assert_eq!(later["from"].as_u64(), Some(to));
    assert!(later["to"].as_u64().unwrap() > to);
    let raw = server
        .get(&format!("/api/sessions/{id}/output?since=0&format=raw"))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.headers()["ptyhub-from"], "0");
    assert_eq!(raw.headers()["content-type"], "application/octet-stream");
    assert!(raw.bytes().await.unwrap().windows(5).any(|w| w == b"hi-42"));

    // Resize, signal, PATCH.
    let r = server
        .call(
            &format!("/api/sessions/{id}/resize"),
            json!({"cols": 132, "rows": 43}),
        )
        .await;
    assert_eq!(r.status(), 200);
    // Once the foreground job runs (it says so itself), SIGINT ends it and
    // the shell takes the next command.
    server
        .call(
            &format!("/api/sessions/{id}/input"),
            json!({"data": "sh -c 'echo fg-$((2*4)); exec sleep 100'\r"}),
        )
        .await;
    server.wait_screen(&id, "^fg-8$").await;
    let r = server
        .call(
            &format!("/api/sessions/{id}/signal"),
            json!({"signal": "SIGINT"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    server
        .call(
            &format!("/api/sessions/{id}/input"),
            json!({"data": "echo after-$((1+1))\r"}),
        )
        .await;
    server.wait_screen(&id, "^after-2$").await;
    let r = server
        .patch(
            &format!("/api/sessions/{id}"),
            json!({"name": "renamed", "labels": {"x": "y"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let got: Value = server.get_json("/api/sessions/renamed").await;
    assert_eq!(got["id"].as_str(), Some(id.as_str()));
    // Another running session cannot take that name; `null` removes it.
    let other = server.create(&["sleep", "1009"]).await;
    let other_id = other["id"].as_str().unwrap().to_owned();
    let r = server
        .patch(
            &format!("/api/sessions/{other_id}"),
            json!({"name": "renamed"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "name_taken");
    let r = server
        .patch(&format!("/api/sessions/{id}"), json!({"name": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cleared: Value = r.json().await.unwrap();
    assert!(cleared["name"].is_null(), "{cleared}");
    assert_eq!(cleared["labels"]["x"], "y", "labels kept");
    let r = server
        .patch(&format!("/api/sessions/{id}"), json!({"name": "renamed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    server.kill(&other_id).await;
    let list: Value = server.get_json("/api/sessions").await;
    let listed = list["sessions"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "{list}");
    assert!(
        listed
            .iter()
            .any(|s| s["id"] == id.as_str() && s["name"] == "renamed")
    );

    // DELETE: 202, then terminated with reason deleted, nothing left.
    let pid = got["pid"].as_i64().unwrap() as i32;
    let r = server
        .delete(&format!("/api/sessions/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let ended = loop {
        let s: Value = server.get_json(&format!("/api/sessions/{id}")).await;
        if !s["exit"].is_null() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "session did not end: {s}"
        );
        // Returns at once when the output is complete, else after 200 ms.
        server
            .get(&format!(
                "/api/sessions/{id}/output?since=999999999&wait_ms=200"
            ))
            .send()
            .await
            .unwrap();
    };
    assert_eq!(ended["status"], "terminated");
    assert_eq!(ended["exit"]["reason"], "deleted");
    assert!(common::session_processes(pid).is_empty());
    // Input to an ended session: 409.
    let r = server
        .call(&format!("/api/sessions/{id}/input"), json!({"data": "x"}))
        .await;
    assert_eq!(error_of(r, 409).await, "not_running");
}

#[tokio::test]
async fn metrics_and_events() {
    let server = TestServer::start();
    let mut events = server.get("/api/events").send().await.unwrap();
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let s = server.create(&["sh", "-c", "echo bye"]).await;
    let id = s["id"].as_str().unwrap().to_owned();
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    while !(seen.contains("session_created") && seen.contains("session_exit")) {
        let chunk = tokio::time::timeout_at(deadline, events.chunk())
            .await
            .expect("events in time")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains(&id));
    let text = server
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text format");
    assert!(scrape.samples.iter().any(|s| s.metric == "ptyhub_sessions"));
    assert!(
        scrape
            .samples
            .iter()
            .any(|s| s.metric == "ptyhub_output_bytes_total")
    );
    assert_eq!(
        server
            .http
            .get(server.url("/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn the_python_example_runs() {
    let server = TestServer::start();
    let out = tokio::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/drive_a_session.py"
        ))
        .env("PTYHUB_URL", &server.base)
        .env("PTYHUB_TOKEN", TOKEN)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("the answer is 42"), "{stdout}");
}
