//! [`Server`]: the library face of `ptyhub serve`. `main` only builds the
//! options, makes a server and serves it on a listener with a shutdown
//! future; tests start many on `127.0.0.1:0` in one process.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ptyhub_core::{CoreConfig, Supervisor};
use ptyhub_protocol::api::ExitReason;
use ptyhub_pty::GuardProgram;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::AuthPolicy;
use crate::options::Options;
use crate::providers::Providers;
use crate::state::{AppState, Counters};

/// One server: its registry, providers and checks.
#[derive(Debug)]
pub struct Server {
    state: Arc<AppState>,
}

impl Server {
    /// A server for `options`, with `token` the resolved token (`None`
    /// under `--no-auth`) and `guard` how sessions' guards are started.
    pub fn new(options: Options, token: Option<String>, guard: GuardProgram) -> Server {
        let mut core = CoreConfig::with_guard(guard);
        core.scrollback_bytes = options.scrollback_bytes;
        core.client_queue_bytes = options.client_queue_bytes;
        core.stall_timeout = options.stall_timeout;
        core.idle_after = options.idle_after;
        core.limits = options.limits();
        core.sample_interval = options.sample_interval;
        core.terminate_grace = options.terminate_grace;
        core.linger = options.linger;
        core.max_sessions = options.max_sessions;
        core.max_clients_per_session = options.max_clients_per_session;
        core.node = options.cluster.as_ref().map(|c| c.node.clone());
        core.agent_quiet = options.agent_quiet;
        let providers = Providers::from_options(&options, std::env::var_os("PATH").as_deref());
        providers.prefetch_versions();
        let cluster = options.cluster.clone().and_then(|c| {
            crate::cluster::Cluster::new(c, options.linger, token.as_deref())
                .map(Arc::new)
                .map_err(|e| tracing::error!("cluster: {e}"))
                .ok()
        });
        let policy = Arc::new(AuthPolicy::new(&options, token));
        let supervisor = Supervisor::new(core);
        Server {
            state: Arc::new(AppState {
                registry: supervisor.registry().clone(),
                supervisor,
                providers,
                policy,
                options,
                shutdown: CancellationToken::new(),
                tasks: TaskTracker::new(),
                counters: Counters::default(),
                cluster,
                hooks: crate::hook::HookSetup::detect(),
            }),
        }
    }

    /// What starts and ends the sessions.
    pub fn supervisor(&self) -> &Arc<Supervisor> {
        &self.state.supervisor
    }

    /// Serves on `listener` until `shutdown` completes; then stops
    /// accepting, ends every session (reason `shutdown`: each client gets
    /// its `exit` and a close frame), waits at most `terminate_grace` plus a
    /// margin, and returns.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        self.serve_all(vec![listener.into()], shutdown).await
    }

    /// [`Server::serve`] on several listeners at once (the sockets systemd
    /// passed, see [`crate::activation`]).
    pub async fn serve_all(
        self,
        listeners: Vec<crate::accept::Listener>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let state = self.state.clone();
        // Sessions call their hook route on the first TCP listener (the
        // `ptyhub` client speaks HTTP over TCP only), under `base_path`.
        let tcp = listeners.iter().find_map(|l| match l {
            crate::accept::Listener::Tcp(l) => l.local_addr().ok(),
            crate::accept::Listener::Unix(_) => None,
        });
        if let Some(addr) = tcp {
            let base = &state.options.base_path;
            let _ = state.hooks.url.set(format!("http://{addr}{base}"));
        }
        let routes = crate::routes::routes(state.clone());
        let connections = TaskTracker::new();
        let reaper = tokio::spawn(crate::reaping::reap_escapees(state.clone()));
        let cluster_stop = CancellationToken::new();
        let cluster = state.cluster.clone().map(|cluster| {
            tokio::spawn(crate::cluster::run(
                cluster,
                state.registry.clone(),
                cluster_stop.clone(),
            ))
        });
        let stop = CancellationToken::new();
        let trusted: std::sync::Arc<[ipnet::IpNet]> = state.options.trusted_proxies.clone().into();
        let tls = state
            .options
            .tls
            .as_ref()
            .map(crate::tls::TlsFiles::acceptor);
        let accepting = listeners.into_iter().map(|listener| {
            crate::accept::accept_until(
                listener,
                routes.clone(),
                state.policy.clone(),
                trusted.clone(),
                tls.clone(),
                stop.clone().cancelled_owned(),
                connections.clone(),
            )
        });
        let all = futures::future::join_all(accepting);
        tokio::select! {
            _ = all => {}
            () = shutdown => stop.cancel(),
        }
        // The listener is closed: end every session; each socket sends its
        // client the exit and a close frame.
        tracing::info!("shutting down: ending every session");
        let grace = state.options.terminate_grace + Duration::from_secs(1);
        state.supervisor.shutdown(ExitReason::Shutdown, grace).await;
        state.shutdown.cancel();
        // The sessions have ended: the node leaves the cluster.
        cluster_stop.cancel();
        if let Some(cluster) = cluster
            && tokio::time::timeout(crate::cluster::REDIS_TIMEOUT * 2, cluster)
                .await
                .is_err()
        {
            tracing::debug!("the node did not leave the cluster in time");
        }
        state.tasks.close();
        connections.close();
        let deadline = Duration::from_secs(2);
        if tokio::time::timeout(deadline, state.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("some WebSocket loops did not finish in time");
        }
        if tokio::time::timeout(deadline, reaper).await.is_err() {
            tracing::debug!("the last sweep for escaped processes did not finish in time");
        }
        if tokio::time::timeout(deadline, connections.wait())
            .await
            .is_err()
        {
            tracing::debug!("some connections were still open at exit");
        }
        Ok(())
    }
}
