//! The session core with real programs: fan-out, late join, resume, lag,
//! resize policies and exit ordering.

mod common;

use std::time::Duration;

use common::{Collector, config, parser, spec, start, visible_state};
use ptyhub_core::{AttachOptions, ClientEvent, CoreError, Supervisor};
use ptyhub_protocol::api::{ExitReason, ResizePolicy, SessionStatus};
use ptyhub_pty::WindowSize;

fn from_zero() -> AttachOptions {
    AttachOptions {
        since: Some(0),
        snapshot: true,
        ..Default::default()
    }
}

fn snapshot() -> AttachOptions {
    AttachOptions {
        snapshot: true,
        ..Default::default()
    }
}

/// Checks the late joiner against the first client, who saw everything: the
/// joiner's live bytes are exactly the first client's from the join offset
/// on, and its snapshot rebuilds the screen the first client had there.
fn assert_join_is_exact(first: &Collector, late: &Collector, size: WindowSize) {
    let offset = late.start.offset as usize;
    assert!(offset <= first.bytes.len());
    assert_eq!(
        late.bytes.len(),
        first.bytes.len() - offset,
        "no gap, no duplicate"
    );
    assert!(
        late.bytes == first.bytes[offset..],
        "the live stream continues the snapshot exactly"
    );
    let mut expected = parser(size);
    expected.process(&first.bytes[..offset]);
    let mut rebuilt = parser(size);
    rebuilt.process(&late.start.snapshot);
    assert_eq!(
        visible_state(&rebuilt),
        visible_state(&expected),
        "snapshot at offset {offset}"
    );
    // And both end on the same screen.
    expected.process(&first.bytes[offset..]);
    rebuilt.process(&late.bytes);
    assert_eq!(visible_state(&rebuilt), visible_state(&expected));
}

#[tokio::test]
async fn clients_share_one_stream_and_late_joiners_get_the_exact_screen() {
    let supervisor = Supervisor::new(config());
    let session = start(&supervisor, &["bash", "--norc", "--noprofile", "-i"]).await;
    let mut a = Collector::attach(&session, from_zero());
    let mut b = Collector::attach(&session, from_zero());
    a.expect("ptyhub$ ").await;
    a.client
        .input("printf '\\e[1;32mgreen\\e[0m %s\\n' one two; ls /\r".into())
        .await
        .unwrap();
    a.expect("green").await;
    let mut late = Collector::attach(&session, snapshot());
    a.client
        .input("echo done-$((40+2)); exit\r".into())
        .await
        .unwrap();
    let t = Duration::from_secs(15);
    tokio::join!(a.until_exit(t), b.until_exit(t), late.until_exit(t));
    assert!(a.bytes == b.bytes, "two clients get byte-identical streams");
    assert_join_is_exact(&a, &late, session.size());
}

#[tokio::test]
async fn late_join_into_colours_and_the_alternate_screen() {
    let supervisor = Supervisor::new(config());
    let script = r#"
import sys, time
w = sys.stdout.write
w("primary line\r\n")
w("\x1b[?1049h\x1b[2J\x1b[H\x1b]2;py-title\x07")
for i in range(20):
    w("\x1b[%d;1H\x1b[38;5;%dm row %d \x1b[48;2;10;20;30m bg \x1b[0m \xe4\xb8\xad" % (i + 1, i * 10, i))
w("\x1b[?1h\x1b[?2004h\x1b[5;10H")
sys.stdout.flush()
print("READY", flush=True)
sys.stdin.readline()
w("\x1b[?1049l")
print("bye", flush=True)
"#;
    let session = start(&supervisor, &["python3", "-c", script]).await;
    let mut a = Collector::attach(&session, from_zero());
    a.expect("READY").await;
    let mut late = Collector::attach(&session, snapshot());
    let mut rebuilt = parser(session.size());
    rebuilt.process(&late.start.snapshot);
    assert!(rebuilt.screen().alternate_screen());
    assert!(rebuilt.screen().application_cursor());
    assert!(String::from_utf8_lossy(&late.start.snapshot).contains("py-title"));
    a.client.input("\r".into()).await.unwrap();
    tokio::join!(
        a.until_exit(Duration::from_secs(15)),
        late.until_exit(Duration::from_secs(15))
    );
    assert_join_is_exact(&a, &late, session.size());
}

#[tokio::test]
async fn late_join_while_printing_fast() {
    let supervisor = Supervisor::new(config());
    let script = "for i in range(200000): print('\\x1b[3%dmline %d\\x1b[0m' % (i % 8, i))";
    let session = start(&supervisor, &["python3", "-c", script]).await;
    let mut a = Collector::attach(&session, from_zero());
    a.until("some output", Duration::from_secs(15), |c| {
        c.bytes.len() > 200_000
    })
    .await;
    let mut late = Collector::attach(&session, snapshot());
    assert!(late.start.offset > 0);
    tokio::join!(
        a.until_exit(Duration::from_secs(120)),
        late.until_exit(Duration::from_secs(120))
    );
    assert!(a.text().contains("line 199999"));
    assert_join_is_exact(&a, &late, session.size());
}

