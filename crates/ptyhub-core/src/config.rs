//! What the core needs to know from the server's options.

use std::time::Duration;

use ptyhub_pty::GuardProgram;

/// Per-session limits and timings (the core's part of the options).
#[derive(Clone, Debug)]
pub struct CoreConfig {
    /// Raw output kept per session, for late joiners and resume.
    pub scrollback_bytes: usize,
    /// Output a client may have pending before the reader stalls for it.
    pub client_queue_bytes: usize,
    /// How long one slow client may stall the reader before it is lagged.
    pub stall_timeout: Duration,
    /// No I/O for this long → status `idle`.
    pub idle_after: Duration,
    /// Limits of sessions whose spec brings none (a provider's own).
    pub limits: Limits,
    /// How often the sessions' process trees are sampled.
    pub sample_interval: Duration,
    /// SIGTERM → SIGKILL delay when a session is ended.
    pub terminate_grace: Duration,
    /// How long an ended session stays listed.
    pub linger: Duration,
    /// Running sessions at most.
    pub max_sessions: usize,
    /// Attached clients per session at most.
    pub max_clients_per_session: usize,
    /// How sessions' programs are guarded.
    pub guard: GuardProgram,
    /// The node's name when several machines form one service: every
    /// session object carries it (`node`); `None` on one machine.
    pub node: Option<String>,
    /// No output for this long → agent state `ready` (from `busy`).
    pub agent_quiet: Duration,
}

impl CoreConfig {
    /// The spec's defaults with the given guard.
    pub fn with_guard(guard: GuardProgram) -> CoreConfig {
        CoreConfig {
            scrollback_bytes: 1 << 20,
            client_queue_bytes: 1 << 20,
            stall_timeout: Duration::from_secs(2),
            idle_after: Duration::from_secs(30),
            limits: Limits::default(),
            sample_interval: Duration::from_secs(1),
            terminate_grace: Duration::from_secs(5),
            linger: Duration::from_secs(300),
            max_sessions: 64,
            max_clients_per_session: 32,
            guard,
            node: None,
            agent_quiet: Duration::from_secs(3),
        }
    }
}

/// What ends a session early; `None` switches a limit off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// No input and no output for this long → terminated (`idle_timeout`).
    pub idle_timeout: Option<Duration>,
    /// Older than this → terminated (`lifetime`).
    pub max_lifetime: Option<Duration>,
    /// Resident memory of the process tree above this → terminated
    /// (`memory_limit`).
    pub memory_limit: Option<u64>,
    /// CPU time of the process tree (the dead ones' included) above this →
    /// terminated (`cpu_limit`).
    pub cpu_limit: Option<Duration>,
    /// More processes than this → terminated (`process_limit`).
    pub max_processes: Option<u64>,
}

impl Default for Limits {
    /// The spec's defaults: 2 h idle timeout, 512 processes, no other limit.
    fn default() -> Limits {
        Limits {
            idle_timeout: Some(Duration::from_secs(2 * 3600)),
            max_lifetime: None,
            memory_limit: None,
            cpu_limit: None,
            max_processes: Some(512),
        }
    }
}
