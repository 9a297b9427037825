//! Deployment (docs/deployment.md) against the real binary: the OpenAPI
//! document (`/api/openapi.json`) is the one committed for the web UI's
//! types, passes `openapi-spec-validator`, and every route it lists answers
//! on a real server; `--base-path /pty` puts every route, page, asset, the
//! cookie's `Path` and the WebSocket under the prefix, and the client
//! follows a `PTYHUB_URL` with the prefix.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{Connect, TOKEN, TestServer, connect};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The committed copy the web UI's types are generated from.
fn committed_document() -> PathBuf {
    repo().join("web/src/generated/openapi.json")
}

/// The committed `web/src/generated/openapi.json` is the document the
/// server generates; `PTYHUB_BLESS=1` rewrites it (then run `npm run
/// gen-types` in web/, which `tests/run-all.sh` checks).
#[test]
fn the_committed_document_is_the_generated_one() {
    let generated = ptyhub_server::openapi::json("");
    let path = committed_document();
    if std::env::var_os("PTYHUB_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} differs from the server's OpenAPI document: run `PTYHUB_BLESS=1 cargo test -p ptyhub \
         --test deploy`, then `npm run gen-types` in web/",
        path.display()
    );
}

/// A Python virtual environment with `openapi-spec-validator`, made under
/// tests/.tools when missing.
fn validator() -> PathBuf {
    let venv = repo().join("tests/.tools/openapi-venv");
    let bin = venv.join("bin/openapi-spec-validator");
    if !bin.exists() {
        let made = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .status()
            .expect("python3 runs");
        assert!(made.success(), "python3 -m venv {}", venv.display());
        let installed = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "openapi-spec-validator"])
            .status()
            .expect("pip runs");
        assert!(installed.success(), "pip install openapi-spec-validator");
    }
    bin
}

