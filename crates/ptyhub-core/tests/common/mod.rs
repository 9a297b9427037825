//! Helpers of the core's tests: real programs in real PTYs, clients that
//! collect what they receive, and screen comparison through vt100.
#![allow(dead_code)]

use std::num::NonZeroU16;
use std::sync::Arc;
use std::time::Duration;

use ptyhub_core::{
    AttachOptions, AttachStart, Client, ClientEvent, CoreConfig, Session, SessionSpec, Supervisor,
};
use ptyhub_protocol::api::ResizePolicy;
use ptyhub_pty::{Environment, GuardProgram, WindowSize};

pub fn config() -> CoreConfig {
    let guard = GuardProgram::locate()
        .expect("a guard binary next to the tests: run `cargo test --workspace`");
    let mut config = CoreConfig::with_guard(guard);
    config.terminate_grace = Duration::from_secs(1);
    config.linger = Duration::from_secs(60);
    config
}

pub fn spec(argv: &[&str]) -> SessionSpec {
    SessionSpec {
        argv: argv.iter().map(|s| s.to_string()).collect(),
        cwd: std::env::temp_dir(),
        env: Environment::from_current_process()
            .overlay([("PS1", "ptyhub$ "), ("HISTFILE", "/dev/null")]),
        size: WindowSize::default(),
        name: None,
        labels: Default::default(),
        provider: None,
        resize_policy: ResizePolicy::Latest,
        limits: None,
        id: None,
        agent: Default::default(),
    }
}

pub async fn start(supervisor: &Arc<Supervisor>, argv: &[&str]) -> Arc<Session> {
    supervisor.create(spec(argv)).await.expect("create")
}

/// A client and everything it received.
pub struct Collector {
    pub client: Client,
    pub start: AttachStart,
    /// Live bytes only (after the snapshot).
    pub bytes: Vec<u8>,
    pub events: Vec<ClientEvent>,
    pub exited: bool,
}

impl Collector {
    pub fn attach(session: &Arc<Session>, opts: AttachOptions) -> Collector {
        let (client, start) = session.attach(opts).expect("attach");
        Collector {
            client,
            start,
            bytes: Vec::new(),
            events: Vec::new(),
            exited: false,
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// Takes events until `done` holds (or panics at the deadline).
    pub async fn until(
        &mut self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&Collector) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + timeout;
        while !done(self) {
            match tokio::time::timeout_at(deadline, self.client.next()).await {
                Ok(Some(ClientEvent::Output(b))) => self.bytes.extend_from_slice(&b),
                Ok(Some(ClientEvent::Exit(e))) => {
                    self.exited = true;
                    self.events.push(ClientEvent::Exit(e));
                }
                Ok(Some(other)) => self.events.push(other),
                Ok(None) => {
                    assert!(
                        done(self),
                        "stream ended waiting for {what}; got {} bytes",
                        self.bytes.len()
                    );
                    return;
                }
                Err(_) => {
                    let text = self.text();
                    let tail: String = text
                        .chars()
                        .rev()
                        .take(400)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect();
                    panic!(
                        "timed out waiting for {what}; {} bytes, ending {tail:?}",
                        self.bytes.len()
                    )
                }
            }
        }
    }

    pub async fn expect(&mut self, needle: &str) {
        self.until(needle, Duration::from_secs(15), |c| {
            c.text().contains(needle)
        })
        .await
    }

    pub async fn until_exit(&mut self, timeout: Duration) {
        self.until("exit", timeout, |c| c.exited).await
    }
}

pub fn parser(size: WindowSize) -> vt100::Parser {
    vt100::Parser::new(
        NonZeroU16::new(size.rows).unwrap(),
        NonZeroU16::new(size.cols).unwrap(),
        0,
    )
}

/// What a user sees: cells with attributes, cursor, screen and input modes.
pub fn visible_state(p: &vt100::Parser) -> (String, (u16, u16), bool, bool, bool, bool) {
    let s = p.screen();
    (
        s.contents_formatted(),
        s.cursor_position(),
        s.hide_cursor(),
        s.alternate_screen(),
        s.application_cursor(),
        s.bracketed_paste(),
    )
}

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
