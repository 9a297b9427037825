//! WebSocket attach through the real socket: `ptyhub.v1` (hello, snapshot,
//! resume, events, legacy commands, exit), raw mode and ttyd's `tty`.

mod common;

use std::time::Duration;

use common::{Connect, TOKEN, TestClient, TestServer, connect};
use futures::{SinkExt, StreamExt};
use ptyhub_protocol::v1::ServerEvent;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn v1_clients_share_the_stream_join_late_and_resume() {
    let server = TestServer::start();
    let s = server
        .create(&["bash", "--norc", "--noprofile", "-i"])
        .await;
    let id = s["id"].as_str().unwrap();
    let mut a = TestClient::attach(&server, id, "?cols=90&rows=30").await;
    assert_eq!(a.hello["type"], "hello");
    assert_eq!(a.hello["readonly"], false);
    assert_eq!(a.hello["session"]["id"], id);
    let mut b = TestClient::attach(&server, id, "").await;
    a.send_bytes(b"stty size; echo one-$((1+1))\r").await;
    a.expect("one-2\r\n").await;
    b.expect("one-2\r\n").await;
    assert!(
        a.text().contains("30 90"),
        "the attach size reached the program"
    );
    // JSON input from b shows in a.
    b.send_json(json!({"type": "input", "data": "echo two-$((2+2))\r"}))
        .await;
    a.expect("two-4").await;
    // A late joiner gets a snapshot with the screen so far.
    let mut late = TestClient::attach(&server, id, "").await;
    let k = late.hello["snapshot_bytes"].as_u64().unwrap() as usize;
    late.until("snapshot", |c| c.output.len() >= k).await;
    assert!(String::from_utf8_lossy(&late.output[..k]).contains("two-4"));
    // Resume from an offset: exactly the bytes from there, no snapshot.
    let offset = a.hello["offset"].as_u64().unwrap();
    let skip = a.hello["snapshot_bytes"].as_u64().unwrap() as usize;
    let since = offset + 5;
    let mut resumed = TestClient::attach(&server, id, &format!("?since={since}")).await;
    assert_eq!(resumed.hello["resumed"], true);
    assert_eq!(resumed.hello["snapshot_bytes"], 0);
    let expected = a.output[skip + 5..].to_vec();
    resumed
        .until("resumed bytes", |c| c.output.len() >= expected.len())
        .await;
    assert_eq!(&resumed.output[..expected.len()], &expected[..]);
    // Resize reaches every client as an event.
    b.send_json(json!({"type": "resize", "cols": 101, "rows": 31}))
        .await;
    a.until("resize event", |c| {
        c.events.iter().any(|e| {
            matches!(
                e,
                ServerEvent::Resize {
                    cols: 101,
                    rows: 31
                }
            )
        })
    })
    .await;
    // Ping, status, a malformed command (the socket stays), legacy command.
    a.send_json(json!({"type": "ping"})).await;
    a.until("pong", |c| {
        c.events.iter().any(|e| matches!(e, ServerEvent::Pong))
    })
    .await;
    a.send_json(json!({"type": "status"})).await;
    a.until("status", |c| {
        c.events
            .iter()
            .any(|e| matches!(e, ServerEvent::Status { .. }))
    })
    .await;
    a.send_json(json!({"type": "resize", "cols": "wide"})).await;
    a.until("error event", |c| {
        c.events
            .iter()
            .any(|e| matches!(e, ServerEvent::Error { .. }))
    })
    .await;
    a.send_json(json!({"type": "command", "content": "echo legacy-$((3*3))"}))
        .await;
    a.expect("legacy-9").await;
    // interrupt: once the foreground job runs (it says so itself), SIGINT
    // ends it and the shell takes the next command.
    a.send_json(json!({"type": "command", "content": "sh -c 'echo fg-$((2*4)); exec sleep 100'"}))
        .await;
    a.expect("fg-8\r\n").await;
    a.send_json(json!({"type": "interrupt"})).await;
    a.send_json(json!({"type": "command", "content": "echo back-$((5+5))"}))
        .await;
    a.expect("back-10\r\n").await;
    // Exit: every client gets `exit`, then a normal close.
    a.send_bytes(b"exit 3\r").await;
    for c in [&mut a, &mut b, &mut late, &mut resumed] {
        c.until_closed().await;
        let exit = c.exit_event().expect("exit event");
        assert_eq!(exit.code, Some(3));
        assert_eq!(
            c.close.as_ref().unwrap().as_ref().unwrap().code,
            1000u16.into()
        );
    }
}

#[tokio::test]
async fn readonly_clients_watch_only() {
    let server = TestServer::start();
    let s = server.create(&["cat"]).await;
    let id = s["id"].as_str().unwrap();
    let mut ro = TestClient::attach(&server, id, "?readonly=1").await;
    assert_eq!(ro.hello["readonly"], true);
    ro.send_bytes(b"nope\r").await;
    ro.until("error", |c| {
        c.events
            .iter()
            .any(|e| matches!(e, ServerEvent::Error { error } if error.code == "read_only"))
    })
    .await;
    ro.send_json(json!({"type": "signal", "signal": "SIGKILL"}))
        .await;
    let mut w = TestClient::attach(&server, id, "").await;
    w.send_bytes(b"hello-ro\r").await;
    ro.expect("hello-ro").await;
    assert!(!ro.text().contains("nope"));
}

