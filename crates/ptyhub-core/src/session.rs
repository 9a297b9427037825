//! [`Session`]: one program in a PTY, its metadata and status, and the
//! operations clients and the API perform on it.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ptyhub_protocol::api::{
    ExitInfo, ExitReason, ResizePolicy, Resources, SessionInfo, SessionStatus,
};
use ptyhub_pty::{Environment, ExitStatus, Pty, Signal, SpawnOptions, WindowSize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::watch;
use uuid::Uuid;

use crate::output::{ClientId, Output, SessionSink, lock};
use crate::replies::ReplyFilter;
use crate::{CoreConfig, CoreError, Limits};

mod clients;
mod view;

/// What to start.
#[derive(Clone, Debug)]
pub struct SessionSpec {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Working directory.
    pub cwd: PathBuf,
    /// The program's whole environment.
    pub env: Environment,
    /// Initial size.
    pub size: WindowSize,
    /// Unique among listed sessions, when given.
    pub name: Option<String>,
    /// Free-form labels.
    pub labels: BTreeMap<String, String>,
    /// The provider it came from, if any.
    pub provider: Option<String>,
    /// How client sizes decide the terminal's.
    pub resize_policy: ResizePolicy,
    /// Its limits; `None` takes the configured defaults.
    pub limits: Option<Limits>,
    /// Its id, when the caller chose it first (to put it in the program's
    /// environment); else a fresh one.
    pub id: Option<Uuid>,
    /// Agent state detection: the provider's patterns, the hook token.
    pub agent: crate::agent::AgentSpec,
}

/// Where the reading task finds the session to record its exit in.
#[derive(Default)]
struct ExitSlot {
    session: Option<Weak<Session>>,
    pending: Option<ExitStatus>,
}

/// Mutable metadata, behind one short lock.
#[derive(Debug)]
pub(crate) struct Meta {
    pub name: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub resize_policy: ResizePolicy,
    pub status: SessionStatus,
    pub exit: Option<ExitInfo>,
    /// Why the server is ending it (set before the program's exit arrives).
    pub ending: Option<ExitReason>,
    pub last_input_at: Option<OffsetDateTime>,
    /// Writable clients' sizes, and who asked last.
    pub client_sizes: HashMap<ClientId, WindowSize>,
    pub clients: usize,
    pub resources: Resources,
}

/// Status and clients changes, for the registry's event stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Status, clients count, title, name or labels changed.
    Status,
    /// The program ended (the session's `exit` is set).
    Exit,
}

