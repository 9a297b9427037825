//! The server's I/O paths under the real binary: TCP_NODELAY on accepted
//! sockets, a program that never reads its input holding up nothing but its
//! own input, and sessions that start and exit leaving no thread and no
//! descriptor behind.

mod common;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::time::Duration;

use common::{TestClient, TestServer, poll};
use futures::{SinkExt, StreamExt};
use ptyhub_protocol::v1::ServerEvent;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

fn server_pid(server: &TestServer) -> i32 {
    server.child.id() as i32
}

/// The server's socket whose peer is `peer`, copied into this process
/// (pidfd_getfd: the server is our child, so we may).
fn server_socket(pid: i32, peer: SocketAddr) -> Option<std::os::fd::OwnedFd> {
    let pidfd = rustix::process::pidfd_open(
        rustix::process::Pid::from_raw(pid)?,
        rustix::process::PidfdFlags::empty(),
    )
    .ok()?;
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).ok()? {
        let Ok(entry) = entry else { continue };
        let is_socket = std::fs::read_link(entry.path())
            .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"));
        let Some(fd) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        if !is_socket {
            continue;
        }
        let Ok(copy) =
            rustix::process::pidfd_getfd(&pidfd, fd, rustix::process::PidfdGetfdFlags::empty())
        else {
            continue;
        };
        let addr = rustix::net::getpeername(&copy)
            .ok()
            .flatten()
            .and_then(|a| SocketAddr::try_from(a).ok());
        if addr == Some(peer) {
            return Some(copy);
        }
    }
    None
}

#[tokio::test]
async fn accepted_sockets_have_tcp_nodelay() {
    let server = TestServer::start();
    let stream = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
    let local = stream.local_addr().unwrap();
    let pid = server_pid(&server);
    // The socket shows in the server's descriptors the moment it is
    // accepted, a moment before the option is set on it: polled, and
    // failing if it stays off.
    poll(
        "TCP_NODELAY on the server's end of our socket",
        Duration::from_secs(10),
        || async {
            let socket = server_socket(pid, local).ok_or_else(|| "not accepted yet".to_owned())?;
            match rustix::net::sockopt::tcp_nodelay(socket.as_fd()) {
                Ok(true) => Ok(()),
                Ok(false) => Err("TCP_NODELAY is off on the accepted socket".to_owned()),
                Err(e) => Err(format!("getsockopt: {e}")),
            }
        },
    )
    .await;
}

