//! [`Registry`]: every session of one server, by id and by unique name, and
//! the stream of their changes. Made by its owner and shared as an `Arc`;
//! there is no global.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use ptyhub_protocol::api::{ExitReason, SessionInfo};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::output::lock;
use crate::session::{Change, Session, SessionSpec};
use crate::{CoreConfig, CoreError};

/// A change to the set of sessions, for dashboards (`/api/events`).
#[derive(Clone, Debug)]
pub enum RegistryEvent {
    /// A session started.
    Created(SessionInfo),
    /// Its status, clients, title, name or labels changed.
    Status(SessionInfo),
    /// Its program ended.
    Exit(SessionInfo),
    /// Its agent state (busy, waiting, ready) changed.
    Agent(SessionInfo),
    /// Its program sent a terminal notification (OSC 9, 777, 99 or BEL).
    Notification {
        /// The session object.
        session: SessionInfo,
        /// The notification's title (OSC 777), if any.
        title: Option<String>,
        /// Its text, if any (BEL has none).
        body: Option<String>,
    },
    /// An ended session was forgotten after `linger`.
    Removed {
        /// The session's id.
        id: String,
    },
}

/// Events buffered per subscriber before a slow one misses some (it is then
/// told it lagged and re-reads the listing).
const EVENT_BUFFER: usize = 256;

/// Every session of one server.
pub struct Registry {
    sessions: RwLock<HashMap<Uuid, Arc<Session>>>,
    events: broadcast::Sender<RegistryEvent>,
    config: CoreConfig,
    sampler_started: AtomicBool,
    /// Wakes the sampler for a new session.
    sampler_wake: Arc<tokio::sync::Notify>,
    stats: Mutex<Stats>,
    /// A session was forgotten since the heap was last trimmed (the
    /// sampler's next pass trims it, see [`Registry::take_trim_due`]).
    trim_due: AtomicBool,
}

/// Counters over the registry's life, for metrics.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Sessions ended, by reason.
    pub ended: HashMap<ExitReason, u64>,
    /// Passes of the resource sampler.
    pub samples: u64,
    /// Their total CPU time (of the thread doing the pass).
    pub sample_time: Duration,
    /// The last one's CPU time.
    pub last_sample: Duration,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

impl Registry {
    /// An empty registry.
    pub fn new(config: CoreConfig) -> Arc<Registry> {
        Arc::new(Registry {
            sessions: RwLock::new(HashMap::new()),
            events: broadcast::Sender::new(EVENT_BUFFER),
            config,
            sampler_started: AtomicBool::new(false),
            sampler_wake: Arc::new(tokio::sync::Notify::new()),
            stats: Mutex::new(Stats::default()),
            trim_due: AtomicBool::new(false),
        })
    }

    /// Whether sessions were forgotten since the last call: their memory
    /// is then worth giving back to the system.
    pub(crate) fn take_trim_due(&self) -> bool {
        self.trim_due
            .swap(false, std::sync::atomic::Ordering::Relaxed)
    }

    /// The configuration sessions are made with.
    pub fn config(&self) -> &CoreConfig {
        &self.config
    }

    /// Starts a session. Its watcher task (status, idle, limits, linger)
    /// runs on the current tokio runtime.
    pub async fn create(self: &Arc<Self>, spec: SessionSpec) -> Result<Arc<Session>, CoreError> {
        {
            let sessions = read(&self.sessions);
            let running = sessions.values().filter(|s| !s.is_ended()).count();
            if running >= self.config.max_sessions {
                return Err(CoreError::TooManySessions(self.config.max_sessions));
            }
            if let Some(name) = &spec.name
                && name_in_use(sessions.values(), name, None)
            {
                return Err(CoreError::NameTaken(name.clone()));
            }
        }
        let config = self.config.clone();
        let session = tokio::task::spawn_blocking(move || Session::start(spec, config))
            .await
            .map_err(|e| CoreError::Invalid(format!("spawn task failed: {e}")))??;
        write(&self.sessions).insert(session.id(), session.clone());
        self.emit(RegistryEvent::Created(session.info()));
        tokio::spawn(crate::watcher::watch(self.clone(), session.clone()));
        tokio::spawn(crate::agent::task::run(self.clone(), session.clone()));
        if !self.sampler_started.swap(true, Ordering::Relaxed) {
            tokio::spawn(crate::sampler::run(
                Arc::downgrade(self),
                self.config.sample_interval,
                self.sampler_wake.clone(),
            ));
        }
        self.sampler_wake.notify_one();
        Ok(session)
    }

