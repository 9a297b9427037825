//! Bad input gets the error shape and disturbs nothing; what is
//! refused by default; the 429 limits.

use serde_json::{Value, json};

use super::common::{TOKEN, TestServer};
use super::error_of;

#[tokio::test]
async fn bad_input_gets_the_error_shape_and_disturbs_nothing() {
    let server = TestServer::start_with("max_message_bytes = 4096\n", &[]);
    let s = server.create(&["cat"]).await;
    let id = s["id"].as_str().unwrap();
    let cases: Vec<(String, Value, u16, &str)> = vec![
        (
            "/api/sessions".to_owned(),
            json!({"provider": "nope"}),
            400,
            "unknown_provider",
        ),
        (
            "/api/sessions".to_owned(),
            json!({"provider": "shell", "bogus": 1}),
            400,
            "bad_request",
        ),
        (
            "/api/sessions".to_owned(),
            json!({"provider": "shell", "cols": 0, "rows": 10}),
            400,
            "invalid_size",
        ),
        (
            "/api/sessions".to_owned(),
            json!({"provider": "shell", "cols": 100000, "rows": 10}),
            400,
            "invalid_size",
        ),
        (
            "/api/sessions".to_owned(),
            json!({"provider": "shell", "cols": "wide"}),
            400,
            "bad_request",
        ),
        (
            "/api/sessions".to_owned(),
            json!({"provider": "shell", "cwd": "/nonexistent/dir"}),
            400,
            "invalid_cwd",
        ),
        (
            "/api/sessions".to_owned(),
            json!({"provider": "shell", "name": "x".repeat(129)}),
            400,
            "invalid_name",
        ),
        (
            "/api/sessions".to_owned(),
            json!({"command": ["no-such-program-xyz"]}),
            400,
            "program_not_found",
        ),
        (
            "/api/sessions".to_owned(),
            json!({"provider": "shell", "command": ["sh"]}),
            400,
            "bad_request",
        ),
        (
            format!("/api/sessions/{id}/resize"),
            json!({"cols": 1001, "rows": 10}),
            400,
            "invalid_size",
        ),
        (
            format!("/api/sessions/{id}/resize"),
            json!({"cols": -1, "rows": 10}),
            400,
            "bad_request",
        ),
        (
            format!("/api/sessions/{id}/signal"),
            json!({"signal": "SIGNOPE"}),
            400,
            "unknown_signal",
        ),
        (
            format!("/api/sessions/{id}/signal"),
            json!({"signal": "SIGSEGV"}),
            400,
            "unknown_signal",
        ),
        (
            format!("/api/sessions/{id}/wait"),
            json!({"pattern": "("}),
            400,
            "invalid_pattern",
        ),
        (
            format!("/api/sessions/{id}/wait"),
            json!({"pattern": "x".repeat(1025)}),
            400,
            "invalid_pattern",
        ),
        (
            format!("/api/sessions/{id}/input"),
            json!({"data": 5}),
            400,
            "bad_request",
        ),
        (
            "/api/sessions/00000000-0000-0000-0000-000000000000/input".to_owned(),
            json!({"data": "x"}),
            404,
            "not_found",
        ),
    ];
    for (path, body, status, code) in cases {
        let r = server.call(&path, body.clone()).await;
        assert_eq!(error_of(r, status).await, code, "{path} {body}");
    }
    let r = server
        .call(
            &format!("/api/sessions/{id}/wait"),
            json!({"pattern": "never-there", "timeout_ms": 200}),
        )
        .await;
    assert_eq!(r.status(), 408);
    // Invalid UTF-8 and a body over the limit.
    let r = server
        .http
        .post(server.url("/api/sessions"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(b"{\"provider\": \"\xff\xfe\"}".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = server
        .call(
            &format!("/api/sessions/{id}/input"),
            json!({"data": "y".repeat(10_000)}),
        )
        .await;
    assert_eq!(error_of(r, 413).await, "too_large");
    for path in [
        "/api/sessions/nope",
        "/api/sessions/nope/screen",
        "/api/sessions/nope/output",
    ] {
        assert_eq!(
            error_of(server.get(path).send().await.unwrap(), 404).await,
            "not_found"
        );
    }
    // The session is still fine.
    server
        .call(
            &format!("/api/sessions/{id}/input"),
            json!({"data": "still-alive\r"}),
        )
        .await;
    server.wait_screen(id, "still-alive").await;
    let list: Value = server.get_json("/api/sessions").await;
    assert_eq!(
        list["sessions"].as_array().unwrap().len(),
        1,
        "no failed create left a session"
    );
}

#[tokio::test]
async fn arbitrary_commands_and_dangerous_env_are_refused_by_default() {
    let server = TestServer::start_with("allow_arbitrary_commands = false\n", &[]);
    let r = server
        .call("/api/sessions", json!({"command": ["sh"]}))
        .await;
    assert_eq!(error_of(r, 403).await, "arbitrary_command");
    let r = server
        .call(
            "/api/sessions",
            json!({"provider": "shell", "env": {"LD_PRELOAD": "/x.so"}}),
        )
        .await;
    assert_eq!(error_of(r, 403).await, "env_forbidden");
    let r = server
        .call(
            "/api/sessions",
            json!({"provider": "shell", "env": {"BASH_ENV": "/x"}}),
        )
        .await;
    assert_eq!(error_of(r, 403).await, "env_forbidden");
}

#[tokio::test]
async fn limits_answer_429() {
    let server = TestServer::start_with("max_sessions = 1\n", &[]);
    let first = server.create(&["cat"]).await;
    let r = server
        .call("/api/sessions", json!({"command": ["cat"]}))
        .await;
    assert_eq!(error_of(r, 429).await, "too_many_sessions");
    let id = first["id"].as_str().unwrap();
    server.kill(id).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let r = server
            .call("/api/sessions", json!({"command": ["cat"]}))
            .await;
        if r.status() == 201 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "accepts again after one ended"
        );
        server
            .get(&format!(
                "/api/sessions/{id}/output?since=999999999&wait_ms=100"
            ))
            .send()
            .await
            .unwrap();
    }
}
