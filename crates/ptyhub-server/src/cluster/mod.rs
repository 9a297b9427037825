//! Several machines as one service (`[cluster]`): [`Cluster`] is this
//! node's handle on Redis (or Valkey), the nodes' shared registry and bus.
//!
//! What Redis holds (every key under `ptyhub:`):
//!
//! - `node:{NAME}` → the node's `advertise_url`, set every
//!   [`HEARTBEAT`] with an expiry of [`NODE_TTL`]: a node whose key is gone
//!   is dead;
//! - `nodes` → the set of node names ever registered (pruned once a dead
//!   node's sessions are forgotten);
//! - `owner:{ID}` → the name of the node that runs session `ID`;
//! - `recording:{ID}` → the name of the node that holds session `ID`'s
//!   recording (no expiry: `/api/recordings/{ID}` is forwarded there);
//! - `sessions:{NAME}` → a hash, session id → its last session object
//!   (JSON), kept so that a dead node's sessions can still be listed (as
//!   `error` / `node_lost`, until `linger` after it was found dead).
//!
//! Events go out on the channel `ptyhub:events` (see [`events`]).
//!
//! Every Redis call is bounded by [`REDIS_TIMEOUT`]: a request never waits
//! on Redis longer. When Redis is unreachable the node is *degraded*: it
//! serves its own sessions only, and the [`run`] task
//! reconnects with backoff and registers the node and its sessions again.
//! Without `[cluster]` none of this exists: no Redis, no task.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ptyhub_core::Registry;
use redis::aio::MultiplexedConnection;
use tokio_util::sync::CancellationToken;
use warp::http::{HeaderMap, HeaderValue, header};

use crate::options::ClusterOptions;

pub mod events;
pub mod forward;
pub mod listing;
pub mod previews;
mod register;

/// How often a node refreshes its key.
pub const HEARTBEAT: Duration = Duration::from_secs(2);
/// How long a node's key outlives its last heartbeat.
pub const NODE_TTL: Duration = Duration::from_secs(10);
/// The longest any Redis call (connecting included) may take.
pub const REDIS_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest wait between two attempts to reach Redis again.
pub const MAX_BACKOFF: Duration = Duration::from_secs(4);

/// Why a cluster operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClusterError {
    /// Redis could not be reached, or answered with an error.
    #[error("redis: {0}")]
    Redis(String),
    /// Redis did not answer within [`REDIS_TIMEOUT`].
    #[error("redis did not answer within {} s", REDIS_TIMEOUT.as_secs())]
    Timeout,
    /// Another node could not be reached.
    #[error("node {node}: {message}")]
    Node {
        /// The node's name.
        node: String,
        /// What went wrong.
        message: String,
    },
}

/// The Redis key of a node's heartbeat.
pub(crate) fn node_key(node: &str) -> String {
    format!("ptyhub:node:{node}")
}
/// The set of every registered node.
pub(crate) const NODES_KEY: &str = "ptyhub:nodes";
/// The Redis key of a session's owner.
pub(crate) fn owner_key(id: &str) -> String {
    format!("ptyhub:owner:{id}")
}
/// The Redis key of the node that holds session `ID`'s recording (no
/// expiry: the file outlives the session).
pub(crate) fn recording_key(id: &str) -> String {
    format!("ptyhub:recording:{id}")
}
/// The hash of a node's sessions.
pub(crate) fn sessions_key(node: &str) -> String {
    format!("ptyhub:sessions:{node}")
}

/// This node's handle on the cluster. Made once per server, shared as an
/// `Arc`.
pub struct Cluster {
    options: ClusterOptions,
    client: redis::Client,
    /// The connection, `None` while Redis is unreachable. Lock rule: held
    /// only to clone or replace it, never across an `.await`.
    conn: Mutex<Option<MultiplexedConnection>>,
    /// Why the node is degraded (`None` when Redis answers). Same lock
    /// rule.
    degraded: Mutex<Option<String>>,
    /// To the other nodes: forwarded requests and listings.
    pub(crate) http: forward::HttpClient,
    /// How long ended sessions stay listed: a dead node's too.
    pub(crate) linger: Duration,
    /// `Bearer <token>`, the nodes' shared token (`None` under
    /// `--no-auth`): what a request this node has authorised carries to
    /// another node in place of the caller's credential (a browser's login
    /// secret is valid only on the node that issued it).
    credential: Option<HeaderValue>,
    /// Whether this process has registered the node once (its first
    /// registration reports the previous run's sessions lost).
    pub(crate) registered: AtomicBool,
    /// Other nodes' events, for `/api/events`.
    pub(crate) remote_events: tokio::sync::broadcast::Sender<events::RemoteEvent>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("node", &self.options.node)
            .field("advertise_url", &self.options.advertise_url)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// A handle for `options` (`linger` as the server's, `token` the
    /// nodes' shared token); nothing is contacted until [`run`].
    pub fn new(
        options: ClusterOptions,
        linger: Duration,
        token: Option<&str>,
    ) -> Result<Cluster, ClusterError> {
        // A token is visible ASCII (checked at start): always a header.
        let credential = token
            .and_then(|t| HeaderValue::from_str(&format!("Bearer {t}")).ok())
            .map(|mut value| {
                value.set_sensitive(true);
                value
            });
        let client = redis::Client::open(options.redis_url.as_str())
            .map_err(|e| ClusterError::Redis(e.to_string()))?;
        Ok(Cluster {
            options,
            client,
            conn: Mutex::new(None),
            degraded: Mutex::new(Some("not connected yet".to_owned())),
            http: forward::http_client(),
            linger,
            credential,
            registered: AtomicBool::new(false),
            // Other nodes' events buffered per `/api/events` reader before
            // a slow one lags (and is told to re-read the listing), as the
            // registry's own.
            remote_events: tokio::sync::broadcast::channel(256).0,
        })
    }