#[tokio::test]
async fn raw_mode_for_addon_attach() {
    let server = TestServer::start();
    let s = server.create(&["cat"]).await;
    let id = s["id"].as_str().unwrap();
    let mut raw = connect(
        &server,
        id,
        Connect {
            token_header: true,
            query: "?cols=70&rows=20".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // @xterm/addon-attach sends keystrokes as text frames.
    raw.send(Message::text("raw-in\r")).await.unwrap();
    let mut got = Vec::new();
    while !String::from_utf8_lossy(&got).contains("raw-in") {
        match tokio::time::timeout(Duration::from_secs(10), raw.next())
            .await
            .unwrap()
        {
            Some(Ok(Message::Binary(b))) => got.extend_from_slice(&b),
            Some(Ok(Message::Text(t))) => panic!("raw mode sends no text frames: {t}"),
            other => panic!("{other:?}"),
        }
    }
    server.kill(id).await;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), raw.next())
            .await
            .unwrap()
        {
            Some(Ok(Message::Close(frame))) => {
                assert_eq!(frame.unwrap().code, 1000u16.into());
                break;
            }
            Some(Ok(_)) => {}
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn tty_mode_speaks_ttyds_protocol() {
    let server = TestServer::start();
    let s = server.create(&["cat"]).await;
    let id = s["id"].as_str().unwrap();
    let tty = || Connect {
        protocol: Some("tty"),
        token_header: true,
        ..Default::default()
    };
    let mut t = connect(&server, id, tty()).await.unwrap();
    t.send(Message::binary(
        json!({"AuthToken": TOKEN, "columns": 77, "rows": 22})
            .to_string()
            .into_bytes(),
    ))
    .await
    .unwrap();
    t.send(Message::binary(b"0tty-in\r".to_vec()))
        .await
        .unwrap();
    let mut out = Vec::new();
    let mut kinds = Vec::new();
    while !String::from_utf8_lossy(&out).contains("tty-in") {
        match tokio::time::timeout(Duration::from_secs(10), t.next())
            .await
            .unwrap()
        {
            Some(Ok(Message::Binary(b))) => {
                kinds.push(b[0]);
                if b[0] == b'0' {
                    out.extend_from_slice(&b[1..]);
                }
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(
        kinds.contains(&b'1') && kinds.contains(&b'2'),
        "title and preferences first: {kinds:?}"
    );
    let info: serde_json::Value = server.get_json(&format!("/api/sessions/{id}")).await;
    assert_eq!(
        (info["cols"].as_u64(), info["rows"].as_u64()),
        (Some(77), Some(22))
    );

    // A bad first message closes with 1008 and attaches nothing.
    let mut bad = connect(&server, id, tty()).await.unwrap();
    bad.send(Message::binary(b"0rm -rf /\r".to_vec()))
        .await
        .unwrap();
    match tokio::time::timeout(Duration::from_secs(10), bad.next())
        .await
        .unwrap()
    {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, 1008u16.into()),
        other => panic!("expected close 1008, got {other:?}"),
    }
    let info: serde_json::Value = server.get_json(&format!("/api/sessions/{id}")).await;
    assert_eq!(info["clients"], 1, "only the good tty client is attached");
    let screen: serde_json::Value = server.get_json(&format!("/api/sessions/{id}/screen")).await;
    assert!(
        !screen.to_string().contains("rm -rf"),
        "nothing was written"
    );
}

#[tokio::test]
async fn invalid_utf8_and_oversize_messages_close_the_socket() {
    let server = TestServer::start_with("max_message_bytes = 4096\n", &[]);
    let s = server.create(&["cat"]).await;
    let id = s["id"].as_str().unwrap();
    // Binary input reaches the program byte for byte (cat echoes it back).
    let mut c = TestClient::attach(&server, id, "").await;
    c.send_bytes(b"bin-\xc3\xa9\r").await;
    c.expect("bin-é").await;
    // A text frame with invalid UTF-8: 1007.
    let mut raw = c.socket;
    raw.send(Message::Frame(
        tokio_tungstenite::tungstenite::protocol::frame::Frame::message(
            b"\xff\xfe".to_vec(),
            tokio_tungstenite::tungstenite::protocol::frame::coding::OpCode::Data(
                tokio_tungstenite::tungstenite::protocol::frame::coding::Data::Text,
            ),
            true,
        ),
    ))
    .await
    .unwrap();
    let code = close_code(&mut raw).await;
    assert_eq!(code, Some(1007));
    // Over max_message_bytes: 1009.
    let mut big = TestClient::attach(&server, id, "").await;
    big.send_bytes(&vec![b'x'; 10_000]).await;
    assert_eq!(close_code(&mut big.socket).await, Some(1009));
}

async fn close_code(socket: &mut common::Socket) -> Option<u16> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("close in time")
        {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code.into()),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return None,
        }
    }
}
