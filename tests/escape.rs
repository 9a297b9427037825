//! A session cannot leave supervision by killing its guard: a program that
//! starts `setsid` daemons (one double-forked), `kill -9`s its guard and
//! starts another daemon is ended with everything it started, with the
//! reason `guard_lost`; nothing is left after `DELETE`, nor after the
//! server's SIGKILL.

mod common;

use std::time::Duration;

use common::TestServer;

/// A marker unique to this run, in the daemons' `sleep` arguments.
fn marker() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{}{:06}",
        7000 + std::process::id() % 1000,
        nanos % 1_000_000
    )
}

/// The pids of live processes whose command line holds `marker`.
fn marked(marker: &str) -> Vec<i32> {
    let Ok(all) = procfs::process::all_processes() else {
        return Vec::new();
    };
    all.filter_map(|p| {
        let p = p.ok()?;
        let stat = p.stat().ok()?;
        let cmdline = p.cmdline().ok()?.join(" ");
        (stat.state != 'Z' && cmdline.contains(marker)).then_some(stat.pid)
    })
    .collect()
}

/// The escape: daemons in sessions of their own (one a double fork, so
/// re-parented to the guard), the guard killed, one more daemon after.
fn escape_script(m: &str) -> String {
    format!(
        "setsid sleep {m}.1 & (setsid sleep {m}.2 &) ; sleep 0.3; echo READY; \
         kill -9 $PPID; setsid sleep {m}.3 & sleep {m}.4"
    )
}

async fn escape(server: &TestServer, m: &str) -> String {
    let s = server.create(&["sh", "-c", &escape_script(m)]).await;
    let id = s["id"].as_str().unwrap().to_owned();
    server.wait_screen(&id, "READY").await;
    id
}

#[tokio::test]
async fn killing_the_guard_ends_the_session_and_everything_it_started() {
    let server = TestServer::start();
    let m = marker();
    let id = escape(&server, &m).await;
    let ended = server.wait_ended(&id, Duration::from_secs(15)).await;
    assert_eq!(ended["exit"]["reason"], "guard_lost", "{ended}");
    assert_eq!(ended["status"], "error", "{ended}");
    common::poll("no daemon left", Duration::from_secs(10), || async {
        match marked(&m).as_slice() {
            [] => Ok(()),
            left => Err(format!("{left:?}")),
        }
    })
    .await;
    let r = server
        .delete(&format!("/api/sessions/{id}"))
        .send()
        .await
        .unwrap();
    assert!(r.status().as_u16() < 500, "{}", r.status());
    assert!(marked(&m).is_empty());
    // The server keeps working.
    let other = server
        .create(&["sh", "-c", "echo STILL-OK; sleep 60"])
        .await;
    server
        .wait_screen(other["id"].as_str().unwrap(), "STILL-OK")
        .await;
}

#[tokio::test]
async fn nothing_escaped_is_left_after_delete_or_the_servers_sigkill() {
    let mut server = TestServer::start();
    let m = marker();
    // DELETE right after the escape.
    let id = escape(&server, &m).await;
    let r = server
        .delete(&format!("/api/sessions/{id}"))
        .send()
        .await
        .unwrap();
    assert!(r.status().as_u16() < 500, "{}", r.status());
    server.wait_ended(&id, Duration::from_secs(15)).await;
    common::poll(
        "nothing left after DELETE",
        Duration::from_secs(10),
        || async {
            match marked(&m).as_slice() {
                [] => Ok(()),
                left => Err(format!("{left:?}")),
            }
        },
    )
    .await;
    // Another escape, then the server is killed outright.
    let m2 = format!("{m}9");
    let id = escape(&server, &m2).await;
    server.wait_ended(&id, Duration::from_secs(15)).await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    assert!(
        common::wait_for(Duration::from_secs(5), || marked(&m2).is_empty()),
        "left after the server's SIGKILL: {:?}",
        marked(&m2)
    );
    // Nothing comes back either.
    std::thread::sleep(Duration::from_millis(500));
    assert!(marked(&m2).is_empty());
    server.stop();
}