#[tokio::test]
async fn the_served_document_is_valid_openapi_3_1() {
    let server = TestServer::start();
    let r = server.get("/api/openapi.json").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let text = r.text().await.unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    // The error shape and the bodies are schemas of the document.
    let schemas = &doc["components"]["schemas"];
    for name in [
        "ErrorBody",
        "SessionInfo",
        "CreateSessionRequest",
        "ServerEvent",
    ] {
        assert!(schemas[name].is_object(), "schema {name}");
    }
    assert_eq!(
        schemas["ErrorBody"]["required"],
        json!(["error"]),
        "{}",
        schemas["ErrorBody"]
    );
    // Without the token: 401, as every route but /healthz.
    let anon = server
        .http
        .get(server.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);

    let file = server.dir.path().join("openapi.json");
    std::fs::write(&file, &text).unwrap();
    let out = Command::new(validator()).arg(&file).output().unwrap();
    assert!(
        out.status.success(),
        "openapi-spec-validator: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every (method, path) of the document, asked of a real server with a real
/// session for `{id}`: none answers 404 or 405 (the route exists).
#[tokio::test]
async fn every_listed_route_answers() {
    // The session is recorded, so that the recording routes have a file.
    let recordings = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(
        &format!("recordings_dir = {:?}\n", recordings.path().display()),
        &[],
    );
    let r = server
        .call("/api/sessions", json!({"command": ["cat"], "record": true}))
        .await;
    assert_eq!(r.status(), 201);
    let s: Value = r.json().await.unwrap();
    assert_eq!(s["recording"]["state"], "on", "{s}");
    let id = s["id"].as_str().unwrap().to_owned();
    let ops = ptyhub_server::openapi::operations();
    assert!(ops.len() >= 20, "{ops:?}");
    // DELETE last: it ends the session the others use; the recording's
    // DELETE after it, once the session has ended (a recording being
    // written is 409).
    let mut ops = ops;
    ops.sort_by_key(|(m, p)| (m == "DELETE", p.starts_with("/api/recordings")));
    for (method, template) in ops {
        if method == "DELETE" && template.starts_with("/api/recordings") {
            server.wait_ended(&id, Duration::from_secs(10)).await;
        }
        let path = template.replace("{id}", &id).replace("{name}", "app.js");
        let body = match path.rsplit('/').next().unwrap() {
            "input" => json!({"data": "x"}),
            "resize" => json!({"cols": 90, "rows": 30}),
            "signal" => json!({"signal": "SIGWINCH"}),
            "wait" => json!({"pattern": ".*", "timeout_ms": 100}),
            "hook" => json!({"hook_event_name": "Stop"}),
            "sessions" => json!({"command": ["cat"]}),
            _ => json!({}),
        };
        let url = server.url(&path);
        let req = match method.as_str() {
            "GET" => server.http.get(url),
            "POST" => server.http.post(url).json(&body),
            "PATCH" => server.http.patch(url).json(&json!({"name": "n"})),
            "DELETE" => server.http.delete(url),
            other => panic!("method {other}"),
        };
        let r = tokio::time::timeout(Duration::from_secs(10), req.bearer_auth(TOKEN).send())
            .await
            .unwrap_or_else(|_| panic!("{method} {path}: no answer"))
            .unwrap();
        let status = r.status().as_u16();
        assert!(
            status != 404 && status != 405,
            "{method} {path} ({template}) answered {status}"
        );
        // A 2xx for all but the WebSocket route asked without an upgrade.
        if !path.ends_with("/ws") {
            assert!(
                r.status().is_success() || r.status().is_redirection(),
                "{method} {path}: {status}"
            );
        }
    }
}

#[tokio::test]
async fn base_path_puts_everything_under_the_prefix() {
    let server = TestServer::start_with("base_path = \"/pty/\"\n", &[]);
    assert!(server.base.ends_with("/pty"), "{}", server.base);
    let root = server.base.trim_end_matches("/pty").to_owned();
    let http = &server.http;

    let health = http.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    for outside in ["/healthz", "/api/sessions", "/", "/assets/app.js"] {
        let r = http
            .get(format!("{root}{outside}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{outside} outside the prefix");
    }

    // The page names its assets and the prefix under /pty.
    let page = server.get("/").send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"<meta name="ptyhub-base" content="/pty">"#),
        "{html}"
    );
    assert!(html.contains(r#"src="/pty/assets/app.js""#), "{html}");
    assert!(html.contains(r#"href="/pty/assets/app.css""#), "{html}");
    assert!(!html.contains(r#""/assets/"#), "{html}");
    for asset in ["/assets/app.js", "/assets/app.css"] {
        let r = server.get(asset).send().await.unwrap();
        assert_eq!(r.status(), 200, "{asset}");
    }
    // The login page posts to the prefix.
    let login = http.get(server.url("/")).send().await.unwrap();
    assert_eq!(login.status(), 401);
    assert!(
        login.text().await.unwrap().contains(r#"action="/pty/""#),
        "login form under the prefix"
    );

    // The token trade: redirect and cookie under the prefix.
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirect
        .get(format!("{}/s/abc?token={TOKEN}&readonly=1", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "/pty/s/abc?readonly=1");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("; Path=/pty;"), "{cookie}");
    let login_cookie = cookie.split(';').next().unwrap().to_owned();
    let listed = http
        .get(server.url("/api/sessions"))
        .header("cookie", &login_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200, "the cookie works under the prefix");

    // The document names the prefix as its server.
    let doc: Value = server.get_json("/api/openapi.json").await;
    assert_eq!(doc["servers"][0]["url"], "/pty");

    // The WebSocket under the prefix.
    let s = server.create(&["cat"]).await;
    let id = s["id"].as_str().unwrap().to_owned();
    let mut socket = connect(&server, &id, Connect::v1("")).await.unwrap();
    socket
        .send(Message::Binary(b"through-the-prefix\n".to_vec().into()))
        .await
        .unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        let mut text = Vec::new();
        while let Some(Ok(m)) = socket.next().await {
            if let Message::Binary(b) = m {
                text.extend_from_slice(&b);
                if String::from_utf8_lossy(&text).contains("through-the-prefix") {
                    return true;
                }
            }
        }
        false
    })
    .await;
    assert_eq!(seen, Ok(true), "echo over the WebSocket under /pty");

    // The client with the prefix in its URL, and from the runtime file.
    for env in [
        vec![
            ("PTYHUB_URL", server.base.clone()),
            ("PTYHUB_TOKEN", TOKEN.to_owned()),
        ],
        vec![(
            "XDG_RUNTIME_DIR",
            server.dir.path().to_string_lossy().into_owned(),
        )],
    ] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ptyhub"));
        cmd.args(["ls", "--json"])
            .env_remove("PTYHUB_URL")
            .env_remove("PTYHUB_TOKEN");
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "ptyhub ls with {env:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            listed["sessions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["id"] == id.as_str()),
            "{listed}"
        );
    }
}

#[test]
fn a_bad_base_path_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ptyhub"))
        .args(["serve", "--bind", "127.0.0.1:0", "--base-path", "/a b"])
        .env("PTYHUB_TOKEN", TOKEN)
        .env("XDG_RUNTIME_DIR", dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("base_path") || err.contains("--base-path"),
        "{err}"
    );
}

/// Binds a listening socket (on `argv[2]`'s address, port 0), makes it fd 3,
/// writes its port to the file `argv[1]`, sets `LISTEN_FDS=1` and
/// `LISTEN_PID` to its own pid, and execs the rest of its arguments (so the
/// pid stays the server's), as systemd does.
const ACTIVATE: &str = r#"
import os, socket, sys
port_file, host = sys.argv[1], sys.argv[2]
s = socket.socket()
s.bind((host, 0))
s.listen(64)
os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
open(port_file, "w").write(str(s.getsockname()[1]))
os.environ["LISTEN_FDS"] = "1"
os.environ["LISTEN_PID"] = str(os.getpid())
os.execv(sys.argv[3], sys.argv[3:])
"#;

#[tokio::test]
async fn socket_activation_serves_the_passed_socket() {
    let dir = tempfile::tempdir().unwrap();
    let port_file = dir.path().join("port");
    let port_arg = port_file.to_str().unwrap();
    let server =
        TestServer::start_launched(&["python3", "-c", ACTIVATE, port_arg, "127.0.0.1"], "", &[]);
    let port = std::fs::read_to_string(&port_file).unwrap();
    assert_eq!(
        server.addr,
        format!("127.0.0.1:{port}"),
        "the server serves the passed socket, not its --bind 127.0.0.1:0"
    );
    let r = server.get("/api/sessions").send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Loopback: the Host check is on.
    let r = server
        .get("/api/sessions")
        .header("host", "evil.example:80")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "the DNS-rebinding check applies");
    // The activation variables do not reach a session.
    let s = server.create(&["cat"]).await;
    let pid = s["pid"].as_i64().unwrap();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let environ = String::from_utf8_lossy(&environ);
    assert!(!environ.contains("LISTEN_FDS"), "{environ}");
    assert!(!environ.contains("LISTEN_PID"), "{environ}");
}

#[test]
fn socket_activation_on_a_public_socket_keeps_the_no_auth_rule() {
    let dir = tempfile::tempdir().unwrap();
    let port_file = dir.path().join("port");
    let out = Command::new("python3")
        .args(["-c", ACTIVATE, port_file.to_str().unwrap(), "0.0.0.0"])
        .arg(env!("CARGO_BIN_EXE_ptyhub"))
        .args(["serve", "--no-auth"])
        .env_remove("PTYHUB_TOKEN")
        .env("XDG_RUNTIME_DIR", dir.path())
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a public passed socket with --no-auth"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("0.0.0.0"), "{err}");
}

/// A `LISTEN_PID` that is not the server's: the variables are someone
/// else's, the server binds as usual.
#[tokio::test]
async fn socket_activation_for_another_pid_is_ignored() {
    let server = TestServer::start_launched(&["env", "LISTEN_FDS=1", "LISTEN_PID=1"], "", &[]);
    let r = server.get("/api/sessions").send().await.unwrap();
    assert_eq!(r.status(), 200);
}

/// `systemd-analyze verify` on examples/systemd (a user's units, with a
/// home of its own where the binary is where the unit expects it).
#[test]
fn the_systemd_units_verify() {
    let Ok(analyze) = which("systemd-analyze") else {
        eprintln!("skipped: systemd-analyze is not installed (the units are not verified)");
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let bin = home.path().join(".cargo/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_ptyhub"), bin.join("ptyhub")).unwrap();
    let run = home.path().join("run");
    std::fs::create_dir(&run).unwrap();
    let units = repo().join("examples/systemd");
    let out = Command::new(analyze)
        .args(["verify", "--user"])
        .arg(units.join("ptyhub.socket"))
        .arg(units.join("ptyhub.service"))
        .env("HOME", home.path())
        .env("XDG_RUNTIME_DIR", &run)
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "systemd-analyze verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn which(program: &str) -> Result<PathBuf, ()> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .ok_or(())
}

/// A WebSocket upgrade from a page at `https://pty.example.com`, through a
/// proxy on 127.0.0.1 that says so in `X-Forwarded-*`.
async fn upgrade_through_proxy(server: &TestServer, id: &str) -> Result<(), u16> {
    let url = format!("ws://{}/api/sessions/{id}/ws", server.addr);
    let mut req =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url)
            .unwrap();
    let h = req.headers_mut();
    for (k, v) in [
        ("origin", "https://pty.example.com"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "pty.example.com"),
        ("x-forwarded-for", "203.0.113.7"),
        ("sec-websocket-protocol", "ptyhub.v1"),
    ] {
        h.insert(k, v.parse().unwrap());
    }
    h.insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Ok(_) => Ok(()),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
        Err(e) => panic!("connect: {e}"),
    }
}

