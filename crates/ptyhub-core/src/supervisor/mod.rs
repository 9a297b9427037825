//! [`Supervisor`]: starts sessions into the [`Registry`] and runs what
//! watches them — one timer task per session (status, idle, limits in time,
//! linger; [`timers`]), its agent-state task ([`crate::agent`]) and one
//! sampler for all of them (processes, memory, CPU; [`sampler`]).
//!
//! The calls go one way: the supervisor and its tasks read the registry's
//! map and publish on its bus; the registry calls nobody. The supervisor
//! wakes the sampler for a new session; the sampler sees forgotten ones by
//! itself (listed at its last pass, gone now), so it does not follow the
//! bus, which its own status events would flood.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ptyhub_protocol::api::ExitReason;
use tokio::sync::Notify;

use crate::output::lock;
use crate::registry::Registry;
use crate::session::{Session, SessionSpec};
use crate::{CoreConfig, CoreError};

pub(crate) mod sampler;
mod timers;

/// Counters over the supervisor's life, for metrics.
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

/// What the supervisor's tasks share with it: the counters, and what the
/// sampler is told.
#[derive(Debug, Default)]
pub(crate) struct Books {
    stats: Mutex<Stats>,
    /// A client's connection ended since the heap was last trimmed.
    trim_due: AtomicBool,
    /// A session was created: the sampler looks at it soon.
    pub(crate) new_session: Notify,
}

impl Books {
    /// Counts a session's end (once per session, from its timer task).
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

    /// Whether a trim was asked for since the last call.
    pub(crate) fn take_trim_due(&self) -> bool {
        self.trim_due.swap(false, Ordering::Relaxed)
    }
}

/// Starts, watches and ends the sessions of one server.
pub struct Supervisor {
    registry: Arc<Registry>,
    config: CoreConfig,
    books: Arc<Books>,
    sampler_started: AtomicBool,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor").finish_non_exhaustive()
    }
}

impl Supervisor {
    /// A supervisor over an empty registry. Its tasks start with the first
    /// session, on the tokio runtime that creates it.
    pub fn new(config: CoreConfig) -> Arc<Supervisor> {
        Arc::new(Supervisor {
            registry: Registry::new(),
            config,
            books: Arc::default(),
            sampler_started: AtomicBool::new(false),
        })
    }

    /// The sessions and the bus of their changes.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The configuration sessions are made with.
    pub fn config(&self) -> &CoreConfig {
        &self.config
    }

    /// Starts a session and its timer and agent-state tasks on the current
    /// tokio runtime.
    pub async fn create(&self, spec: SessionSpec) -> Result<Arc<Session>, CoreError> {
        self.registry
            .check_room(self.config.max_sessions, spec.name.as_deref())?;
        if !self.sampler_started.swap(true, Ordering::Relaxed) {
            tokio::spawn(sampler::run(
                Arc::downgrade(&self.registry),
                self.books.clone(),
                self.config.sample_interval,
            ));
        }
        let config = self.config.clone();
        let session = tokio::task::spawn_blocking(move || Session::start(spec, config))
            .await
            .map_err(|e| CoreError::Invalid(format!("spawn task failed: {e}")))??;
        self.registry.insert(session.clone());
        self.books.new_session.notify_one();
        tokio::spawn(timers::run(
            self.registry.clone(),
            self.books.clone(),
            session.clone(),
        ));
        tokio::spawn(crate::agent::task::run(
            self.registry.clone(),
            session.clone(),
        ));
        Ok(session)
    }

    /// Counters since the supervisor was made.
    pub fn stats(&self) -> Stats {
        lock(&self.books.stats).clone()
    }

    /// Asks the sampler's next pass to give the allocator's free memory
    /// back to the system (a client's connection ended: its buffers are
    /// free; the sampler sees forgotten sessions by itself). At most one
    /// trim per pass, whatever the number of calls.
    pub fn trim_soon(&self) {
        self.books.trim_due.store(true, Ordering::Relaxed);
    }

    /// SIGKILL to every session's processes at once.
    pub fn kill_all(&self, reason: ExitReason) {
        for s in self.registry.list() {
            if let Err(e) = s.kill(reason) {
                tracing::warn!(id = %s.id(), "kill: {e}");
            }
        }
    }

    /// Ends every session with `reason` and waits until all have ended or
    /// `deadline` passes; then SIGKILLs what is left.
    pub async fn shutdown(&self, reason: ExitReason, deadline: Duration) {
        let sessions = self.registry.list();
        for s in &sessions {
            if let Err(e) = s.terminate(reason) {
                tracing::warn!(id = %s.id(), "terminate at shutdown: {e}");
            }
        }
        let all_ended = async {
            for s in &sessions {
                s.wait_ended().await;
            }
        };
        if tokio::time::timeout(deadline, all_ended).await.is_err() {
            self.kill_all(reason);
        }
    }
}
