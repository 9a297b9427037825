//! What every route and socket shares: the supervisor and its registry, the providers, the
//! auth policy, the options and the shutdown tree. Made once per server.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use ptyhub_core::{Registry, Supervisor};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::AuthPolicy;
use crate::options::Options;
use crate::providers::Providers;

/// Shared state of one server.
pub struct AppState {
    /// Starts sessions and watches their time and resources.
    pub supervisor: Arc<Supervisor>,
    /// Every session and the bus of their changes (the supervisor's).
    pub registry: Arc<Registry>,
    /// What can be started.
    pub providers: Providers,
    /// Host, origin and token checks.
    pub policy: Arc<AuthPolicy>,
    /// The validated options.
    pub options: Options,
    /// Cancelled when the server shuts down: WebSocket loops and event
    /// streams close themselves.
    pub shutdown: CancellationToken,
    /// Every WebSocket loop, awaited (with a deadline) at shutdown.
    pub tasks: TaskTracker,
    /// Counters for `/metrics`.
    pub counters: Counters,
    /// `[cluster]`: this node's handle on the others; `None` on one
    /// machine.
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
    /// The server's URL and the `ptyhub hook` program, for sessions.
    pub hooks: crate::hook::HookSetup,
}

/// Server-wide counters (monotonic).
#[derive(Debug, Default)]
pub struct Counters {
    /// WebSocket connections accepted.
    pub ws_connections: AtomicU64,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}
