//! Shared helpers of the end-to-end tests: a [`TestServer`] that runs the
//! real `ptyhub` binary on 127.0.0.1 port 0 (and stops it on drop), an
//! HTTP client with its token, and a [`TestClient`] that speaks the
//! WebSocket framings.
#![allow(dead_code)]

mod events;
mod skip;
#[allow(unused_imports)]
pub use events::{Events, preview_texts};
#[allow(unused_imports)]
pub use skip::skip_requested;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use ptyhub_protocol::v1::{self, ServerEvent};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};

/// A fresh directory, removed on drop.
pub struct TempDir(tempfile::TempDir);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let prefix = format!("ptyhub-test-{tag}-");
        TempDir(tempfile::Builder::new().prefix(&prefix).tempdir().unwrap())
    }

    /// The directory itself.
    pub fn dir(&self) -> &Path {
        self.0.path()
    }

    /// `name` in the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir().join(name)
    }

    /// The text of `name` in the directory, empty when there is none.
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }
}

pub const TOKEN: &str = "e2e-test-token-0123456789abcdef0123456789abcdef";

/// The real binary, serving on a port of its own; SIGTERM and wait on drop.
pub struct TestServer {
    pub child: Child,
    pub base: String,
    pub addr: String,
    /// The server's config file and runtime directory, removed on drop.
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
}

impl TestServer {
    pub fn start() -> TestServer {
        Self::start_with("", &[])
    }

    /// With `config` as the TOML config file (if not empty) and extra args.
    pub fn start_with(config: &str, args: &[&str]) -> TestServer {
        Self::start_launched(&[], config, args)
    }

    /// Like [`start_with`](Self::start_with), the binary started by
    /// `launcher` (a program and its arguments, the server's command line
    /// appended; it must exec the server so that the pid stays the same).
    pub fn start_launched(launcher: &[&str], config: &str, args: &[&str]) -> TestServer {
        Self::spawn(launcher, config, args, None)
    }

    /// Like [`start_with`](Self::start_with), on `bind` (`127.0.0.1:PORT`)
    /// instead of port 0, logging at `rust_log`.
    pub fn start_at(bind: &str, config: &str, rust_log: &str) -> TestServer {
        Self::spawn_at(bind, &[], config, &[], Some(rust_log))
    }

    /// Like [`start_with`](Self::start_with), logging at `rust_log` into
    /// the file that [`log`](Self::log) reads.
    pub fn start_logged(config: &str, args: &[&str], rust_log: &str) -> TestServer {
        Self::spawn(&[], config, args, Some(rust_log))
    }

