//! `workspace_root` and `env_allow`: what a create request may choose.

use serde_json::{Value, json};

use super::common::{TempDir, TestServer};
use super::error_of;

/// Starts `command` with `extra` request fields; the response.
async fn create(server: &TestServer, command: &str, extra: Value) -> reqwest::Response {
    let mut body = json!({"command": ["sh", "-c", command]});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    server.call("/api/sessions", body).await
}

/// The id of a created session (201 expected).
async fn created(r: reqwest::Response) -> String {
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    let s: Value = r.json().await.unwrap();
    s["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn workspace_root_confines_every_cwd_under_it() {
    let root = TempDir::new("workspace");
    let outside = TempDir::new("outside");
    std::fs::create_dir(root.path("proj")).unwrap();
    std::os::unix::fs::symlink(outside.dir(), root.path("escape")).unwrap();
    let canonical = |p: &std::path::Path| p.canonicalize().unwrap().display().to_string();
    let config = format!("workspace_root = {:?}\n", root.dir().display().to_string());
    let server = TestServer::start_with(&config, &[]);
    let show = "echo cwd=$(pwd -P); exec sleep 1011";

    // No cwd: the root itself.
    let id = created(create(&server, show, json!({})).await).await;
    server
        .wait_screen(
            &id,
            &format!("^cwd={}$", regex_escape(&canonical(root.dir()))),
        )
        .await;
    server.kill(&id).await;
    // A folder under it.
    let proj = root.path("proj");
    let id = created(create(&server, show, json!({"cwd": proj})).await).await;
    server
        .wait_screen(&id, &format!("^cwd={}$", regex_escape(&canonical(&proj))))
        .await;
    server.kill(&id).await;

    // Outside it, by any path: refused with 403, nothing started.
    let dotdot = root.path("proj/../..");
    for cwd in [
        outside.dir(),
        &root.path("escape"),
        &dotdot,
        std::path::Path::new("/"),
    ] {
        let r = create(&server, show, json!({"cwd": cwd})).await;
        assert_eq!(
            error_of(r, 403).await,
            "cwd_forbidden",
            "cwd {}",
            cwd.display()
        );
    }
    let list = server.get_json("/api/sessions").await;
    let running = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["exit"].is_null())
        .count();
    assert_eq!(running, 0, "{list}");
}

#[tokio::test]
async fn env_allow_is_the_only_names_a_request_may_set() {
    let server = TestServer::start_with("env_allow = [\"PTYHUB_TEST_A\"]\n", &[]);
    let show = "echo \"A=$PTYHUB_TEST_A B=${PTYHUB_TEST_B-unset}\"; exec sleep 1012";
    let r = create(&server, show, json!({"env": {"PTYHUB_TEST_A": "one"}})).await;
    let id = created(r).await;
    server.wait_screen(&id, "^A=one B=unset$").await;
    server.kill(&id).await;
    for env in [
        json!({"PTYHUB_TEST_B": "two"}),
        json!({"PTYHUB_TEST_A": "one", "PTYHUB_TEST_B": "two"}),
        json!({"LANG": "C"}),
    ] {
        let r = create(&server, show, json!({"env": env})).await;
        assert_eq!(error_of(r, 403).await, "env_forbidden", "{env}");
    }
    // Without env_allow, any (safe) name may be set.
    let open = TestServer::start();
    let r = create(&open, show, json!({"env": {"PTYHUB_TEST_B": "two"}})).await;
    let id = created(r).await;
    open.wait_screen(&id, "^A= B=two$").await;
    open.kill(&id).await;
}

/// `s` with the regex metacharacters a temporary path may hold escaped.
fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