/// One program in a PTY, with everything the server keeps about it.
pub struct Session {
    id: Uuid,
    created_at: OffsetDateTime,
    created: Instant,
    argv: Vec<String>,
    cwd: PathBuf,
    provider: Option<String>,
    pub(crate) meta: Mutex<Meta>,
    pub(crate) output: Arc<Output>,
    /// Its reply filter (shared with the screen's job, which answers
    /// terminal queries through it): client input passes through it.
    replies: Arc<ReplyFilter>,
    pty: Pty,
    pub(crate) size: watch::Sender<WindowSize>,
    /// Bumped on every change of status, clients, title, name or labels.
    changes: watch::Sender<(u64, Change)>,
    limits: Limits,
    next_client: AtomicU64,
    last_input_ms: AtomicU64,
    bytes_in: AtomicU64,
    pub(crate) config: CoreConfig,
    /// Busy, waiting or ready (see [`crate::agent`]).
    pub(crate) agent: crate::agent::Agent,
    /// Its recording, once one was started (see [`crate::recording`]).
    pub(crate) recording: crate::recording::Slot,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

impl Session {
    /// Starts the program. Blocking (fork and exec of the guard): call it
    /// from a blocking thread.
    pub(crate) fn start(spec: SessionSpec, config: CoreConfig) -> Result<Arc<Session>, CoreError> {
        let replies = Arc::new(ReplyFilter::default());
        let output = Output::new(spec.size, &config, replies.clone());
        let (agent, feed) = crate::agent::Agent::new(spec.agent);
        let _ = output.agent_feed.set(feed);
        // The reading task records the exit in the session before any
        // client can see the end of the output. The session exists only once
        // the spawn returned, so an exit that comes first waits in the slot.
        let slot: Arc<Mutex<ExitSlot>> = Arc::default();
        let sink_slot = slot.clone();
        let sink = SessionSink {
            output: output.clone(),
            on_exit: Some(Box::new(move |status| {
                let mut slot = lock(&sink_slot);
                match slot.session.as_ref().and_then(Weak::upgrade) {
                    Some(session) => {
                        drop(slot);
                        session.record_exit(status);
                    }
                    None => slot.pending = Some(status),
                }
            })),
        };
        let pty = Pty::spawn_with_sink(
            SpawnOptions {
                argv: spec.argv.clone(),
                cwd: spec.cwd.clone(),
                env: spec.env,
                size: spec.size,
                terminate_grace: config.terminate_grace,
                lost_grace: Duration::from_millis(500),
                guard: config.guard.clone(),
            },
            sink,
        )?;
        // The screen's answers to terminal queries go to the program.
        replies.set_replies_to(pty.input());
        let session = Arc::new(Session {
            id: spec.id.unwrap_or_else(Uuid::new_v4),
            created_at: OffsetDateTime::now_utc(),
            created: Instant::now(),
            argv: spec.argv,
            cwd: spec.cwd,
            provider: spec.provider,
            meta: Mutex::new(Meta {
                name: spec.name,
                labels: spec.labels,
                resize_policy: spec.resize_policy,
                status: SessionStatus::Active,
                exit: None,
                ending: None,
                last_input_at: None,
                client_sizes: HashMap::new(),
                clients: 0,
                resources: Resources::default(),
            }),
            output: output.clone(),
            replies,
            pty,
            size: watch::Sender::new(spec.size),
            changes: watch::Sender::new((0, Change::Status)),
            limits: spec.limits.unwrap_or_else(|| config.limits.clone()),
            next_client: AtomicU64::new(1),
            last_input_ms: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            config,
            agent,
            recording: crate::recording::Slot::default(),
        });
        let pending = {
            let mut slot = lock(&slot);
            slot.session = Some(Arc::downgrade(&session));
            slot.pending.take()
        };
        if let Some(status) = pending {
            session.record_exit(status);
        }
        Ok(session)
    }

    fn record_exit(&self, status: ExitStatus) {
        let mut meta = lock(&self.meta);
        // A guard that went away without reporting the exit was killed
        // (the program can kill its own guard): the server's reaper ends
        // what is left, and the reason says so.
        let default = match status {
            ExitStatus::Lost => ExitReason::GuardLost,
            _ => ExitReason::Exited,
        };
        let reason = meta.ending.unwrap_or(default);
        meta.status = match (reason, status) {
            (_, ExitStatus::Lost) => SessionStatus::Error,
            (ExitReason::Exited, _) => SessionStatus::Exited,
            _ => SessionStatus::Terminated,
        };
        meta.exit = Some(ExitInfo {
            code: status.code(),
            signal: status.signal_name(),
            reason,
        });
        drop(meta);
        self.changed(Change::Exit);
    }

    pub(crate) fn changed(&self, change: Change) {
        self.changes.send_modify(|(n, c)| {
            *n += 1;
            *c = change;
        });
    }

    /// Follows status, clients and exit changes.
    pub fn subscribe_changes(&self) -> watch::Receiver<(u64, Change)> {
        self.changes.subscribe()
    }

    /// The session's id.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// Its name, if it has one.
    pub fn name(&self) -> Option<String> {
        lock(&self.meta).name.clone()
    }

    /// The current status.
    pub fn status(&self) -> SessionStatus {
        lock(&self.meta).status
    }