    /// What the server logged so far (servers from
    /// [`start_logged`](Self::start_logged)).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).expect("a logged server")
    }

    fn spawn(launcher: &[&str], config: &str, args: &[&str], log: Option<&str>) -> TestServer {
        Self::spawn_at("127.0.0.1:0", launcher, config, args, log)
    }

    fn spawn_at(
        bind: &str,
        launcher: &[&str],
        config: &str,
        args: &[&str],
        log: Option<&str>,
    ) -> TestServer {
        let dir = tempfile::Builder::new()
            .prefix("ptyhub-e2e-")
            .tempdir()
            .unwrap();
        let bin = env!("CARGO_BIN_EXE_ptyhub");
        let mut cmd = match launcher {
            [] => Command::new(bin),
            [program, rest @ ..] => {
                let mut cmd = Command::new(program);
                cmd.args(rest).arg(bin);
                cmd
            }
        };
        cmd.arg("serve").arg("--bind").arg(bind);
        // Test defaults, unless the test sets the key itself.
        let mut text = config.to_owned();
        for (key, line) in [
            (
                "allow_arbitrary_commands",
                "allow_arbitrary_commands = true\n",
            ),
            ("terminate_grace", "terminate_grace = \"1s\"\n"),
        ] {
            if !config.contains(key) {
                text.push_str(line);
            }
        }
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        cmd.arg("--config").arg(&path);
        cmd.args(args)
            .env("PTYHUB_TOKEN", TOKEN)
            .env("XDG_RUNTIME_DIR", dir.path())
            // A home of its own: the sessions' shells read no user's
            // startup files (a `pyenv rehash` there, killed with its
            // session, left a lock that stalled every later shell), and
            // nothing a test does lands in the real home.
            .env("HOME", dir.path())
            .env("SHELL", "/bin/bash")
            .env("RUST_LOG", log.unwrap_or("warn"))
            .stdout(Stdio::piped());
        match log {
            Some(_) => {
                let file = std::fs::File::create(dir.path().join("server.log")).unwrap();
                cmd.stderr(file)
            }
            None => cmd.stderr(Stdio::inherit()),
        };
        let mut child = cmd.spawn().expect("start ptyhub");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // `https://` under TLS.
                if let Some(at) = line.find("http://").or_else(|| line.find("https://")) {
                    let url = line[at..].to_owned();
                    // Only the first URL matters; later lines are ignored.
                    let _ = tx.try_send(url);
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the server printed its URL");
        let base = url
            .split("/?")
            .next()
            .unwrap()
            .trim_end_matches('/')
            .to_owned();
        let addr = base
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .to_owned();
        TestServer {
            child,
            base,
            addr,
            dir,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A browser's login: the answer (302, checked) to the page with
    /// `?token=`, which sets the login cookie.
    pub async fn login(&self) -> reqwest::Response {
        let c = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let r = c
            .get(self.url(&format!("/?token={TOKEN}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 302);
        r
    }

    /// The `name=value` of the login cookie [`TestServer::login`] gets.
    pub async fn login_cookie(&self) -> String {
        let r = self.login().await;
        let set = r.headers()["set-cookie"].to_str().unwrap();
        set.split(';').next().unwrap().to_owned()
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(self.url(path)).bearer_auth(TOKEN)
    }

    pub fn post(&self, path: &str, body: Value) -> reqwest::RequestBuilder {
        self.http
            .post(self.url(path))
            .bearer_auth(TOKEN)
            .json(&body)
    }

    /// POSTs `body` as JSON and waits for the response.
    pub async fn call(&self, path: &str, body: Value) -> reqwest::Response {
        self.post(path, body)
            .send()
            .await
            .expect("the server answers")
    }

    pub fn delete(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.delete(self.url(path)).bearer_auth(TOKEN)
    }

    pub fn patch(&self, path: &str, body: Value) -> reqwest::RequestBuilder {
        self.http
            .patch(self.url(path))
            .bearer_auth(TOKEN)
            .json(&body)
    }

    /// Starts `argv` and returns the session object.
    pub async fn create(&self, argv: &[&str]) -> Value {
        let r = self
            .post("/api/sessions", json!({"command": argv}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{:?}", r.text().await);
        r.json().await.unwrap()
    }

    /// GETs `path` (200 expected) and returns its JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        let r = self.get(path).send().await.unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap()
    }

    /// The session object of `id`.
    pub async fn session(&self, id: &str) -> Value {
        self.get_json(&format!("/api/sessions/{id}")).await
    }

    /// Ends session `id` (`DELETE`), not waiting for it.
    pub async fn kill(&self, id: &str) {
        let r = self
            .delete(&format!("/api/sessions/{id}"))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "DELETE {id}: {}", r.status());
    }

    /// Waits until session `id` has ended; its session object.
    pub async fn wait_ended(&self, id: &str, within: Duration) -> Value {
        let what = format!("{id} still running after {within:?}");
        poll(&what, within, || async {
            let s = self.session(id).await;
            if s["exit"].is_null() {
                Err(s.to_string())
            } else {
                Ok(s)
            }
        })
        .await
    }

    /// Waits until the screen of `id` matches `pattern`.
    pub async fn wait_screen(&self, id: &str, pattern: &str) -> Value {
        let r = self
            .post(
                &format!("/api/sessions/{id}/wait"),
                json!({"pattern": pattern, "timeout_ms": 15000}),
            )
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert_eq!(status, 200, "waiting for {pattern:?}: {body}");
        body
    }

    /// Sends SIGTERM and waits for the exit code.
    pub fn stop(&mut self) -> Option<i32> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return status.code();
        }
        let pid = rustix::process::Pid::from_child(&self.child);
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let mut code = None;
        let exited = wait_for(Duration::from_secs(15), || match self.child.try_wait() {
            Ok(Some(status)) => {
                code = status.code();
                true
            }
            _ => false,
        });
        if !exited {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        code
    }
}

/// Polls `f` every 100 ms until it gives `Ok`, or panics with `what` and
/// the last `Err` seen at the deadline.
pub async fn poll<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match f().await {
            Ok(v) => return v,
            Err(last) if tokio::time::Instant::now() >= deadline => panic!("{what}: {last}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Checks `ok` every 50 ms for `period`, panicking with `what` and the
/// `Err` the first time it fails: absence proven by a poll that fails.
pub async fn holds_for<F, Fut>(what: &str, period: Duration, mut ok: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let deadline = tokio::time::Instant::now() + period;
    while tokio::time::Instant::now() < deadline {
        if let Err(e) = ok().await {
            panic!("{what}: {e}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Checks `done` every 20 ms until it holds or `timeout` passes; whether it
/// held.
pub fn wait_for(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How to open a socket.
#[derive(Clone, Default)]
pub struct Connect {
    pub protocol: Option<&'static str>,
    pub token_header: bool,
    pub origin: Option<String>,
    pub cookie: Option<String>,
    pub query: String,
}

impl Connect {
    pub fn v1(query: &str) -> Connect {
        Connect {
            protocol: Some("ptyhub.v1"),
            token_header: true,
            query: query.to_owned(),
            ..Default::default()
        }
    }
}

/// Opens a socket; the error is the HTTP status of a refused upgrade.
pub async fn connect(server: &TestServer, id: &str, c: Connect) -> Result<Socket, u16> {
    connect_at(&server.addr, id, c).await
}

/// [`connect`] to `addr` (`host:port`), a server or a proxy in front.
pub async fn connect_at(addr: &str, id: &str, c: Connect) -> Result<Socket, u16> {
    let url = format!("ws://{addr}/api/sessions/{id}/ws{}", c.query);
    let mut req = url.into_client_request().unwrap();
    let h = req.headers_mut();
    if let Some(p) = c.protocol {
        h.insert("sec-websocket-protocol", HeaderValue::from_static(p));
    }
    if c.token_header {
        h.insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {TOKEN}")).unwrap(),
        );
    }
    if let Some(o) = &c.origin {
        h.insert("origin", HeaderValue::from_str(o).unwrap());
    }
    if let Some(cookie) = &c.cookie {
        h.insert("cookie", HeaderValue::from_str(cookie).unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((socket, _)) => Ok(socket),
        Err(tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("connect: {e}"),
    }
}

/// A `ptyhub.v1` client that collects what it receives.
pub struct TestClient {
    pub socket: Socket,
    pub hello: Value,
    /// Every output byte after `hello` (snapshot first).
    pub output: Vec<u8>,
    pub events: Vec<ServerEvent>,
    pub close: Option<Option<CloseFrame>>,
}

impl TestClient {
    pub async fn attach(server: &TestServer, id: &str, query: &str) -> TestClient {
        Self::attach_at(&server.addr, id, query).await
    }

    /// [`attach`](Self::attach) through `addr` (`host:port`).
    pub async fn attach_at(addr: &str, id: &str, query: &str) -> TestClient {
        let mut socket = connect_at(addr, id, Connect::v1(query))
            .await
            .expect("upgrade");
        let first = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("hello in time");
        let hello = match first {
            Some(Ok(Message::Text(t))) => serde_json::from_str(&t).unwrap(),
            other => panic!("expected hello, got {other:?}"),
        };
        TestClient {
            socket,
            hello,
            output: Vec::new(),
            events: Vec::new(),
            close: None,
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.output).into_owned()
    }

    /// Reads until `done` or the deadline.
    pub async fn until(&mut self, what: &str, done: impl Fn(&TestClient) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !done(self) {
            let msg = match tokio::time::timeout_at(deadline, self.socket.next()).await {
                Ok(Some(Ok(m))) => m,
                Ok(_) => {
                    assert!(
                        done(self),
                        "socket ended waiting for {what}: {:?}",
                        self.tail()
                    );
                    return;
                }
                Err(_) => panic!(
                    "timed out waiting for {what}; events {:?}; output ends {:?}",
                    self.events,
                    self.tail()
                ),
            };
            match msg {
                Message::Binary(b) => self.output.extend_from_slice(&b),
                Message::Text(t) => self
                    .events
                    .push(v1::decode_event(&t).expect("a known event")),
                Message::Close(frame) => self.close = Some(frame),
                _ => {}
            }
        }
    }

    fn tail(&self) -> String {
        let t = self.text();
        t.chars()
            .rev()
            .take(300)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect()
    }

    pub async fn expect(&mut self, needle: &str) {
        self.until(needle, |c| c.text().contains(needle)).await
    }

    pub async fn send_json(&mut self, v: Value) {
        self.socket
            .send(Message::text(v.to_string()))
            .await
            .unwrap();
    }

    pub async fn send_bytes(&mut self, b: &[u8]) {
        self.socket.send(Message::binary(b.to_vec())).await.unwrap();
    }

    pub async fn until_closed(&mut self) {
        self.until("close", |c| c.close.is_some()).await
    }

    pub fn exit_event(&self) -> Option<&ptyhub_protocol::api::ExitInfo> {
        self.events.iter().find_map(|e| match e {
            ServerEvent::Exit { exit } => Some(exit),
            _ => None,
        })
    }
}

/// The live processes of the terminal session `pid` leads. Panics when
/// `/proc` cannot be read (an empty list must mean none are left).
pub fn session_processes(pid: i32) -> Vec<i32> {
    procfs::process::all_processes()
        .expect("/proc can be read")
        // A process that ended between the listing and its read is gone.
        .filter_map(|p| p.ok()?.stat().ok())
        .filter(|s| s.session == pid && s.state != 'Z')
        .map(|s| s.pid)
        .collect()
}
