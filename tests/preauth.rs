//! The pre-auth budget and refused upgrades, against the real binary:
//! unauthenticated connections are bounded per address and in total with
//! the oldest closed first, a token holder always gets in, a refused
//! upgrade is answered in full and closed, and a `tty` upgrade tells
//! nothing about a session before its auth message.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use common::{Connect, TOKEN, TestServer, connect};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;

/// A connection from `127.0.0.<n>` (every 127/8 address is loopback).
async fn connect_from(server: &TestServer, n: u8) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::from((Ipv4Addr::new(127, 0, 0, n), 0)))
        .unwrap();
    socket.connect(server.addr.parse().unwrap()).await.unwrap()
}

/// Whether the server closed `s` (EOF or reset) within `within`, reading
/// and dropping whatever comes first.
async fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// Whether the server has closed `s` already (a read that would block
/// means open).
async fn is_closed(s: &mut TcpStream) -> bool {
    closed_within(s, Duration::from_millis(50)).await
}

async fn authenticated_get(server: &TestServer) -> Duration {
    let started = Instant::now();
    let r = server.get("/api/sessions").send().await.unwrap();
    assert_eq!(r.status(), 200);
    started.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::test]
async fn the_oldest_unauthenticated_connection_of_an_address_is_closed_never_the_new_one() {
    let server = TestServer::start();
    // Keep-alive after a request without credentials still counts.
    let mut kept = TcpStream::connect(&server.addr).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = kept.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // So does a connection that sent a request with the token: it does not.
    let mut authed = TcpStream::connect(&server.addr).await.unwrap();
    let request = format!(
        "GET /api/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
    );
    authed.write_all(request.as_bytes()).await.unwrap();
    let n = authed.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));

    // 31 more silent ones fill the address's 32; the 33rd closes the oldest
    // (the keep-alive one), not itself.
    let mut silent = Vec::new();
    for _ in 0..31 {
        silent.push(TcpStream::connect(&server.addr).await.unwrap());
    }
    assert!(!is_closed(&mut kept).await, "32 fit");
    let mut newest = TcpStream::connect(&server.addr).await.unwrap();
    assert!(
        closed_within(&mut kept, Duration::from_secs(5)).await,
        "the oldest unauthenticated connection is closed"
    );
    assert!(!is_closed(&mut newest).await, "the new one stays");
    // The authenticated keep-alive connection is outside the budget.
    authed.write_all(request.as_bytes()).await.unwrap();
    let n = authed.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // A new connection with the token is served at once.
    authenticated_get(&server).await;
    drop(silent);
}

#[tokio::test]
async fn a_token_holder_gets_in_while_1000_unauthenticated_connections_are_held() {
    // This process holds 1,200 sockets: its soft limit may be 1,024.
    ptyhub_pty::raise_open_files_limit().unwrap();
    let server = TestServer::start();
    // Baseline: the authenticated request alone.
    let mut alone = Vec::new();
    for _ in 0..30 {
        alone.push(authenticated_get(&server).await);
    }
    // 40 addresses × 30 connections: under each address's 32, over the
    // total of 1024, renewed as the server closes the oldest.
    let mut held = Vec::new();
    for round in 0..30u8 {
        for n in 0..40u8 {
            let _ = round;
            held.push(connect_from(&server, 10 + n).await);
        }
    }
    // An authenticated event stream started during the flood stays up.
    let mut events = server.get("/api/events").send().await.unwrap();
    assert_eq!(events.status(), 200);
    let mut flooded = Vec::new();
    for i in 0..30 {
        // Renew the flood between requests, as an attacker would.
        for n in 0..40u8 {
            held.push(connect_from(&server, 10 + ((n + i) % 40)).await);
        }
        flooded.push(authenticated_get(&server).await);
    }
    // At most the total is held open by the server: count what it closed.
    let checks = held.iter_mut().map(|s| async move { !is_closed(s).await });
    let open = futures::future::join_all(checks)
        .await
        .into_iter()
        .filter(|open| *open)
        .count();
    assert!(
        (900..=1024).contains(&open),
        "{open} of {} held connections open",
        held.len()
    );
    // The event stream still works: a session's creation shows up on it.
    let created = server.create(&["true"]).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        let mut text = String::new();
        while let Ok(Some(chunk)) = events.chunk().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
            if text.contains(&id) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(seen, Ok(true), "the authenticated event stream was dropped");
    let (alone, flooded) = (median(alone), median(flooded));
    println!(
        "authenticated GET /api/sessions, median of 30: alone {alone:?}, with {open} unauthenticated \
         connections held {flooded:?} (ratio {:.2})",
        flooded.as_secs_f64() / alone.as_secs_f64()
    );
    assert!(flooded < Duration::from_secs(2), "{flooded:?}");
}

