//! The security model (docs/security.md), one regression test per point.

mod common;

use std::time::Duration;

use common::{Connect, TOKEN, TestServer, connect};
use serde_json::json;

#[tokio::test]
async fn the_token_is_needed_everywhere_but_healthz() {
    let server = TestServer::start();
    let c = &server.http;
    assert_eq!(
        c.get(server.url("/healthz")).send().await.unwrap().status(),
        200
    );
    for path in [
        "/api/sessions",
        "/api/providers",
        "/metrics",
        "/api/events",
        "/assets/app.js",
    ] {
        assert_eq!(
            c.get(server.url(path)).send().await.unwrap().status(),
            401,
            "{path}"
        );
        assert_eq!(
            c.get(server.url(path))
                .bearer_auth("wrong")
                .send()
                .await
                .unwrap()
                .status(),
            401,
            "{path}"
        );
    }
    assert_eq!(
        c.get(server.url(&format!("/api/sessions?token={TOKEN}")))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // The token in a cookie is no credential: a browser never holds it.
    for name in ["ptyhub_token", "ptyhub_login"] {
        assert_eq!(
            c.get(server.url("/api/sessions"))
                .header("cookie", format!("{name}={TOKEN}"))
                .send()
                .await
                .unwrap()
                .status(),
            401
        );
    }
    assert_eq!(
        c.get(server.url("/api/sessions"))
            .header("cookie", TestServer::login_cookie(&server).await)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let r = c
        .post(server.url("/api/sessions"))
        .json(&json!({"provider": "shell"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
}

#[tokio::test]
async fn the_page_trades_the_token_for_a_cookie() {
    let server = TestServer::start();
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = c.get(server.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 401);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("token") && !html.contains("session"),
        "a login page with no data"
    );
    let r = c
        .get(server.url(&format!("/s/abc?readonly=1&token={TOKEN}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "/s/abc?readonly=1");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    assert!(cookie.contains("Max-Age="), "a login expires: {cookie}");
    // The cookie holds a login secret of its own, never the token.
    let pair = cookie.split(';').next().unwrap().to_owned();
    let (name, secret) = pair.split_once('=').unwrap();
    assert_eq!(name, "ptyhub_login");
    assert!(!cookie.contains(TOKEN) && secret.len() >= 32, "{cookie}");
    // Each login gets its own.
    assert_ne!(TestServer::login_cookie(&server).await, pair);
    let ok = c
        .get(server.url("/"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    // `%74oken` is `token` too: traded and removed, not redirected forever.
    let r = c
        .get(server.url(&format!("/?a=1&%74oken={TOKEN}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "/?a=1");
    let csp = ok.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("script-src 'self' 'unsafe-inline'"),
        "{csp}"
    );
    assert_eq!(ok.headers()["referrer-policy"], "no-referrer");
    // POST /logout revokes the login and removes the cookie.
    let out = c
        .post(server.url("/logout"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    let cleared = out.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cleared.starts_with("ptyhub_login=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    for path in ["/", "/api/sessions"] {
        let after = c
            .get(server.url(path))
            .header("cookie", &pair)
            .send()
            .await
            .unwrap();
        assert_eq!(after.status(), 401, "{path} after logout");
    }
}

#[tokio::test]
async fn websocket_origin_and_cookie_rules() {
    let server = TestServer::start();
    let s = server.create(&["cat"]).await;
    let id = s["id"].as_str().unwrap();
    let own = format!("http://{}", server.addr);
    let cookie = TestServer::login_cookie(&server).await;
    let v1 = |origin: Option<String>, cookie: Option<String>, token_header: bool| Connect {
        protocol: Some("ptyhub.v1"),
        token_header,
        origin,
        cookie,
        query: String::new(),
    };
    // Cross-site WebSocket hijacking: a foreign Origin is refused, even with the cookie.
    assert_eq!(
        connect(
            &server,
            id,
            v1(
                Some("http://evil.example".into()),
                Some(cookie.clone()),
                false
            )
        )
        .await
        .err(),
        Some(403)
    );
    assert_eq!(
        connect(
            &server,
            id,
            v1(Some("null".into()), Some(cookie.clone()), false)
        )
        .await
        .err(),
        Some(403)
    );
    let port_twin = format!("http://{}.evil.example", server.addr);
    assert_eq!(
        connect(
            &server,
            id,
            v1(Some(port_twin), Some(cookie.clone()), false)
        )
        .await
        .err(),
        Some(403)
    );
    // Our own origin with the cookie: fine (the web UI).
    assert!(
        connect(&server, id, v1(Some(own), Some(cookie.clone()), false))
            .await
            .is_ok()
    );
    // No Origin: the cookie alone is not enough; the header is.
    assert_eq!(
        connect(&server, id, v1(None, Some(cookie), false))
            .await
            .err(),
        Some(401)
    );
    assert!(connect(&server, id, v1(None, None, true)).await.is_ok());
}

#[tokio::test]
async fn dns_rebinding_is_refused_on_loopback() {
    let server = TestServer::start();
    let c = &server.http;
    let r = c
        .get(server.url("/api/sessions"))
        .bearer_auth(TOKEN)
        .header("host", "evil.example:7681")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = c
        .get(server.url("/"))
        .header("host", "attacker.test")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = c
        .get(server.url("/api/sessions"))
        .bearer_auth(TOKEN)
        .header("host", "localhost:1234")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn the_token_stays_out_of_sessions_listings_and_logs() {
    // Logging everything ptyhub itself logs at debug level.
    let server = TestServer::start_logged(
        "",
        &[],
        "ptyhub=debug,ptyhub_server=debug,ptyhub_core=debug,ptyhub_pty=debug",
    );
    let s = server.create(&["sh", "-c", "env; echo END"]).await;
    let id = s["id"].as_str().unwrap();
    server.wait_screen(id, "END").await;
    let out = server
        .get(&format!("/api/sessions/{id}/output?since=0"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(out.contains("TERM=xterm-256color"));
    assert!(!out.contains(TOKEN) && !out.contains("PTYHUB_TOKEN"));
    let list = server
        .get("/api/sessions")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains(id) && !list.contains(TOKEN));
    // Ways the token travels, each of which could end up in a log line: the
    // page's query string, a wrong token, the socket's query string.
    server.login().await;
    let wrong = server
        .http
        .get(server.url("/api/sessions"))
        .bearer_auth(format!("{TOKEN}x"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(!wrong.text().await.unwrap().contains(TOKEN));
    let mut c = Connect::v1(&format!("?token={TOKEN}"));
    c.token_header = false;
    let _ = connect(&server, id, c).await;
    server.kill(id).await;
    server.wait_ended(id, Duration::from_secs(5)).await;
    // The log has lines (debug level is on), none with the token.
    let log = server.log();
    assert!(log.lines().count() > 0, "nothing logged");
    assert!(!log.contains(TOKEN), "the token in the log:\n{log}");
}

#[test]
fn a_non_loopback_bind_without_a_token_is_refused() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ptyhub"))
        .args(["serve", "--bind", "0.0.0.0:0", "--no-auth"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-auth"));
}

#[tokio::test]
async fn connections_waiting_for_a_request_are_bounded_in_time() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    let server = TestServer::start();
    let closed = |mut s: TcpStream, within: std::time::Duration| async move {
        let mut buf = [0u8; 64];
        matches!(
            tokio::time::timeout(within, s.read(&mut buf)).await,
            Ok(Ok(0) | Err(_))
        )
    };
    // (The per-address and total limits: tests/preauth.rs.)
    // A request head that never completes is cut off after 10 s.
    let mut slow = TcpStream::connect(&server.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    assert!(closed(slow, std::time::Duration::from_secs(15)).await);
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_secs(9) && waited < std::time::Duration::from_secs(14),
        "{waited:?}"
    );
    // And the server answers normally.
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
}