#[tokio::test]
async fn forwarded_headers_count_only_from_trusted_proxies() {
    let config = "allowed_hosts = [\"pty.example.com\"]\n";
    // The test's own address is the proxy: its headers define the origin.
    let trusted = TestServer::start_with(
        &format!("{config}trusted_proxies = [\"127.0.0.1/32\", \"::1\"]\n"),
        &[],
    );
    let id = trusted.create(&["cat"]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(upgrade_through_proxy(&trusted, &id).await, Ok(()));
    // The forwarded Host is the one the Host check looks at.
    let r = trusted
        .get("/api/sessions")
        .header("x-forwarded-host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a forwarded Host outside allowed_hosts");

    // Not a trusted proxy: the headers are ignored, the page's origin is
    // not the server's.
    let untrusted = TestServer::start_with(
        &format!("{config}trusted_proxies = [\"10.0.0.0/8\"]\n"),
        &[],
    );
    let id = untrusted.create(&["cat"]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(upgrade_through_proxy(&untrusted, &id).await, Err(403));
    let r = untrusted
        .get("/api/sessions")
        .header("x-forwarded-host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "an untrusted X-Forwarded-Host is ignored");
}

#[test]
fn a_bad_trusted_proxy_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "trusted_proxies = [\"10.0.0.0/33\"]\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ptyhub"))
        .args(["serve", "--bind", "127.0.0.1:0", "--config"])
        .arg(&config)
        .env("PTYHUB_TOKEN", TOKEN)
        .env("XDG_RUNTIME_DIR", dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("trusted_proxies"), "{err}");
}