#[tokio::test]
async fn a_refused_upgrade_gets_a_complete_answer_and_its_connection_closed() {
    let server = TestServer::start();
    let s = server.create(&["cat"]).await;
    let id = s["id"].as_str().unwrap();
    for (headers, status) in [
        (String::new(), "401"),
        ("Origin: http://evil.example\r\n".to_owned(), "403"),
    ] {
        let mut c = TcpStream::connect(&server.addr).await.unwrap();
        let request = format!(
            "GET /api/sessions/{id}/ws HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{headers}\r\n",
            server.addr
        );
        c.write_all(request.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut answer)).await;
        assert!(read.is_ok(), "the connection was left open");
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with(&format!("HTTP/1.1 {status}")), "{text}");
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length: ")
                    .map(|v| v.trim().parse().unwrap())
            })
            .expect("a length");
        assert_eq!(body.len(), length, "{text}");
        assert!(body.contains("\"error\""), "{body}");
    }
}

/// A `tty` upgrade without credentials from the server's own page, then
/// `auth` as the first message; the close code the server ends with.
async fn tty_close_code(server: &TestServer, id: &str, auth: &str) -> u16 {
    let c = Connect {
        protocol: Some("tty"),
        origin: Some(format!("http://{}", server.addr)),
        ..Default::default()
    };
    let mut socket = connect(server, id, c)
        .await
        .expect("the upgrade is accepted");
    socket.send(Message::text(auth.to_owned())).await.unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => {
                return frame.map(|f| u16::from(f.code)).unwrap_or(0);
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("no close frame: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_tty_upgrade_tells_nothing_about_a_session_before_its_auth_message() {
    let server = TestServer::start();
    let s = server.create(&["cat"]).await;
    let id = s["id"].as_str().unwrap();
    let bad = r#"{"AuthToken":"wrong","columns":80,"rows":24}"#;
    // Existing or not: the same upgrade, the same 1008.
    assert_eq!(tty_close_code(&server, id, bad).await, 1008);
    assert_eq!(tty_close_code(&server, "no-such-session", bad).await, 1008);
    assert_eq!(
        tty_close_code(&server, "no-such-session", "not json").await,
        1008
    );
    // With the token, the unknown session is told (after the auth message).
    let good = format!(r#"{{"AuthToken":"{TOKEN}","columns":80,"rows":24}}"#);
    assert_eq!(
        tty_close_code(&server, "no-such-session", &good).await,
        1008
    );
    assert!(server.session(id).await["clients"] == 0);
}

#[tokio::test]
async fn tty_upgrades_waiting_for_their_auth_message_count_against_the_budget() {
    let server = TestServer::start();
    let s = server.create(&["cat"]).await;
    let id = s["id"].as_str().unwrap();
    let c = Connect {
        protocol: Some("tty"),
        origin: Some(format!("http://{}", server.addr)),
        ..Default::default()
    };
    let mut waiting = Vec::new();
    for _ in 0..33 {
        waiting.push(connect(&server, id, c.clone()).await.expect("upgraded"));
    }
    // The 33rd from this address closed the first, which never sent its
    // auth message.
    let first = tokio::time::timeout(Duration::from_secs(5), waiting[0].next()).await;
    assert!(
        matches!(first, Ok(Some(Ok(Message::Close(_))) | None | Some(Err(_)))),
        "{first:?}"
    );
    // The newest still gets in with its auth message.
    let last = waiting.last_mut().unwrap();
    let good = format!(r#"{{"AuthToken":"{TOKEN}","columns":80,"rows":24}}"#);
    last.send(Message::text(good)).await.unwrap();
    last.send(Message::binary(b"0echo-me\r".to_vec()))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut out = Vec::new();
    while !String::from_utf8_lossy(&out).contains("echo-me") {
        match tokio::time::timeout_at(deadline, last.next()).await {
            Ok(Some(Ok(Message::Binary(b)))) => out.extend_from_slice(&b),
            Ok(Some(Ok(_))) => {}
            other => panic!("{other:?}; {:?}", String::from_utf8_lossy(&out)),
        }
    }
}
