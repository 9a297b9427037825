//! Hardening against the real binary: the token out of `/proc` and out of
//! the server's output, descriptors running out (503, never 500), chunked
//! bodies, body timeouts, `/resize` on an ended session, and the
//! environment variables that run code.

mod common;

use std::io::Read;
use std::process::Command;
use std::time::Duration;

use common::{TOKEN, TempDir, TestServer};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn a_session_cannot_read_the_token_from_the_servers_proc_files() {
    // The token comes both from PTYHUB_TOKEN (TestServer's) and --token.
    let server = TestServer::start_with("", &["--token", TOKEN]);
    let pid = server.child.id();
    let script = format!(
        "tr '\\0' '\\n' < /proc/{pid}/environ; echo; tr '\\0' ' ' < /proc/{pid}/cmdline; echo; echo END"
    );
    let s = server.create(&["sh", "-c", &script]).await;
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
    // It did read both files...
    assert!(
        out.contains("PTYHUB_TOKEN=") && out.contains("--token"),
        "{out}"
    );
    // ...and found no token there.
    assert!(!out.contains(TOKEN), "{out}");
    // The server still takes the token.
    assert_eq!(
        server.get("/api/sessions").send().await.unwrap().status(),
        200
    );
}

/// Runs `ptyhub serve` with the token supplied by `how`, uses it (a login,
/// a good and a bad request, a session), stops it, and returns everything
/// it wrote on stdout and stderr.
fn output_of_a_server_with_a_supplied_token(how: &str) -> String {
    let dir = TempDir::new("supplied");
    let config = dir.path("config.toml");
    let mut text = String::from("allow_arbitrary_commands = true\n");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ptyhub"));
    cmd.args(["serve", "--bind", "127.0.0.1:0", "--config"])
        .arg(&config)
        .env("XDG_RUNTIME_DIR", dir.dir())
        .env("RUST_LOG", "debug")
        .env_remove("PTYHUB_TOKEN");
    match how {
        "env" => {
            cmd.env("PTYHUB_TOKEN", TOKEN);
        }
        "flag" => {
            cmd.args(["--token", TOKEN]);
        }
        "config" => text.push_str(&format!("token = \"{TOKEN}\"\n")),
        "token_file" => {
            let file = dir.path("token");
            std::fs::write(&file, TOKEN).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
            text.push_str(&format!("token_file = {:?}\n", file.display().to_string()));
        }
        _ => unreachable!(),
    }
    std::fs::write(&config, text).unwrap();
    let log = dir.path("log");
    let file = std::fs::File::create(&log).unwrap();
    cmd.stdout(file.try_clone().unwrap()).stderr(file);
    let mut child = cmd.spawn().unwrap();
    let started = common::wait_for(Duration::from_secs(20), || {
        dir.read("log").contains("http://")
    });
    assert!(started, "no URL line: {}", dir.read("log"));
    let text = dir.read("log");
    let at = text.find("http://").unwrap();
    let base = text[at..]
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let login = c
            .get(format!("{base}/?token={TOKEN}"))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 302, "{how}");
        let bad = c
            .get(format!("{base}/api/sessions?token=nope"))
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 401);
        let created = c
            .post(format!("{base}/api/sessions"))
            .bearer_auth(TOKEN)
            .json(&json!({"command": ["true"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
    });
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(child.id() as i32).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    assert!(child.wait().unwrap().success());
    let mut out = String::new();
    std::fs::File::open(&log)
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    out
}

#[test]
fn a_supplied_token_is_never_printed() {
    for how in ["env", "flag", "config", "token_file"] {
        let out = output_of_a_server_with_a_supplied_token(how);
        assert!(
            out.contains("ptyhub: open http://127.0.0.1:"),
            "{how}: {out}"
        );
        assert!(!out.contains(TOKEN), "{how}: the token was printed:\n{out}");
    }
}

#[tokio::test]
async fn out_of_descriptors_answers_503_never_500() {
    // A short linger: an ended session's descriptors go with it.
    let server =
        TestServer::start_launched(&["prlimit", "--nofile=128:128"], "linger = \"1s\"\n", &[]);
    let mut ids = Vec::new();
    let refused = loop {
        let r = server
            .post("/api/sessions", json!({"command": ["cat"]}))
            .send()
            .await
            .unwrap();
        match r.status().as_u16() {
            201 => {
                let v: serde_json::Value = r.json().await.unwrap();
                ids.push(v["id"].as_str().unwrap().to_owned());
                assert!(ids.len() < 100, "128 descriptors never ran out");
            }
            _ => break r,
        }
    };
    assert_eq!(refused.status(), 503);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "out_of_descriptors", "{body}");
    assert!(!ids.is_empty());
    // The server still answers, and new connections are answered (a 503
    // when it has no descriptor for them, never silence) while the
    // unauthenticated ones make room for a token holder.
    let mut silent = Vec::new();
    for n in 0..90u8 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket
            .bind(std::net::SocketAddr::from(([127, 0, 0, 20 + n % 4], 0)))
            .unwrap();
        silent.push(socket.connect(server.addr.parse().unwrap()).await.unwrap());
    }
    let mut raw = TcpStream::connect(&server.addr).await.unwrap();
    let request = format!(
        "GET /api/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\
         Connection: close\r\n\r\n"
    );
    raw.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), raw.read_to_end(&mut answer))
        .await
        .expect("an answer")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.1 503"),
        "{answer}"
    );
    assert!(!answer.contains(" 500 "), "{answer}");
    common::poll(
        "a token holder gets in",
        Duration::from_secs(10),
        || async {
            match server.get("/api/sessions").send().await {
                Ok(r) if r.status() == 200 => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    drop(silent);
    // Ending sessions gives their descriptors back (once they are
    // forgotten): creating works again. Five (four descriptors each), not
    // one: the connections opened above may still hold a few descriptors
    // (keep-alive) that the sessions created before them did not count on,
    // and the limit is met within a descriptor or two of the reserve.
    assert!(ids.len() > 5, "{} sessions before the limit", ids.len());
    for id in &ids[..5] {
        server.kill(id).await;
        server.wait_ended(id, Duration::from_secs(10)).await;
    }
    common::poll("a session again", Duration::from_secs(10), || async {
        let r = server
            .post("/api/sessions", json!({"command": ["true"]}))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        match r.status().as_u16() {
            201 => Ok(()),
            503 => Err(format!(
                "503; the server's descriptors: {}",
                descriptors_of(server.child.id())
            )),
            other => panic!("{other}: {:?}", r.text().await),
        }
    })
    .await;
}

/// What process `pid`'s descriptors are, counted by kind (`socket`,
/// `pipe`, `/dev/ptmx`, ...): for a failure's message.
fn descriptors_of(pid: u32) -> String {
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let target = std::fs::read_link(entry.path())
            .map(|t| t.to_string_lossy().into_owned())
            .unwrap_or_default();
        let kind = target.split(':').next().unwrap_or_default().to_owned();
        *kinds.entry(kind).or_default() += 1;
    }
    format!("{kinds:?}")
}

/// Sends `request` on a new connection and returns the whole answer (the
/// server closes after it: `Connection: close`).
async fn raw(server: &TestServer, request: &[u8]) -> String {
    let mut c = TcpStream::connect(&server.addr).await.unwrap();
    c.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(15), c.read_to_end(&mut answer))
        .await
        .expect("an answer in time")
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

fn chunked(path: &str, body: &[u8], chunk: usize) -> Vec<u8> {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    for part in body.chunks(chunk) {
        req.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        req.extend_from_slice(part);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    req
}

#[tokio::test]
async fn chunked_bodies_are_read_within_the_size_limit_and_in_time() {
    let server = TestServer::start_with("max_message_bytes = 4096\n", &[]);
    let body = json!({"command": ["true"], "name": "chunked"}).to_string();
    let answer = raw(&server, &chunked("/api/sessions", body.as_bytes(), 7)).await;
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    // Over the limit without a Content-Length: 413 all the same.
    let big = json!({"command": ["true"], "name": "x".repeat(5000)}).to_string();
    let answer = raw(&server, &chunked("/api/sessions", big.as_bytes(), 1000)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("too_large"), "{answer}");
    // A Content-Length over the limit is refused without its body (which
    // this client does not send: the answer comes once none arrives).
    let head = format!(
        "POST /api/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Length: 5000\r\nConnection: close\r\n\r\n"
    );
    let answer = raw(&server, head.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // A body that stops arriving: 408 after the body timeout.
    let started = std::time::Instant::now();
    let head = format!(
        "POST /api/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Length: 100\r\nConnection: close\r\n\r\n{{\"comm"
    );
    let answer = raw(&server, head.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(9), "{waited:?}");
}

#[tokio::test]
async fn a_client_still_writing_a_body_over_the_limit_reads_the_whole_413() {
    let server = TestServer::start_with("max_message_bytes = 4096\n", &[]);
    // More than loopback's socket buffers hold (a server that does not read
    // it leaves the writer with a broken pipe), less than the server drains.
    let big = vec![b' '; 6 << 20];
    let mut announced = format!(
        "POST /api/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        big.len()
    )
    .into_bytes();
    announced.extend_from_slice(&big);
    // Refused by its Content-Length, and while reading (chunked): the whole
    // body is written (no broken pipe) and the whole answer read.
    for request in [announced, chunked("/api/sessions", &big, 64 << 10)] {
        let answer = raw(&server, &request).await;
        let (head, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
        assert!(head.starts_with("HTTP/1.1 413"), "{head}");
        let e: serde_json::Value = serde_json::from_str(body).expect("the whole JSON error");
        assert_eq!(e["error"]["code"], "too_large", "{e}");
        assert!(
            e["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    // Through hyper's client, which writes the body while it reads.
    let r = server
        .http
        .post(server.url("/api/sessions"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .expect("an answer, not a broken pipe");
    assert_eq!(r.status(), 413);
    let e: serde_json::Value = r.json().await.expect("the whole JSON error");
    assert_eq!(e["error"]["code"], "too_large", "{e}");
}

#[tokio::test]
async fn resize_of_an_ended_session_is_a_conflict_like_input() {
    let server = TestServer::start();
    let s = server.create(&["true"]).await;
    let id = s["id"].as_str().unwrap();
    server.wait_ended(id, Duration::from_secs(10)).await;
    for (path, body) in [
        ("resize", json!({"cols": 100, "rows": 30})),
        ("input", json!({"data": "x"})),
    ] {
        let r = server
            .call(&format!("/api/sessions/{id}/{path}"), body)
            .await;
        assert_eq!(r.status(), 409, "{path}");
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "not_running", "{path}");
    }
}

#[tokio::test]
async fn variables_that_run_code_are_refused_without_arbitrary_commands() {
    let server = TestServer::start_with("allow_arbitrary_commands = false\n", &[]);
    for (key, value) in [
        ("BASH_FUNC_ls%%", "() { id; }"),
        ("PS0", "$(id)"),
        ("PS4", "$(id)"),
        ("SHELLOPTS", "xtrace"),
        ("GCONV_PATH", "/tmp"),
        ("LD_PRELOAD", "/tmp/x.so"),
    ] {
        let r = server
            .post(
                "/api/sessions",
                json!({"provider": "shell", "env": {key: value}}),
            )
            .send()
            .await
            .unwrap();
        assert!(
            r.status() == 403 || r.status() == 400,
            "{key}: {}",
            r.status()
        );
    }
    let r = server
        .post(
            "/api/sessions",
            json!({"provider": "shell", "env": {"MY_VAR": "1"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}
