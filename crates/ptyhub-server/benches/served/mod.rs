//! The real `ptyhub serve` binary driven by the server's benches over plain
//! HTTP and `ptyhub.v1` WebSockets (shared by `load` and `sessions`).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::StreamExt;
use rustix::process::{Pid, Signal, kill_process};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::baseline::process_cpu;

pub const TOKEN: &str = "bench-token-0123456789abcdef";

/// How long any one step (a request, a flood, a keystroke) may take.
pub const DEADLINE: Duration = Duration::from_secs(60);

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// `ptyhub serve` next to this bench (cargo puts benches in
/// `target/<profile>/deps/`), or `$PTYHUB_BIN`.
pub fn ptyhub_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("PTYHUB_BIN") {
        return path.into();
    }
    let exe = std::env::current_exe().expect("own path");
    let dir = exe.parent().expect("a directory");
    [Some(dir), dir.parent()]
        .into_iter()
        .flatten()
        .map(|d| d.join("ptyhub"))
        .find(|p| p.is_file())
        .expect("no ptyhub binary next to this bench: run `cargo build --release -p ptyhub` first")
}

/// A running `ptyhub serve`; SIGTERM and reaped on drop.
pub struct Served {
    pub child: Child,
    pub process: procfs::process::Process,
    pub addr: String,
    _dir: tempfile::TempDir,
}

impl Served {
    pub fn start(binary: &Path) -> Served {
        Self::start_with(binary, "")
    }

    /// With `extra` appended to the config file.
    pub fn start_with(binary: &Path, extra: &str) -> Served {
        Self::start_at(binary, "127.0.0.1:0", extra)
    }

    /// [`start_with`](Self::start_with) on `bind` (`127.0.0.1:PORT`).
    pub fn start_at(binary: &Path, bind: &str, extra: &str) -> Served {
        let dir = tempfile::Builder::new()
            .prefix("ptyhub-load-")
            .tempdir()
            .expect("a temp dir");
        let config = dir.path().join("ptyhub.toml");
        std::fs::write(
            &config,
            format!(
                "allow_arbitrary_commands = true\nruntime_dir = {:?}\n{extra}",
                dir.path().join("run")
            ),
        )
        .expect("write the config");
        let mut cmd = Command::new(binary);
        for var in ["PTYHUB_BIND", "PTYHUB_CONFIG"] {
            cmd.env_remove(var);
        }
        let mut child = cmd
            .args(["serve", "--bind", bind, "--config"])
            .arg(&config)
            .env("PTYHUB_TOKEN", TOKEN)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ptyhub serve");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("the URL line");
        // `ptyhub: open http://127.0.0.1:PORT/?token=...`
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_owned();
        // Nothing more is expected on stdout; drain it so the server never
        // blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let process = procfs::process::Process::new(child.id() as i32).expect("the server's /proc");
        Served {
            child,
            process,
            addr,
            _dir: dir,
        }
    }

    /// The server process's CPU seconds so far (its sessions' programs and
    /// guards are other processes).
    pub fn cpu(&self) -> f64 {
        process_cpu(&self.process)
    }

    /// One request; the status and the JSON body.
    pub async fn http(&self, method: &str, path: &str, body: &Value) -> (u16, Value) {
        let body = body.to_string();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {TOKEN}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        let exchange = async {
            let mut s = TcpStream::connect(&self.addr).await?;
            s.write_all(request.as_bytes()).await?;
            let mut response = Vec::new();
            s.read_to_end(&mut response).await?;
            Ok::<_, std::io::Error>(response)
        };
        let response = tokio::time::timeout(DEADLINE, exchange)
            .await
            .unwrap_or_else(|_| panic!("{method} {path}: no answer within {DEADLINE:?}"))
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let text = String::from_utf8_lossy(&response);
        let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
        assert!(
            !head.to_ascii_lowercase().contains("chunked"),
            "this small client reads plain bodies only: {head}"
        );
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status code");
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    /// Starts a session running `argv`; its id.
    pub async fn create(&self, argv: &[&str]) -> String {
        let (status, body) = self
            .http("POST", "/api/sessions", &json!({ "command": argv }))
            .await;
        assert_eq!(status, 201, "create: {body}");
        body["id"].as_str().expect("an id").to_owned()
    }

    pub async fn delete(&self, id: &str) {
        let (status, body) = self
            .http("DELETE", &format!("/api/sessions/{id}"), &Value::Null)
            .await;
        assert_eq!(status, 202, "delete: {body}");
    }

    /// Attaches from offset 0 (nothing missed, no snapshot) with the native
    /// protocol, and reads the `hello`.
    pub async fn attach(&self, id: &str) -> Socket {
        let mut request = format!("ws://{}/api/sessions/{id}/ws?since=0", self.addr)
            .into_client_request()
            .expect("a request");
        let headers = request.headers_mut();
        headers.insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("ptyhub.v1"),
        );
        headers.insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {TOKEN}")).expect("a header value"),
        );
        // Nagle off, as interactive clients do.
        let (mut ws, _) = tokio_tungstenite::connect_async_with_config(request, None, true)
            .await
            .expect("WebSocket attach");
        let hello = match next(&mut ws).await {
            Message::Text(t) => serde_json::from_str::<Value>(&t).expect("JSON"),
            other => panic!("expected hello, got {other:?}"),
        };
        assert_eq!(hello["type"], "hello", "{hello}");
        assert_eq!(hello["resumed"], true, "resumed from 0: {hello}");
        ws
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        // Sessions end within terminate_grace (5 s) + 1 s at shutdown.
        stop(&mut self.child, Some(Signal::TERM), Duration::from_secs(10));
    }
}

/// Ends a child process of the bench: `signal` first (if any), then waits
/// up to `grace` for it to exit, then SIGKILL; reaped in every case.
pub fn stop(child: &mut Child, signal: Option<Signal>, grace: Duration) {
    let pid = Pid::from_raw(child.id() as i32).expect("a pid");
    if let Some(signal) = signal
        && let Err(e) = kill_process(pid, signal)
    {
        eprintln!("{signal:?} to {pid:?}: {e}");
    }
    std::thread::scope(|s| {
        // One message: a capacity of 1 never blocks the waiter.
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        s.spawn(move || tx.send(child.wait()));
        match rx.recv_timeout(grace) {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => eprintln!("waiting for {pid:?}: {e}"),
            Err(_) => {
                eprintln!("{pid:?} did not exit within {grace:?}: SIGKILL");
                if let Err(e) = kill_process(pid, Signal::KILL) {
                    eprintln!("SIGKILL to {pid:?}: {e}");
                }
            }
        }
    });
}

/// The next frame, within [`DEADLINE`].
pub async fn next(ws: &mut Socket) -> Message {
    tokio::time::timeout(DEADLINE, ws.next())
        .await
        .expect("a frame within the deadline")
        .expect("the socket is open")
        .expect("a frame")
}
