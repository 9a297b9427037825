//! Terminal queries answered once by the server, and synchronized-output
//! frames honoured in snapshots, with real programs in real PTYs.

mod common;

use std::time::Duration;

use common::{Collector, config, start};
use ptyhub_core::{AttachOptions, Supervisor};

/// A program in raw mode that positions the cursor, asks for its position,
/// then echoes (as `repr`) everything it reads up to an `X`.
const ASK_CPR: &str = r#"
import os, sys, tty
tty.setraw(0)
os.write(1, b"\x1b[2J\x1b[3;5Hhi\x1b[6n")
got = b""
while not got.endswith(b"X"):
    got += os.read(0, 100)
os.write(1, b"\r\nGOT " + repr(got).encode() + b" END\r\n")
"#;

#[tokio::test]
async fn a_query_with_no_client_is_answered_by_the_server() {
    let supervisor = Supervisor::new(config());
    let session = start(&supervisor, &["python3", "-c", ASK_CPR]).await;
    let mut a = Collector::attach(
        &session,
        AttachOptions {
            since: Some(0),
            ..Default::default()
        },
    );
    a.expect("hi").await;
    // The client may see the query before the screen thread has parsed
    // (and answered) it: type only once the screen has caught up.
    let live = *session.subscribe_output().borrow();
    tokio::time::timeout(
        Duration::from_secs(10),
        session.subscribe_screen().wait_for(|&at| at >= live),
    )
    .await
    .expect("the screen catches up")
    .unwrap();
    session.write_input("X".into()).await.unwrap();
    a.expect("END").await;
    assert!(a.text().contains(r"GOT b'\x1b[3;7RX' END"), "{}", a.text());
}

#[tokio::test]
async fn a_client_reply_to_an_answered_query_is_dropped() {
    let supervisor = Supervisor::new(config());
    let session = start(&supervisor, &["python3", "-c", ASK_CPR]).await;
    let mut a = Collector::attach(
        &session,
        AttachOptions {
            since: Some(0),
            ..Default::default()
        },
    );
    a.expect("hi").await;
    // What xterm.js in a browser would send back, with a key pressed
    // around it: only the reply is dropped.
    a.client.input("a\x1b[3;7Rb".into()).await.unwrap();
    a.client.input("X".into()).await.unwrap();
    a.expect("END").await;
    assert!(
        a.text().contains(r"GOT b'\x1b[3;7RabX' END"),
        "{}",
        a.text()
    );
}

#[tokio::test]
async fn a_late_joiner_never_gets_half_a_synchronized_frame() {
    let supervisor = Supervisor::new(config());
    // Draws a screen, opens a frame and draws half of it, waits, finishes.
    let script = r#"
import os, tty
tty.setraw(0)
os.write(1, b"\x1b[2J\x1b[Hold screen\r\n")
os.write(1, b"\x1b[?2026h\x1b[2J\x1b[Hhalf")
os.read(0, 1)
os.write(1, b"-drawn\x1b[?2026l\r\ndone\r\n")
"#;
    let session = start(&supervisor, &["python3", "-c", script]).await;
    let mut a = Collector::attach(
        &session,
        AttachOptions {
            since: Some(0),
            ..Default::default()
        },
    );
    a.expect("half").await;
    // The screen has parsed everything the first client got.
    let mut screen = session.subscribe_screen();
    let seen = a.bytes.len() as u64;
    tokio::time::timeout(Duration::from_secs(10), screen.wait_for(|&at| at >= seen))
        .await
        .expect("the screen caught up")
        .unwrap();
    let bsu = a.text().find("\x1b[?2026h").unwrap() as u64;
    let mut late = Collector::attach(
        &session,
        AttachOptions {
            snapshot: true,
            ..Default::default()
        },
    );
    assert_eq!(late.start.offset, bsu, "the live stream starts at the BSU");
    let mut rebuilt = common::parser(session.size());
    rebuilt.process(&late.start.snapshot);
    assert!(
        rebuilt.screen().contents().starts_with("old screen"),
        "{:?}",
        rebuilt.screen().contents()
    );
    a.client.input("\r".into()).await.unwrap();
    let t = Duration::from_secs(15);
    tokio::join!(a.until_exit(t), late.until_exit(t));
    assert!(
        late.bytes == a.bytes[bsu as usize..],
        "no gap, no duplicate"
    );
    rebuilt.process(&late.bytes);
    let end = rebuilt.screen().contents();
    assert!(end.starts_with("half-drawn"), "{end:?}");
}