#[tokio::test]
async fn resume_gives_exactly_the_missing_bytes_or_a_snapshot() {
    let mut cfg = config();
    cfg.scrollback_bytes = 64 << 10;
    let supervisor = Supervisor::new(cfg);
    let session = start(
        &supervisor,
        &["sh", "-c", "seq 1 5000; read x; seq 1 100000; read y"],
    )
    .await;
    let mut a = Collector::attach(&session, from_zero());
    a.expect("5000\r\n").await;
    let n = 12_345u64;
    let mut resumed = Collector::attach(
        &session,
        AttachOptions {
            since: Some(n),
            ..snapshot()
        },
    );
    assert!(resumed.start.resumed);
    assert!(resumed.start.snapshot.is_empty());
    assert_eq!(resumed.start.offset, n);
    let have = a.bytes.len();
    resumed
        .until("the bytes so far", Duration::from_secs(10), |c| {
            c.bytes.len() >= have - n as usize
        })
        .await;
    assert!(resumed.bytes[..] == a.bytes[n as usize..have]);
    // Push byte 0 out of the 64 KiB ring: resuming from it falls back.
    a.client.input("\r".into()).await.unwrap();
    a.expect("100000\r\n").await;
    let gone = Collector::attach(
        &session,
        AttachOptions {
            since: Some(0),
            ..snapshot()
        },
    );
    assert!(!gone.start.resumed);
    assert!(!gone.start.snapshot.is_empty());
    let (from, _, _, truncated) = session.read_output(Some(0), 10);
    assert!(truncated && from > 0);
    session.terminate(ExitReason::Deleted).unwrap();
    a.until_exit(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn resize_policies_follow_the_writable_clients() {
    let supervisor = Supervisor::new(config());
    let mut s = spec(&["bash", "--norc", "--noprofile", "-i"]);
    s.resize_policy = ResizePolicy::Smallest;
    let session = supervisor.create(s).await.unwrap();
    let big = WindowSize::new(120, 40).unwrap();
    let small = WindowSize::new(90, 30).unwrap();
    let mut a = Collector::attach(
        &session,
        AttachOptions {
            size: Some(big),
            ..snapshot()
        },
    );
    let b = Collector::attach(
        &session,
        AttachOptions {
            size: Some(small),
            ..snapshot()
        },
    );
    let _watcher = Collector::attach(
        &session,
        AttachOptions {
            size: Some(WindowSize::new(20, 5).unwrap()),
            readonly: true,
            ..snapshot()
        },
    );
    a.client.input("stty size\r".into()).await.unwrap();
    a.expect("30 90").await;
    drop(b); // smallest is recomputed when one leaves
    a.client.input("stty size\r".into()).await.unwrap();
    a.expect("40 120").await;
    session.update(None, None, Some(ResizePolicy::Latest));
    a.client.resize(WindowSize::new(100, 33).unwrap()).unwrap();
    a.client.input("stty size\r".into()).await.unwrap();
    a.expect("33 100").await;
    assert!(
        a.events
            .iter()
            .any(|e| matches!(e, ClientEvent::Resize(s) if s.cols == 100))
    );
    session.update(None, None, Some(ResizePolicy::Fixed));
    a.client.resize(WindowSize::new(50, 10).unwrap()).unwrap();
    assert_eq!(session.size(), WindowSize::new(100, 33).unwrap());
    assert!(matches!(
        _watcher.client.resize(big),
        Err(CoreError::ReadOnly)
    ));
    assert!(matches!(
        a.client.resize(WindowSize { cols: 0, rows: 5 }),
        Err(CoreError::Invalid(_))
    ));
    session.terminate(ExitReason::Deleted).unwrap();
    a.until_exit(Duration::from_secs(10)).await;
    assert_eq!(session.exit().unwrap().reason, ExitReason::Deleted);
    assert_eq!(session.status(), SessionStatus::Terminated);
}

#[tokio::test]
async fn the_exit_comes_after_every_byte() {
    let supervisor = Supervisor::new(config());
    let cmd = "head -c 1000000 /dev/zero | tr '\\0' x";
    let mut lanes = tokio::task::JoinSet::new();
    for _ in 0..2 {
        let supervisor = supervisor.clone();
        lanes.spawn(async move {
            for run in 0..250 {
                let session = start(&supervisor, &["sh", "-c", cmd]).await;
                let mut c = Collector::attach(&session, from_zero());
                c.until_exit(Duration::from_secs(30)).await;
                assert_eq!(c.bytes.len(), 1_000_000, "run {run}");
                assert_eq!(session.exit().unwrap().code, Some(0));
                supervisor.registry().remove(session.id());
            }
        });
    }
    while let Some(r) = lanes.join_next().await {
        r.unwrap();
    }
}

#[tokio::test]
async fn status_goes_idle_without_io_and_the_idle_timeout_ends_it() {
    let mut cfg = config();
    cfg.idle_after = Duration::from_millis(300);
    cfg.limits.idle_timeout = Some(Duration::from_millis(1500));
    let supervisor = Supervisor::new(cfg);
    let mut events = supervisor.registry().subscribe();
    let silent = start(&supervisor, &["sleep", "1000"]).await;
    let chatty = start(
        &supervisor,
        &["sh", "-c", "while :; do echo tick; sleep 0.05; done"],
    )
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut went_idle = false;
    while !silent.is_ended() {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Ok(ptyhub_core::RegistryEvent::Status(info)))
                if info.id == silent.id().to_string() =>
            {
                went_idle |= info.status == SessionStatus::Idle;
            }
            Ok(_) => {}
            Err(_) => panic!("the silent session never ended"),
        }
    }
    silent.wait_ended().await;
    assert!(went_idle, "idle came before the timeout");
    assert_eq!(silent.exit().unwrap().reason, ExitReason::IdleTimeout);
    assert!(!chatty.is_ended(), "a session with output stays");
    assert_eq!(chatty.status(), SessionStatus::Active);
    chatty.terminate(ExitReason::Deleted).unwrap();
    chatty.wait_ended().await;
}