/// `bind = "unix:/path"`: curl over the socket, the mode bits (0600, then
/// `socket_mode`), no Host check, `--no-auth` allowed (it counts as
/// loopback), and the file removed at exit.
#[test]
fn a_unix_socket_serves_the_api() {
    use std::os::unix::fs::PermissionsExt;
    for (mode_line, mode) in [("", 0o600), ("socket_mode = \"0660\"\n", 0o660)] {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("ptyhub.sock");
        let config = dir.path().join("c.toml");
        std::fs::write(
            &config,
            format!(
                "bind = \"unix:{}\"\n{mode_line}allow_arbitrary_commands = true\n",
                sock.display()
            ),
        )
        .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_ptyhub"))
            .args(["serve", "--no-auth", "--config"])
            .arg(&config)
            .env_remove("PTYHUB_TOKEN")
            .env("XDG_RUNTIME_DIR", dir.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let up = common::wait_for(Duration::from_secs(20), || sock.exists());
        assert!(up, "the socket appears");
        let bits = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
        assert_eq!(bits, mode, "{mode_line}");
        let curl = |args: &[&str]| {
            let out = Command::new("curl")
                .args(["-s", "--unix-socket"])
                .arg(&sock)
                .args(args)
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let created: Value = serde_json::from_str(&curl(&[
            "-d",
            r#"{"command":["cat"]}"#,
            "http://localhost/api/sessions",
        ]))
        .unwrap();
        let id = created["id"].as_str().unwrap().to_owned();
        // Any Host: a Unix socket has no DNS-rebinding check.
        let listed = curl(&["-H", "Host: evil.example", "http://x/api/sessions"]);
        assert!(listed.contains(&id), "{listed}");
        let health = curl(&["http://localhost/healthz"]);
        assert!(health.contains("ok"), "{health}");
        rustix::process::kill_process(
            rustix::process::Pid::from_child(&child),
            rustix::process::Signal::TERM,
        )
        .unwrap();
        assert!(child.wait().unwrap().success());
        assert!(!sock.exists(), "the socket is removed at exit");
    }
}
