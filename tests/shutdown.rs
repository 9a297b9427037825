//! SIGTERM to the real binary: every client gets `exit` with reason
//! `shutdown` and a close frame, no process is left, exit code 0. SIGKILL:
//! the guards end every session within 2 s.

mod common;

use std::time::Duration;

use common::{TestClient, TestServer, session_processes, wait_for};

#[tokio::test]
async fn sigterm_ends_sessions_tells_clients_and_exits_0() {
    let mut server = TestServer::start();
    let mut clients = Vec::new();
    let mut pids = Vec::new();
    for _ in 0..5 {
        let s = server
            .create(&[
                "bash",
                "--norc",
                "--noprofile",
                "-c",
                "trap '' TERM HUP; sleep 1000 & sleep 1001; wait",
            ])
            .await;
        let id = s["id"].as_str().unwrap().to_owned();
        pids.push(s["pid"].as_i64().unwrap() as i32);
        for _ in 0..3 {
            clients.push(TestClient::attach(&server, &id, "").await);
        }
    }
    let code = tokio::task::spawn_blocking(move || {
        let code = server.stop();
        (code, server)
    });
    for c in &mut clients {
        c.until_closed().await;
        assert_eq!(
            c.exit_event().expect("exit event").reason,
            ptyhub_protocol::api::ExitReason::Shutdown
        );
        assert_eq!(
            c.close.as_ref().unwrap().as_ref().unwrap().code,
            1000u16.into()
        );
    }
    let (code, _server) = code.await.unwrap();
    assert_eq!(code, Some(0));
    for pid in pids {
        assert!(
            session_processes(pid).is_empty(),
            "session {pid} left processes"
        );
    }
}

#[tokio::test]
async fn sigkill_leaves_nothing_behind() {
    let mut server = TestServer::start();
    let mut pids = Vec::new();
    for _ in 0..2 {
        let s = server
            .create(&[
                "bash",
                "--norc",
                "--noprofile",
                "-c",
                "nohup sleep 1002 >/dev/null 2>&1 & setsid sleep 1003 & sleep 1001",
            ])
            .await;
        pids.push(s["pid"].as_i64().unwrap() as i32);
    }
    // Every descendant of the server (guards, programs, jobs), with its
    // command line.
    let server_pid = server.child.id() as i32;
    let tree = |root: i32| -> Vec<(i32, u64, String)> {
        let all: Vec<_> = procfs::process::all_processes()
            .expect("/proc can be read")
            .filter_map(|p| {
                let p = p.ok()?;
                Some((p.stat().ok()?, p.cmdline().ok()?.join(" ")))
            })
            .collect();
        let mut out = Vec::new();
        let mut stack = vec![root];
        while let Some(p) = stack.pop() {
            for (s, cmdline) in all.iter().filter(|(s, _)| s.ppid == p) {
                out.push((s.pid, s.starttime, cmdline.clone()));
                stack.push(s.pid);
            }
        }
        out
    };
    // Both sessions' three sleeps are running (the nohup and setsid ones
    // included) before the server is killed.
    let mut before = Vec::new();
    let markers = ["sleep 1001", "sleep 1002", "sleep 1003"];
    let started = wait_for(Duration::from_secs(10), || {
        before = tree(server_pid);
        markers
            .iter()
            .all(|m| before.iter().filter(|(_, _, c)| c == m).count() == 2)
    });
    assert!(started, "not every marker sleep started: {before:?}");
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let alive = |(pid, start, _): &(i32, u64, String)| {
        procfs::process::Process::new(*pid)
            .and_then(|p| p.stat())
            .is_ok_and(|s| s.starttime == *start && s.state != 'Z')
    };
    // Asserted below: the list of what is left is read after the wait.
    wait_for(Duration::from_secs(2), || !before.iter().any(alive));
    let left: Vec<_> = before.iter().filter(|p| alive(p)).collect();
    assert!(
        left.is_empty(),
        "left after SIGKILL of the server: {left:?}"
    );
}

#[tokio::test]
async fn a_second_sigint_kills_every_session_and_exits_at_once() {
    // A long grace and a program that ignores SIGTERM: the first SIGINT
    // would wait 30 s for it.
    let mut server = TestServer::start_with("terminate_grace = \"30s\"\n", &[]);
    let s = server
        .create(&[
            "bash",
            "--norc",
            "--noprofile",
            "-c",
            "trap '' TERM HUP INT; sleep 1007 & sleep 1008; wait",
        ])
        .await;
    let pid = s["pid"].as_i64().unwrap() as i32;
    // bash and its two sleeps.
    assert!(
        wait_for(Duration::from_secs(5), || session_processes(pid).len() >= 3),
        "the program's processes did not start: {:?}",
        session_processes(pid)
    );
    let server_pid = rustix::process::Pid::from_child(&server.child);
    let interrupt = || {
        rustix::process::kill_process(server_pid, rustix::process::Signal::INT).unwrap();
    };
    interrupt();
    // Still shutting down gracefully for 500 ms: the program ignores
    // SIGTERM (checked every 20 ms; an exit fails at once).
    let exited_early = wait_for(Duration::from_millis(500), || {
        server.child.try_wait().unwrap().is_some()
    });
    assert!(!exited_early, "the server exited within the grace period");
    let started = std::time::Instant::now();
    interrupt();
    let exited = wait_for(Duration::from_secs(3), || {
        server.child.try_wait().unwrap().is_some()
    });
    assert!(exited, "still running 3 s after the second SIGINT");
    eprintln!("exited {:?} after the second SIGINT", started.elapsed());
    assert!(
        wait_for(Duration::from_secs(2), || session_processes(pid).is_empty()),
        "left: {:?}",
        session_processes(pid)
    );
}