#[tokio::test]
async fn registry_names_limits_and_removal() {
    let mut cfg = config();
    cfg.max_sessions = 2;
    cfg.max_clients_per_session = 1;
    let supervisor = Supervisor::new(cfg);
    let mut s = spec(&["cat"]);
    s.name = Some("one".into());
    let one = supervisor.create(s.clone()).await.unwrap();
    assert!(matches!(
        supervisor.create(s).await,
        Err(CoreError::NameTaken(_))
    ));
    let two = start(&supervisor, &["cat"]).await;
    assert!(matches!(
        supervisor.create(spec(&["cat"])).await,
        Err(CoreError::TooManySessions(2))
    ));
    assert_eq!(supervisor.registry().get("one").unwrap().id(), one.id());
    assert_eq!(
        supervisor
            .registry()
            .get(&two.id().to_string())
            .unwrap()
            .id(),
        two.id()
    );
    assert!(matches!(
        supervisor.registry().get("nope"),
        Err(CoreError::NotFound(_))
    ));
    let c = Collector::attach(&one, snapshot());
    assert!(matches!(
        one.attach(snapshot()),
        Err(CoreError::TooManyClients(1))
    ));
    drop(c);
    one.attach(snapshot()).unwrap();
    one.terminate(ExitReason::Deleted).unwrap();
    one.wait_ended().await;
    // An ended session does not count against max_sessions, and gives its
    // name up: a new session may take it and is the one the name finds.
    let mut s = spec(&["cat"]);
    s.name = Some("one".into());
    let three = supervisor.create(s).await.unwrap();
    assert_eq!(supervisor.registry().list().len(), 3);
    assert_eq!(supervisor.registry().get("one").unwrap().id(), three.id());
    // Renaming onto a running session's name is refused; onto an ended
    // one's, allowed.
    assert!(matches!(
        supervisor.registry().rename(&two, Some("one".into())),
        Err(CoreError::NameTaken(_))
    ));
    supervisor
        .registry()
        .rename(&three, Some("three".into()))
        .unwrap();
    assert_eq!(supervisor.registry().get("one").unwrap().id(), one.id());
    supervisor
        .registry()
        .rename(&two, Some("one".into()))
        .unwrap();
    assert_eq!(supervisor.registry().get("one").unwrap().id(), two.id());
    assert!(supervisor.registry().remove(one.id()).is_some());
    supervisor
        .shutdown(ExitReason::Shutdown, Duration::from_secs(5))
        .await;
    assert_eq!(three.exit().unwrap().reason, ExitReason::Shutdown);
    assert_eq!(two.exit().unwrap().reason, ExitReason::Shutdown);
}

#[tokio::test]
async fn the_scrollback_is_bounded_also_after_the_exit() {
    let mut cfg = config();
    cfg.scrollback_bytes = 4096;
    let supervisor = Supervisor::new(cfg);
    // 16,900 bytes in one go (one or a few large chunks), then the exit.
    let session = start(
        &supervisor,
        &[
            "sh",
            "-c",
            "head -c 16900 /dev/zero | tr '\\0' y; printf END",
        ],
    )
    .await;
    session.wait_ended().await;
    let live = session.bytes_in_out().1;
    assert_eq!(live, 16903);
    // Once the screen has parsed everything, only the scrollback is kept.
    let mut screen = session.subscribe_screen();
    tokio::time::timeout(Duration::from_secs(10), screen.wait_for(|&at| at >= live))
        .await
        .expect("the screen caught up")
        .unwrap();
    let (from, to, bytes, truncated) = session.read_output(Some(0), 1 << 20);
    assert!(truncated, "offset 0 is long gone");
    assert_eq!(to, live);
    assert_eq!(
        from,
        live - 4096,
        "exactly the newest scrollback_bytes kept"
    );
    assert_eq!(bytes.len(), 4096);
    assert!(bytes.ends_with(b"yyyEND"));
}
