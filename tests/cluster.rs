//! Several machines as one service (`[cluster]`, docs/cluster.md): Debian's
//! `redis-server` and `nginx`, each started here on a free loopback port
//! with its own temporary config (never the system services) and stopped
//! by its pid, and real `ptyhub serve` nodes. A session created on one node
//! is listed, fed, read and attached through the others and through nginx
//! (round robin); a node killed with SIGKILL has its sessions reported
//! `error` / `node_lost`, and does not bring them back when it returns;
//! Redis killed leaves every node serving its own sessions, degraded, until
//! a new Redis is up and every node has registered again.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{
    Connect, Events, TOKEN, TempDir, TestClient, TestServer, connect, poll, preview_texts, wait_for,
};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// A free loopback port (bound and released: another program could take
/// it in between, which would fail the start loudly, not silently).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `redis-server` of the test's own: no persistence, loopback only.
struct Redis {
    child: Child,
    port: u16,
    _dir: common::TempDir,
}

impl Redis {
    fn start(port: u16) -> Redis {
        let dir = common::TempDir::new("redis");
        let conf = dir.path("redis.conf");
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\nsave \"\"\nappendonly no\ndir {}\nlogfile {}\n",
                dir.dir().display(),
                dir.path("redis.log").display()
            ),
        )
        .unwrap();
        let child = Command::new("redis-server")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (apt-get install -y redis-server)");
        let mut redis = Redis {
            child,
            port,
            _dir: dir,
        };
        let up = wait_for(Duration::from_secs(10), || redis.ping());
        assert!(up, "redis-server answers PING on {port}");
        assert!(
            redis.child.try_wait().unwrap().is_none(),
            "redis-server runs"
        );
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// One command in RESP's inline form; the reply's first line.
    fn command(&self, line: &str) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        s.write_all(format!("{line}\r\n").as_bytes()).ok()?;
        let mut buf = [0u8; 4096];
        let n = s.read(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    fn ping(&self) -> bool {
        self.command("PING").is_some_and(|r| r.starts_with("+PONG"))
    }

    /// SIGKILL, by its pid.
    fn kill(&mut self) {
        if self.child.try_wait().unwrap().is_none() {
            self.child.kill().unwrap();
        }
        self.child.wait().unwrap();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// nginx with `examples/cluster/nginx.conf`, its ports replaced by the
/// test's.
struct Nginx {
    child: Child,
    base: String,
    dir: common::TempDir,
}

impl Nginx {
    fn start(nodes: &[&TestServer]) -> Nginx {
        let dir = common::TempDir::new("nginx");
        let example =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/cluster/nginx.conf");
        let mut conf = std::fs::read_to_string(&example).unwrap();
        let port = free_port();
        conf = conf.replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"));
        for (i, node) in nodes.iter().enumerate() {
            conf = conf.replace(&format!("127.0.0.1:{}", 7681 + i), &node.addr);
        }
        std::fs::create_dir_all(dir.path("tmp")).unwrap();
        std::fs::write(dir.path("nginx.conf"), conf).unwrap();
        let child = Command::new("/usr/sbin/nginx")
            .arg("-p")
            .arg(dir.dir())
            .arg("-e")
            .arg(dir.path("error.log"))
            .arg("-c")
            .arg(dir.path("nginx.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("nginx (apt-get install -y nginx)");
        let nginx = Nginx {
            child,
            base: format!("http://127.0.0.1:{port}"),
            dir,
        };
        let up = wait_for(Duration::from_secs(10), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(up, "nginx listens: {}", nginx.dir.read("error.log"));
        nginx
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // Its pid only (a master process with one worker; SIGQUIT ends both).
        let pid = rustix::process::Pid::from_child(&self.child);
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::QUIT);
        let ended = wait_for(Duration::from_secs(5), || {
            matches!(self.child.try_wait(), Ok(Some(_)))
        });
        if !ended {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A node's config: `name`, reached at `port`, on `redis` (the test
/// defaults of `TestServer` given here, before the table).
fn node_config(name: &str, port: u16, redis: &Redis) -> String {
    format!(
        "linger = \"60s\"\nallow_arbitrary_commands = true\nterminate_grace = \"1s\"\n\
         [cluster]\nredis_url = \"{}\"\nnode = \"{name}\"\nadvertise_url = \"http://127.0.0.1:{port}\"\n",
        redis.url()
    )
}

/// Starts node `name` on `port` and waits until it has registered.
async fn start_node(name: &str, port: u16, redis: &Redis) -> TestServer {
    let node = TestServer::start_at(
        &format!("127.0.0.1:{port}"),
        &node_config(name, port, redis),
        "warn,ptyhub_server::cluster=debug",
    );
    wait_healthy(&node, Duration::from_secs(10)).await;
    node
}

/// Waits until `/healthz` says `ok` (the node reached Redis).
async fn wait_healthy(node: &TestServer, within: Duration) {
    poll("the node to reach redis", within, || async {
        let h: Value = node.get_json("/healthz").await;
        if h["status"] == "ok" {
            Ok(())
        } else {
            Err(h.to_string())
        }
    })
    .await;
}

/// The sessions `node` lists, by id.
async fn listing(node: &TestServer) -> Vec<Value> {
    node.get_json("/api/sessions").await["sessions"]
        .as_array()
        .unwrap()
        .clone()
}

fn find<'a>(list: &'a [Value], id: &str) -> Option<&'a Value> {
    list.iter().find(|s| s["id"] == id)
}

fn id_of(s: &Value) -> String {
    s["id"].as_str().unwrap().to_owned()
}

/// Waits until `node` lists session `id`; its object there.
async fn wait_listed(node: &TestServer, id: &str) -> Value {
    poll("the session listed", Duration::from_secs(5), || async {
        find(&listing(node).await, id)
            .cloned()
            .ok_or_else(|| "not yet".to_owned())
    })
    .await
}

/// Nodes `node-a` and `node-b` on `redis`, a `sleep 1000` session on a,
/// listed by b: (a, a's port, b, the session's object as created).
async fn two_nodes_and_a_sleep_on_a(redis: &Redis) -> (TestServer, u16, TestServer, Value) {
    let (pa, pb) = (free_port(), free_port());
    let a = start_node("node-a", pa, redis).await;
    let b = start_node("node-b", pb, redis).await;
    let s = a.create(&["sleep", "1000"]).await;
    wait_listed(&b, &id_of(&s)).await;
    (a, pa, b, s)
}

#[tokio::test]
async fn three_nodes_behind_nginx_are_one_service() {
    let redis = Redis::start(free_port());
    let (pa, pb, pc) = (free_port(), free_port(), free_port());
    let a = start_node("node-a", pa, &redis).await;
    let b = start_node("node-b", pb, &redis).await;
    let c = start_node("node-c", pc, &redis).await;
    let mut events_c = Events::open(&c).await;

    // Created on a: every node lists it, with its node.
    let s = a.create(&["bash", "--norc", "--noprofile"]).await;
    assert_eq!(s["node"], "node-a", "{s}");
    let id = id_of(&s);
    for node in [&a, &b, &c] {
        let list = listing(node).await;
        let listed = find(&list, &id).unwrap_or_else(|| panic!("{id} in {list:?}"));
        assert_eq!(listed["node"], "node-a");
    }
    // c's events carry a's creation.
    let created = events_c
        .until("session_created", Duration::from_secs(10), |d| {
            d["id"] == id
        })
        .await;
    assert_eq!(created["node"], "node-a");

    // Any route through another node: input through b, read through c.
    let r = b
        .call(
            &format!("/api/sessions/{id}/input"),
            json!({"data": "echo fwd-$((6*7))\n"}),
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    c.wait_screen(&id, "fwd-42").await;
    let screen = b.get_json(&format!("/api/sessions/{id}/screen")).await;
    assert!(screen.to_string().contains("fwd-42"), "{screen}");
    // The owner's checks stand: no token, 401 through b as on a.
    let r = b
        .http
        .get(b.url(&format!("/api/sessions/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let one = b.session(&id).await;
    assert_eq!(one["node"], "node-a");

    // The WebSocket through b: ptyhub.v1 both ways.
    let mut client = TestClient::attach(&b, &id, "").await;
    assert_eq!(
        client.hello["session"]["node"], "node-a",
        "{}",
        client.hello
    );
    client.send_bytes(b"echo ws-$((7*6))-ok\r").await;
    client.expect("ws-42-ok").await;
    // Raw framing through c: text frames in, binary out.
    let mut raw = connect(
        &c,
        &id,
        Connect {
            token_header: true,
            ..Default::default()
        },
    )
    .await
    .expect("raw upgrade through c");
    raw.send(Message::text("echo raw-$((5*5))\r"))
        .await
        .unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !String::from_utf8_lossy(&got).contains("raw-25") {
        assert!(
            Instant::now() < deadline,
            "{}",
            String::from_utf8_lossy(&got)
        );
        match tokio::time::timeout(Duration::from_secs(10), raw.next()).await {
            Ok(Some(Ok(Message::Binary(b)))) => got.extend_from_slice(&b),
            other => panic!("raw through c: {other:?}"),
        }
    }

    // ttyd's `tty` framing through b: its in-band auth message first (the
    // owner checks it), then '0' + input; output comes back as '0' frames.
    let mut tty = connect(
        &b,
        &id,
        Connect {
            protocol: Some("tty"),
            token_header: true,
            ..Default::default()
        },
    )
    .await
    .expect("tty upgrade through b");
    tty.send(Message::binary(
        json!({"AuthToken": TOKEN, "columns": 80, "rows": 24})
            .to_string()
            .into_bytes(),
    ))
    .await
    .unwrap();
    tty.send(Message::binary(b"0echo tty-$((3*3))-ok\r".to_vec()))
        .await
        .unwrap();
    let mut got = Vec::new();
    while !String::from_utf8_lossy(&got).contains("tty-9-ok") {
        assert!(
            Instant::now() < deadline + Duration::from_secs(10),
            "{}",
            String::from_utf8_lossy(&got)
        );
        match tokio::time::timeout(Duration::from_secs(10), tty.next()).await {
            Ok(Some(Ok(Message::Binary(b)))) if b.first() == Some(&b'0') => {
                got.extend_from_slice(&b[1..]);
            }
            Ok(Some(Ok(Message::Binary(_)))) => {}
            other => panic!("tty through b: {other:?}"),
        }
    }

    // "node": created on c through a; an unknown node is refused.
    let r = a
        .call(
            "/api/sessions",
            json!({"command": ["sleep", "300"], "node": "node-c"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let on_c: Value = r.json().await.unwrap();
    assert_eq!(on_c["node"], "node-c");
    assert!(c.session(&id_of(&on_c)).await["pid"].is_number());
    let r = a
        .call(
            "/api/sessions",
            json!({"command": ["true"], "node": "node-x"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unknown_node");

    // /metrics per node, labelled.
    let metrics = b
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("ptyhub_clients{node=\"node-b\"}"),
        "{metrics}"
    );

    // nginx, round robin without stickiness: every request lands on some
    // node and every one answers for a's session.
    let nginx = Nginx::start(&[&a, &b, &c]);
    let http = reqwest::Client::new();
    for _ in 0..6 {
        let r = http
            .get(format!("{}/api/sessions/{id}", nginx.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", nginx.dir.read("error.log"));
        let list: Value = http
            .get(format!("{}/api/sessions", nginx.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let sessions = list["sessions"].as_array().unwrap();
        assert!(find(sessions, &id).is_some() && find(sessions, &id_of(&on_c)).is_some());
    }
    // The WebSocket through nginx, three times (three nodes in turn).
    let nginx_addr = nginx.base.trim_start_matches("http://");
    for round in 0..3 {
        let mut client = TestClient::attach_at(nginx_addr, &id, "").await;
        client
            .send_bytes(format!("echo nginx-{round}-$((3*3))\r").as_bytes())
            .await;
        client.expect(&format!("nginx-{round}-9")).await;
    }
    // The requests did go through nginx (sockets are logged when they end).
    let accessed = nginx.dir.read("access.log");
    let answered = accessed.lines().filter(|l| l.contains("\" 200 ")).count();
    assert!(answered >= 12, "{accessed}");
}

#[tokio::test]
async fn a_killed_node_is_reported_lost_and_does_not_come_back_with_its_sessions() {
    let redis = Redis::start(free_port());
    let (mut a, pa, b, s) = two_nodes_and_a_sleep_on_a(&redis).await;
    let id = id_of(&s);
    let pid = s["pid"].as_i64().unwrap() as i32;
    let mut events = Events::open(&b).await;

    a.child.kill().unwrap();
    a.child.wait().unwrap();
    let killed = Instant::now();
    let lost = poll(
        "a's session listed as lost",
        Duration::from_secs(15),
        || async {
            let list = listing(&b).await;
            match find(&list, &id) {
                Some(s) if s["status"] == "error" => Ok(s.clone()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    assert!(killed.elapsed() < Duration::from_secs(15));
    assert_eq!(lost["exit"]["reason"], "node_lost", "{lost}");
    assert_eq!(lost["node"], "node-a");
    let one = b.session(&id).await;
    assert_eq!(one["exit"]["reason"], "node_lost", "{one}");
    // Answered by b from Redis: for the token holder only.
    let r = reqwest::get(b.url(&format!("/api/sessions/{id}")))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let exit = events
        .until("session_exit", Duration::from_secs(5), |d| d["id"] == id)
        .await;
    assert_eq!(exit["exit"]["reason"], "node_lost");
    // The guard ended the program with its server.
    let gone = wait_for(Duration::from_secs(5), || {
        procfs::process::Process::new(pid)
            .and_then(|p| p.stat())
            .map_or(true, |st| st.state == 'Z')
    });
    assert!(gone, "sleep {pid} outlived its node");

    // a comes back (same name): its old session is not listed again.
    let a2 = start_node("node-a", pa, &redis).await;
    poll(
        "the old session forgotten",
        Duration::from_secs(10),
        || async {
            let list = listing(&b).await;
            match find(&list, &id) {
                None => Ok(()),
                Some(s) => Err(s.to_string()),
            }
        },
    )
    .await;
    let fresh = a2.create(&["sleep", "1000"]).await;
    let seen = find(&listing(&b).await, &id_of(&fresh)).cloned();
    assert_eq!(seen.map(|s| s["node"].clone()), Some(json!("node-a")));
}

#[tokio::test]
async fn redis_down_each_node_serves_its_own_and_recovers() {
    let port = free_port();
    let mut redis = Redis::start(port);
    let (pa, pb) = (free_port(), free_port());
    let a = start_node("node-a", pa, &redis).await;
    let b = start_node("node-b", pb, &redis).await;
    let on_a = id_of(&a.create(&["sleep", "1000"]).await);
    let on_b = id_of(&b.create(&["sleep", "1000"]).await);
    poll("a lists b's session", Duration::from_secs(5), || async {
        find(&listing(&a).await, &on_b)
            .map(|_| ())
            .ok_or_else(|| "not yet".to_owned())
    })
    .await;

    redis.kill();
    poll("a degraded", Duration::from_secs(10), || async {
        let h = a.get_json("/healthz").await;
        if h["status"] == "degraded" && h["cluster"].is_string() {
            Ok(())
        } else {
            Err(h.to_string())
        }
    })
    .await;
    // Its own sessions, at once: nothing waits on the dead Redis.
    let started = Instant::now();
    let list = listing(&a).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(find(&list, &on_a).is_some(), "{list:?}");
    let started = Instant::now();
    let s = a.session(&on_a).await;
    assert_eq!(s["node"], "node-a");
    let fresh = a.create(&["sleep", "1000"]).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // A new, empty Redis on the same port: both nodes register again with
    // their sessions (the one created meanwhile too) within 10 s.
    let redis = Redis::start(port);
    let back = Instant::now();
    poll(
        "b lists a's sessions again",
        Duration::from_secs(12),
        || async {
            let list = listing(&b).await;
            let all = [&on_a, &on_b, &id_of(&fresh)]
                .iter()
                .all(|id| find(&list, id).is_some());
            if all {
                Ok(())
            } else {
                Err(format!("{list:?}"))
            }
        },
    )
    .await;
    assert!(back.elapsed() < Duration::from_secs(12));
    wait_healthy(&a, Duration::from_secs(5)).await;
    let owner = redis.command(&format!("GET ptyhub:owner:{on_b}"));
    assert!(
        owner.as_deref().unwrap_or("").contains("node-b"),
        "{owner:?}"
    );
}

/// Starts node `name` on `port`, recording every session into `dir`.
async fn start_recording_node(name: &str, port: u16, redis: &Redis, dir: &Path) -> TestServer {
    let config = format!(
        "record = true\nrecordings_dir = {:?}\n{}",
        dir.display(),
        node_config(name, port, redis)
    );
    let node = TestServer::start_at(
        &format!("127.0.0.1:{port}"),
        &config,
        "warn,ptyhub_server::cluster=debug",
    );
    wait_healthy(&node, Duration::from_secs(10)).await;
    node
}

#[tokio::test]
async fn agent_state_hooks_and_recordings_through_another_node() {
    let redis = Redis::start(free_port());
    let (pa, pb) = (free_port(), free_port());
    let (dir_a, dir_b) = (TempDir::new("cluster-rec-a"), TempDir::new("cluster-rec-b"));
    let a = start_recording_node("node-a", pa, &redis, dir_a.dir()).await;
    let b = start_recording_node("node-b", pb, &redis, dir_b.dir()).await;
    // Two readers: the agent event and the notification come in either
    // order, and each reader skips what it does not look for.
    let mut events_b = Events::open(&b).await;
    let mut notes_b = Events::open(&b).await;

    // A session on a that tells its hook token, then notifies (OSC 9)
    // once it reads a line.
    let env = TempDir::new("cluster-hook");
    let token_file = env.path("token");
    let script = format!(
        r#"printf '%s' "$PTYHUB_HOOK_TOKEN" > {}; read a; printf '\033]9;tests passed\007'; exec sleep 60"#,
        token_file.display()
    );
    let s = a.create(&["bash", "-c", &script]).await;
    assert_eq!(s["node"], "node-a", "{s}");
    assert_eq!(s["recording"]["state"], "on", "{s}");
    let id = id_of(&s);
    let hook_token = poll("the hook token", Duration::from_secs(10), || {
        let file = token_file.clone();
        async move {
            let text = std::fs::read_to_string(&file).map_err(|e| e.to_string())?;
            if text.len() == 64 {
                Ok(text)
            } else {
                Err(text)
            }
        }
    })
    .await;

    // b lists it as a does: node, recording, agent.
    let listed = wait_listed(&b, &id).await;
    assert_eq!(listed["node"], "node-a");
    assert_eq!(listed["recording"]["state"], "on", "{listed}");
    assert!(listed["agent"]["state"].is_string(), "{listed}");

    // `/wait` on an agent state through b, while the input through b
    // makes the program notify.
    let waiting = {
        let b_http = b.post(
            &format!("/api/sessions/{id}/wait"),
            json!({"agent_state": "waiting", "timeout_ms": 15000}),
        );
        tokio::spawn(async move { b_http.send().await.unwrap() })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = b
        .call(&format!("/api/sessions/{id}/input"), json!({"data": "\n"}))
        .await;
    assert_eq!(r.status(), 200);
    let r = waiting.await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["matched"], true, "{body}");
    assert_eq!(body["agent"]["state"], "waiting", "{body}");
    // b's events carry a's agent state and notification, with a's name.
    let agent = events_b
        .until("session_agent", Duration::from_secs(10), |d| {
            d["session"]["id"] == id && d["session"]["agent"]["state"] == "waiting"
        })
        .await;
    assert_eq!(agent["session"]["node"], "node-a");
    let note = notes_b
        .until("session_notification", Duration::from_secs(10), |d| {
            d["session"]["id"] == id
        })
        .await;
    assert_eq!(note["body"], "tests passed", "{note}");
    poll(
        "b lists the waiting state",
        Duration::from_secs(5),
        || async {
            let list = listing(&b).await;
            match find(&list, &id) {
                Some(s) if s["agent"]["state"] == "waiting" => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;

    // The hook route through b, with the session's own token.
    let r = reqwest::Client::new()
        .post(b.url(&format!("/api/sessions/{id}/hook")))
        .bearer_auth(&hook_token)
        .body(r#"{"hook_event_name":"Stop"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "{:?}", r.text().await);
    let one = b.session(&id).await;
    assert_eq!(one["agent"]["state"], "ready", "{one}");
    assert_eq!(one["agent"]["source"], "hook", "{one}");

    // The recording, through b, from a's directory (b has none).
    let of_session = poll(
        "the recording through b",
        Duration::from_secs(10),
        || async {
            let r = b
                .get(&format!("/api/sessions/{id}/recording"))
                .send()
                .await
                .unwrap();
            let status = r.status();
            let text = r.text().await.unwrap();
            if status == 200 && text.contains("tests passed") {
                Ok(text)
            } else {
                Err(format!("{status}: {text}"))
            }
        },
    )
    .await;
    assert!(of_session.starts_with('{'), "{of_session}");
    assert_eq!(std::fs::read_dir(dir_b.dir()).unwrap().count(), 0);
    let r = b
        .get(&format!("/api/recordings/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("tests passed"));

    // Ended through b, its recording is deleted through b, on a.
    b.kill(&id).await;
    a.wait_ended(&id, Duration::from_secs(10)).await;
    let r = b
        .delete(&format!("/api/recordings/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let left: Vec<_> = std::fs::read_dir(dir_a.dir())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().contains(&id))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // Where the recording was is forgotten with it (a nil bulk reply).
    let key = redis.command(&format!("GET ptyhub:recording:{id}"));
    assert_eq!(key.as_deref(), Some("$-1\r\n"));
    assert_eq!(recording_status(&b, &id).await, 404);

    // A recording deleted by hand on a: the first request for it (through
    // b, forwarded to a) is 404 and forgets where it was.
    let s = a.create(&["true"]).await;
    let id = id_of(&s);
    a.wait_ended(&id, Duration::from_secs(10)).await;
    let key = format!("GET ptyhub:recording:{id}");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while redis.command(&key).as_deref() != Some("$6\r\nnode-a\r\n") {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            redis.command(&key)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for entry in std::fs::read_dir(dir_a.dir()).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    assert_eq!(recording_status(&b, &id).await, 404);
    assert_eq!(redis.command(&key).as_deref(), Some("$-1\r\n"));
}

/// The status of `GET /api/recordings/{id}` on `node`.
async fn recording_status(node: &TestServer, id: &str) -> u16 {
    let r = node
        .get(&format!("/api/recordings/{id}"))
        .send()
        .await
        .unwrap();
    r.status().as_u16()
}

#[tokio::test]
async fn recordings_previews_and_browser_logins_span_every_live_node() {
    let redis = Redis::start(free_port());
    let (pa, pb) = (free_port(), free_port());
    let (dir_a, dir_b) = (
        TempDir::new("cluster-list-a"),
        TempDir::new("cluster-list-b"),
    );
    let a = start_recording_node("node-a", pa, &redis, dir_a.dir()).await;
    let b = start_recording_node("node-b", pb, &redis, dir_b.dir()).await;
    let script =
        |word: &str| format!("printf '{word}\\n'; read x; printf 'more {word}\\n'; exec sleep 60");
    let r = a
        .call(
            "/api/sessions",
            json!({"command": ["bash", "-c", script("from-a")], "name": "far"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let on_a = id_of(&r.json().await.unwrap());
    let on_b = id_of(&b.create(&["bash", "-c", &script("from-b")]).await);

    // a's session by its name through b (b resolves it in Redis).
    let by_name = poll(
        "b finds a's session by name",
        Duration::from_secs(5),
        || async {
            let r = b.get("/api/sessions/far").send().await.unwrap();
            match r.status().as_u16() {
                200 => Ok(r.json::<Value>().await.unwrap()),
                status => Err(format!("{status}: {}", r.text().await.unwrap())),
            }
        },
    )
    .await;
    assert_eq!(by_name["id"], on_a.as_str(), "{by_name}");
    assert_eq!(by_name["node"], "node-a", "{by_name}");
    let r = b
        .get("/api/sessions/nobody-has-this-name")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // Each node's /api/recordings lists both files, each with its node,
    // newest first; a's is read through b.
    for node in [&a, &b] {
        let list = poll(
            "both recordings listed",
            Duration::from_secs(10),
            || async {
                let list: Value = node.get_json("/api/recordings").await;
                let recordings = list["recordings"].as_array().unwrap().clone();
                if recordings.len() == 2 {
                    Ok(recordings)
                } else {
                    Err(list.to_string())
                }
            },
        )
        .await;
        let by_id = |id: &str| find(&list, id).cloned().unwrap();
        assert_eq!(by_id(&on_a)["node"], "node-a", "{list:?}");
        assert_eq!(by_id(&on_b)["node"], "node-b", "{list:?}");
        assert!(by_id(&on_a)["ended_at"].is_null(), "{list:?}");
        assert!(
            list[0]["started_at"].as_str() >= list[1]["started_at"].as_str(),
            "{list:?}"
        );
    }
    let r = b
        .get(&format!("/api/recordings/{on_a}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("from-a"));

    // b's event stream with previews carries a's session's screen, and
    // follows it as it changes; b's own too.
    let mut previews = Events::open_at(&b, "/api/events?preview_lines=3").await;
    let last_is = |p: &Value, id: &str, text: &str| {
        p["id"] == id && preview_texts(p).last().is_some_and(|l| l == text)
    };
    previews
        .until("session_preview", Duration::from_secs(15), |p| {
            last_is(p, &on_a, "from-a")
        })
        .await;
    let r = b
        .call("/api/sessions/far/input", json!({"data": "\r"}))
        .await;
    assert_eq!(r.status(), 200);
    previews
        .until("session_preview", Duration::from_secs(10), |p| {
            last_is(p, &on_a, "more from-a")
        })
        .await;
    let mut own = Events::open_at(&b, "/api/events?preview_lines=3").await;
    own.until("session_preview", Duration::from_secs(10), |p| {
        last_is(p, &on_b, "from-b")
    })
    .await;

    // A browser signed in on b (its login secret is b's alone) reads and
    // feeds a's session through b; without a credential b answers 401
    // itself.
    let cookie = b.login_cookie().await;
    let with_cookie = reqwest::Client::new();
    let r = with_cookie
        .get(b.url(&format!("/api/sessions/{on_a}/screen")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("more from-a"));
    let r = with_cookie
        .get(b.url(&format!("/api/recordings/{on_a}")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for path in [
        format!("/api/sessions/{on_a}"),
        format!("/api/recordings/{on_a}"),
    ] {
        let r = reqwest::get(b.url(&path)).await.unwrap();
        assert_eq!(r.status(), 401, "{path}");
    }

    // A stream without previews gets none of either node's.
    let mut plain = Events::open(&b).await;
    let seen = plain.during(Duration::from_millis(2500)).await;
    assert!(
        !seen.iter().any(|(name, _)| name == "session_preview"),
        "{seen:?}"
    );

    // Ended, each file is listed as ended through the other node.
    for (node, id) in [(&a, &on_a), (&b, &on_b)] {
        node.kill(id).await;
        node.wait_ended(id, Duration::from_secs(10)).await;
    }
    let list: Value = b.get_json("/api/recordings").await;
    let ended = list["recordings"].as_array().unwrap();
    assert_eq!(ended.len(), 2, "{list}");
    assert!(ended.iter().all(|r| r["ended_at"].is_string()), "{list}");

    // a gone: b lists its own file only (a's is on a's disk).
    drop(a);
    poll(
        "b lists its own recording only",
        Duration::from_secs(20),
        || async {
            let list: Value = b.get_json("/api/recordings").await;
            let ids: Vec<&str> = list["recordings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap())
                .collect();
            if ids == [on_b.as_str()] {
                Ok(())
            } else {
                Err(list.to_string())
            }
        },
    )
    .await;
}

#[tokio::test]
async fn a_node_restarted_at_once_reports_its_old_sessions_ended() {
    let redis = Redis::start(free_port());
    let (mut a, pa, b, s) = two_nodes_and_a_sleep_on_a(&redis).await;
    let id = id_of(&s);
    let mut events = Events::open(&b).await;

    // SIGKILL and back before its key expires: nobody saw it dead.
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    let _a2 = start_node("node-a", pa, &redis).await;
    let exit = events
        .until("session_exit", Duration::from_secs(10), |d| d["id"] == id)
        .await;
    assert_eq!(exit["status"], "error", "{exit}");
    assert_eq!(exit["exit"]["reason"], "node_lost", "{exit}");
    assert_eq!(exit["node"], "node-a", "{exit}");
    // Not listed again, not reachable.
    assert!(find(&listing(&b).await, &id).is_none());
    let r = b.get(&format!("/api/sessions/{id}")).send().await.unwrap();
    assert_eq!(r.status(), 404);
}