    pub(crate) fn emit(&self, event: RegistryEvent) {
        // No subscriber is not an error: nobody is watching.
        let _ = self.events.send(event);
    }

    pub(crate) fn emit_change(&self, session: &Session, change: Change) {
        let info = session.info();
        self.emit(match change {
            Change::Status => RegistryEvent::Status(info),
            Change::Exit => RegistryEvent::Exit(info),
        });
    }

    /// Counts a session's end (once per session, from its watcher).
    pub(crate) fn record_end(&self, reason: ExitReason) {
        *lock(&self.stats).ended.entry(reason).or_insert(0) += 1;
    }

    /// Counts a pass of the sampler.
    pub(crate) fn record_sample(&self, took: Duration) {
        let mut stats = lock(&self.stats);
        stats.samples += 1;
        stats.sample_time += took;
        stats.last_sample = took;
    }

    /// Counters since the registry was made.
    pub fn stats(&self) -> Stats {
        lock(&self.stats).clone()
    }

    /// Follows session changes.
    pub fn subscribe(&self) -> broadcast::Receiver<RegistryEvent> {
        self.events.subscribe()
    }

    /// A session by id, unique id prefix, or name.
    pub fn get(&self, key: &str) -> Result<Arc<Session>, CoreError> {
        let sessions = read(&self.sessions);
        if let Ok(id) = Uuid::parse_str(key)
            && let Some(s) = sessions.get(&id)
        {
            return Ok(s.clone());
        }
        // A name is unique among running sessions; an ended one that
        // lingers may share it with a newer one, which wins.
        let mut named: Vec<&Arc<Session>> = sessions
            .values()
            .filter(|s| s.name().as_deref() == Some(key))
            .collect();
        named.sort_by_key(|s| (!s.is_ended(), std::cmp::Reverse(s.age())));
        if let Some(s) = named.last() {
            return Ok((*s).clone());
        }
        Err(CoreError::NotFound(key.to_owned()))
    }

    /// Renames a session; `name_taken` when a running session other than
    /// it has that name (an ended one that lingers gives its name up).
    pub fn rename(&self, session: &Session, name: Option<String>) -> Result<(), CoreError> {
        let sessions = read(&self.sessions);
        if let Some(name) = &name
            && name_in_use(sessions.values(), name, Some(session.id()))
        {
            return Err(CoreError::NameTaken(name.clone()));
        }
        session.update(Some(name), None, None);
        Ok(())
    }

    /// Every session, oldest first.
    pub fn list(&self) -> Vec<Arc<Session>> {
        let mut all: Vec<_> = read(&self.sessions).values().cloned().collect();
        all.sort_by_key(|s| std::cmp::Reverse(s.age()));
        all
    }

    /// Asks the sampler's next pass to give the allocator's free memory
    /// back to the system (a session was forgotten, or a client's
    /// connection ended: their memory is free). At most one trim per pass,
    /// whatever the number of calls.
    pub fn trim_soon(&self) {
        self.trim_due
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Forgets a session (its processes end when the last handle goes).
    pub fn remove(&self, id: Uuid) -> Option<Arc<Session>> {
        let removed = write(&self.sessions).remove(&id);
        if removed.is_some() {
            self.trim_soon();
            self.emit(RegistryEvent::Removed { id: id.to_string() });
        }
        removed
    }

    /// SIGKILL to every session's processes at once.
    pub fn kill_all(&self, reason: ExitReason) {
        for s in self.list() {
            if let Err(e) = s.kill(reason) {
                tracing::warn!(id = %s.id(), "kill: {e}");
            }
        }
    }

    /// Ends every session with `reason` and waits until all have ended or
    /// `deadline` passes; then SIGKILLs what is left.
    pub async fn shutdown(&self, reason: ExitReason, deadline: std::time::Duration) {
        let sessions = self.list();
        for s in &sessions {
            if let Err(e) = s.terminate(reason) {
                tracing::warn!(id = %s.id(), "terminate at shutdown: {e}");
            }
        }
        let all_ended = futures_join(sessions.iter().map(|s| s.wait_ended()));
        if tokio::time::timeout(deadline, all_ended).await.is_err() {
            self.kill_all(reason);
        }
    }
}

async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    for f in set {
        f.await;
    }
}

/// Whether a running session other than `except` is named `name`.
fn name_in_use<'a>(
    sessions: impl Iterator<Item = &'a Arc<Session>>,
    name: &str,
    except: Option<Uuid>,
) -> bool {
    sessions
        .filter(|s| Some(s.id()) != except && !s.is_ended())
        .any(|s| s.name().as_deref() == Some(name))
}