#[tokio::test]
async fn a_program_that_never_reads_its_input_holds_up_nothing_else() {
    let server = TestServer::start();
    // Prints a tick every 50 ms and never reads; non-canonical mode, so the
    // terminal's input buffer fills and then refuses more (in canonical mode
    // the line discipline would discard instead).
    let s = server
        .create(&[
            "sh",
            "-c",
            "stty -icanon -echo; i=0; while :; do i=$((i+1)); echo tick-$i; sleep 0.05; done",
        ])
        .await;
    let id = s["id"].as_str().unwrap().to_owned();
    let mut writer = TestClient::attach(&server, &id, "").await;
    let mut watcher = TestClient::attach(&server, &id, "").await;
    writer.expect("tick-").await;

    // Far more than the terminal takes, far less than the socket's input
    // queue: the writes must be stuck in the server.
    let sent = 48 * 8192;
    for _ in 0..48 {
        writer.send_bytes(&[b'x'; 8192]).await;
    }
    writer.send_json(json!({"type": "ping"})).await;
    writer
        .until("a pong behind the stuck input", |c| {
            c.events.iter().any(|e| matches!(e, ServerEvent::Pong))
        })
        .await;
    let bytes_in = server.session(&id).await["bytes_in"].as_u64().unwrap();
    assert!(
        bytes_in < sent,
        "the program took all {bytes_in} bytes: the test did not block its input"
    );

    // Output goes on, to this socket and to another one.
    for client in [&mut writer, &mut watcher] {
        let seen = client.output.len();
        client
            .until("ticks while the input is stuck", |c| {
                String::from_utf8_lossy(&c.output[seen..])
                    .matches("tick-")
                    .count()
                    >= 3
            })
            .await;
    }

    // And the socket still closes at once.
    writer.socket.send(Message::Close(None)).await.unwrap();
    let ended = async {
        while let Some(Ok(msg)) = writer.socket.next().await {
            if msg.is_close() {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), ended)
        .await
        .expect("the socket closed while its input was stuck");
    server.kill(&id).await;
}

fn threads_and_fds(pid: i32) -> (usize, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let threads = status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    (threads, fds)
}

#[tokio::test]
async fn threads_and_descriptors_stay_flat_across_sessions_that_start_and_exit() {
    let server = TestServer::start_with("max_sessions = 1000\n", &[]);
    let pid = server_pid(&server);
    let run = |n: usize| {
        let server = &server;
        async move {
            let mut ids = HashSet::new();
            for _ in 0..n {
                let s = server.create(&["sh", "-c", "echo hello"]).await;
                ids.insert(s["id"].as_str().unwrap().to_owned());
            }
            for id in &ids {
                server.wait_ended(id, Duration::from_secs(30)).await;
            }
        }
    };
    // Warm up: the runtime's threads and the HTTP client's connection.
    run(10).await;
    let settled = || async {
        // Blocking-pool threads that parsed screens or reaped guards leave
        // after 10 s idle; what is left must be what an idle server has.
        poll(
            "the server's threads to settle",
            Duration::from_secs(30),
            || async {
                let a = threads_and_fds(pid);
                tokio::time::sleep(Duration::from_millis(500)).await;
                let b = threads_and_fds(pid);
                if a == b {
                    Ok(b)
                } else {
                    Err(format!("{a:?} then {b:?}"))
                }
            },
        )
        .await
    };
    let (threads0, fds0) = settled().await;
    run(200).await;
    let idle = poll("threads back to idle", Duration::from_secs(40), || async {
        let (threads, fds) = threads_and_fds(pid);
        if threads <= threads0 + 4 && fds <= fds0 + 4 {
            Ok((threads, fds))
        } else {
            Err(format!(
                "threads {threads} (idle {threads0}), descriptors {fds} (idle {fds0})"
            ))
        }
    })
    .await;
    // The 200 ended sessions are still listed (they linger), and hold
    // nothing of the system.
    let listed = server.get_json("/api/sessions").await;
    let listed = listed
        .as_array()
        .or_else(|| listed["sessions"].as_array())
        .map_or(0, Vec::len);
    assert!(listed >= 200, "ended sessions listed: {listed}");
    eprintln!("idle: {threads0} threads, {fds0} fds; after 200 sessions: {idle:?}");
}

#[tokio::test]
async fn sessions_run_under_the_small_embedded_guard() {
    let server = TestServer::start();
    let s = server.create(&["sleep", "1000"]).await;
    let id = s["id"].as_str().unwrap().to_owned();
    let program = s["pid"].as_i64().unwrap() as i32;
    let guard = procfs::process::Process::new(program)
        .unwrap()
        .stat()
        .unwrap()
        .ppid;
    let comm = std::fs::read_to_string(format!("/proc/{guard}/comm")).unwrap();
    assert_eq!(comm.trim_end(), "ptyhub-guard");
    let cmdline = std::fs::read(format!("/proc/{guard}/cmdline")).unwrap();
    assert!(
        cmdline.starts_with(b"ptyhub-guard\0--server-pid\0"),
        "{cmdline:?}"
    );
    // Run from the in-memory copy `build.rs` built: the server's own
    // executable (whose relocated data would cost every guard ~0.5 MiB) is
    // not mapped in it.
    let exe = std::fs::read_link(format!("/proc/{guard}/exe")).unwrap();
    assert!(
        exe.to_string_lossy().starts_with("/memfd:ptyhub-guard"),
        "{exe:?}"
    );
    let server_exe = std::fs::read_link(format!("/proc/{}/exe", server_pid(&server))).unwrap();
    let maps = std::fs::read_to_string(format!("/proc/{guard}/maps")).unwrap();
    assert!(
        !maps.contains(server_exe.to_string_lossy().as_ref()),
        "{maps}"
    );
    server.kill(&id).await;
    server.wait_ended(&id, Duration::from_secs(10)).await;
}