    /// How it ended, once it has.
    pub fn exit(&self) -> Option<ExitInfo> {
        lock(&self.meta).exit.clone()
    }

    /// True once the program has ended and every byte of output is in.
    pub fn is_ended(&self) -> bool {
        lock(&self.meta).exit.is_some()
    }

    /// Waits until the program has ended.
    pub async fn wait_ended(&self) -> ExitInfo {
        let mut rx = self.changes.subscribe();
        loop {
            if let Some(exit) = self.exit() {
                return exit;
            }
            if rx.changed().await.is_err() {
                // The sender lives in `self`: unreachable while we borrow it.
                std::future::pending::<()>().await;
            }
        }
    }

    /// The program's pid.
    pub fn pid(&self) -> i32 {
        self.pty.pid()
    }

    /// The guard's pid (every process of the session descends from it).
    pub fn guard_pid(&self) -> i32 {
        self.pty.guard_pid()
    }

    /// What ends it early.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The current size.
    pub fn size(&self) -> WindowSize {
        *self.size.borrow()
    }

    /// The window title the program set.
    pub fn title(&self) -> String {
        self.output.title.borrow().clone()
    }

    /// Since when the session exists.
    pub fn age(&self) -> Duration {
        self.created.elapsed()
    }

    /// The session object of the API.
    pub fn info(&self) -> SessionInfo {
        let live = lock(&self.output.state).live();
        let meta = lock(&self.meta);
        let size = self.size();
        SessionInfo {
            id: self.id.to_string(),
            name: meta.name.clone(),
            labels: meta.labels.clone(),
            provider: self.provider.clone(),
            command: self.argv.clone(),
            cwd: self.cwd.display().to_string(),
            pid: Some(self.pty.pid()),
            status: meta.status,
            exit: meta.exit.clone(),
            created_at: rfc3339(self.created_at),
            last_input_at: meta.last_input_at.map(rfc3339),
            last_output_at: self.last_output_at(live).map(rfc3339),
            cols: size.cols,
            rows: size.rows,
            resize_policy: meta.resize_policy,
            clients: meta.clients as u32,
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            bytes_out: live,
            resources: meta.resources.clone(),
            title: Some(self.title()).filter(|t| !t.is_empty()),
            node: self.config.node.clone(),
            agent: self.agent(),
            recording: self.recording.info(),
        }
    }

    /// When the program last wrote, given the live offset `live`.
    fn last_output_at(&self, live: u64) -> Option<OffsetDateTime> {
        let ms = self.output.last_output_ms.load(Ordering::Relaxed);
        // The output's clock starts with the session (a few µs apart).
        (live > 0).then(|| self.created_at + Duration::from_millis(ms))
    }

    /// Milliseconds since creation of the last input or output.
    pub(crate) fn last_io_ms(&self) -> u64 {
        self.last_input_ms
            .load(Ordering::Relaxed)
            .max(self.output.last_output_ms.load(Ordering::Relaxed))
    }

    /// Bytes written to the program, and bytes it wrote.
    pub fn bytes_in_out(&self) -> (u64, u64) {
        (
            self.bytes_in.load(Ordering::Relaxed),
            lock(&self.output.state).live(),
        )
    }

    /// Lag events so far (a client fell behind and was resynchronised).
    pub fn lag_events(&self) -> u64 {
        lock(&self.output.state).lag_events
    }

    /// Changes name, labels or resize policy.
    pub fn update(
        &self,
        name: Option<Option<String>>,
        labels: Option<BTreeMap<String, String>>,
        resize_policy: Option<ResizePolicy>,
    ) {
        let mut meta = lock(&self.meta);
        if let Some(name) = name {
            meta.name = name;
        }
        if let Some(labels) = labels {
            meta.labels = labels;
        }
        if let Some(policy) = resize_policy {
            meta.resize_policy = policy;
        }
        drop(meta);
        self.changed(Change::Status);
    }