    /// Puts the nodes' shared token in `headers` in place of the caller's
    /// credential (its `Authorization` and cookies), for a request this
    /// node has authorised and passes on. `?token=` in a URI is left: it
    /// is the same token.
    pub(crate) fn vouch(&self, headers: &mut HeaderMap) {
        headers.remove(header::COOKIE);
        match &self.credential {
            Some(value) => headers.insert(header::AUTHORIZATION, value.clone()),
            None => headers.remove(header::AUTHORIZATION),
        };
    }

    /// This node's name.
    pub fn node(&self) -> &str {
        &self.options.node
    }

    /// How the other nodes reach this one.
    pub fn advertise_url(&self) -> &str {
        &self.options.advertise_url
    }

    /// Why this node is degraded (Redis unreachable), `None` when it is
    /// not.
    pub fn degraded(&self) -> Option<String> {
        lock(&self.degraded).clone()
    }

    fn set_degraded(&self, why: Option<String>) {
        let mut d = lock(&self.degraded);
        match (&*d, &why) {
            (None, Some(why)) => tracing::warn!("cluster degraded: {why}"),
            (Some(_), None) => tracing::info!("cluster: connected to redis"),
            _ => {}
        }
        *d = why;
    }

    /// Runs one Redis command within [`REDIS_TIMEOUT`]. A failure drops
    /// the connection and marks the node degraded; the heartbeat loop
    /// reconnects.
    pub(crate) async fn query<T: redis::FromRedisValue>(
        &self,
        cmd: &redis::Cmd,
    ) -> Result<T, ClusterError> {
        let mut conn = self.connection()?;
        let result = bounded(cmd.query_async(&mut conn)).await;
        self.check(result)
    }

    /// [`Cluster::query`] for a pipeline (`MULTI`/`EXEC` when atomic).
    pub(crate) async fn query_pipe<T: redis::FromRedisValue>(
        &self,
        pipe: &redis::Pipeline,
    ) -> Result<T, ClusterError> {
        let mut conn = self.connection()?;
        let result = bounded(pipe.query_async(&mut conn)).await;
        self.check(result)
    }

    fn connection(&self) -> Result<MultiplexedConnection, ClusterError> {
        lock(&self.conn)
            .clone()
            .ok_or_else(|| ClusterError::Redis(self.degraded().unwrap_or_default()))
    }

    fn check<T>(&self, result: Result<T, ClusterError>) -> Result<T, ClusterError> {
        if let Err(e) = &result {
            // The connection is made again by the heartbeat loop.
            *lock(&self.conn) = None;
            self.set_degraded(Some(e.to_string()));
        }
        result
    }

    /// Connects to Redis (within [`REDIS_TIMEOUT`]).
    pub(crate) async fn connect(&self) -> Result<(), ClusterError> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT));
        let conn = bounded(
            self.client
                .get_multiplexed_async_connection_with_config(&config),
        )
        .await;
        match conn {
            Ok(conn) => {
                *lock(&self.conn) = Some(conn);
                Ok(())
            }
            Err(e) => {
                self.set_degraded(Some(e.to_string()));
                Err(e)
            }
        }
    }

    /// Whether a connection is held.
    pub(crate) fn connected(&self) -> bool {
        lock(&self.conn).is_some()
    }

    /// Marks the node healthy (called after a successful heartbeat).
    pub(crate) fn healthy(&self) {
        self.set_degraded(None);
    }
}

/// A mutex whose poisoning is ignored: the data is a plain value.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs `what` on a connection within [`REDIS_TIMEOUT`].
async fn bounded<T>(
    what: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, ClusterError> {
    match tokio::time::timeout(REDIS_TIMEOUT, what).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(ClusterError::Redis(e.to_string())),
        Err(_) => Err(ClusterError::Timeout),
    }
}

/// Runs the cluster's background work until `stop`: heartbeats,
/// registration, mirroring `registry`'s events into Redis, and other
/// nodes' events in.
pub async fn run(cluster: Arc<Cluster>, registry: Arc<Registry>, stop: CancellationToken) {
    let events_in = tokio::spawn(events::subscribe(cluster.clone(), stop.clone()));
    register::heartbeat_loop(&cluster, &registry, &stop).await;
    if tokio::time::timeout(REDIS_TIMEOUT, events_in)
        .await
        .is_err()
    {
        tracing::debug!("cluster: the event subscriber did not stop in time");
    }
}