    /// Sets the status (`active`/`idle`), unless the session has ended.
    pub(crate) fn set_status(&self, status: SessionStatus) {
        let mut meta = lock(&self.meta);
        if meta.exit.is_some() || meta.status == status {
            return;
        }
        meta.status = status;
        drop(meta);
        self.changed(Change::Status);
    }

    /// Stores a sample of the process tree; true when it differs enough
    /// from the last one for dashboards to hear of it (the first sample, a
    /// process count change, CPU use moving by 1 point or memory by 1 %).
    pub(crate) fn set_sampled(&self, resources: Resources) -> bool {
        let mut meta = lock(&self.meta);
        // Once the session is being ended, the listing keeps what it was
        // ended with (the sample over a limit, say), not its processes
        // dying one by one.
        if meta.ending.is_some() || meta.exit.is_some() {
            return false;
        }
        let old = &meta.resources;
        let notable = old.sampled_at.is_none()
            || old.processes != resources.processes
            || old.threads != resources.threads
            || (old.cpu_percent - resources.cpu_percent).abs() >= 1.0
            || old.rss_bytes.abs_diff(resources.rss_bytes) * 100 > old.rss_bytes;
        meta.resources = resources;
        notable
    }

    /// Writes input to the program, whole and in order; waits while the
    /// program does not read (backpressure). Replies to terminal queries
    /// that the server already answered are dropped (see `replies.rs`).
    pub async fn write_input(&self, data: Bytes) -> Result<(), CoreError> {
        if self.is_ended() {
            return Err(CoreError::Ended);
        }
        let data = self.replies.client_input(data, &self.output).await;
        if data.is_empty() {
            return Ok(());
        }
        let n = data.len() as u64;
        self.pty.input().send(data.clone()).await?;
        self.recording.input(self.age(), data);
        self.bytes_in.fetch_add(n, Ordering::Relaxed);
        self.last_input_ms
            .store(self.created.elapsed().as_millis() as u64, Ordering::Relaxed);
        let now = OffsetDateTime::now_utc();
        lock(&self.meta).last_input_at = Some(now);
        self.set_status(SessionStatus::Active);
        Ok(())
    }

    /// Sends a signal to the terminal's foreground process group.
    pub fn signal(&self, sig: Signal) -> Result<(), CoreError> {
        if self.is_ended() {
            return Err(CoreError::Ended);
        }
        Ok(self.pty.signal_foreground(sig)?)
    }

    /// Sets the size (the API's `/resize`, and `fixed` sessions).
    pub fn resize(&self, size: WindowSize) -> Result<(), CoreError> {
        self.apply_size(size)
    }

    pub(crate) fn apply_size(&self, size: WindowSize) -> Result<(), CoreError> {
        WindowSize::new(size.cols.into(), size.rows.into())
            .map_err(|e| CoreError::Invalid(e.to_string()))?;
        if self.size() == size || self.is_ended() {
            return Ok(());
        }
        self.pty.resize(size)?;
        self.output.resized(size);
        self.size.send_replace(size);
        Ok(())
    }

    /// Ends the session: SIGHUP/SIGTERM to every process of it now, SIGKILL
    /// after the terminate grace. The reason shows in `exit`.
    pub fn terminate(&self, reason: ExitReason) -> Result<(), CoreError> {
        let mut meta = lock(&self.meta);
        if meta.exit.is_some() {
            return Ok(());
        }
        meta.ending.get_or_insert(reason);
        drop(meta);
        Ok(self.pty.terminate()?)
    }

    /// SIGKILL to every process of the session at once.
    pub fn kill(&self, reason: ExitReason) -> Result<(), CoreError> {
        let mut meta = lock(&self.meta);
        if meta.exit.is_some() {
            return Ok(());
        }
        meta.ending.get_or_insert(reason);
        drop(meta);
        Ok(self.pty.kill()?)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Dropping the Pty closes the guard's control pipe, which ends the
        // session's processes; nothing else to do.
        tracing::debug!(id = %self.id, "session dropped");
    }
}
