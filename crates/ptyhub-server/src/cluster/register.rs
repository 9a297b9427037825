//! The heartbeat loop: keeps this node's key alive, registers the node and
//! its running sessions (again, whenever Redis may have lost them), mirrors
//! the registry's events into Redis and publishes them, notices dead nodes,
//! and reconnects with backoff while Redis is unreachable.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ptyhub_core::{Registry, RegistryEvent};
use ptyhub_protocol::api::{ExitInfo, ExitReason, SessionInfo, SessionStatus};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::events::{EVENTS_CHANNEL, RemoteEvent};
use super::{
    Cluster, ClusterError, HEARTBEAT, MAX_BACKOFF, NODE_TTL, NODES_KEY, node_key, owner_key,
    recording_key, sessions_key,
};

/// Runs until `stop`; then removes this node from Redis (its sessions end
/// with it).
pub(super) async fn heartbeat_loop(
    cluster: &Cluster,
    registry: &Arc<Registry>,
    stop: &CancellationToken,
) {
    let mut events = registry.subscribe();
    let mut tick = tokio::time::interval(HEARTBEAT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut backoff = Backoff::default();
    // Redis may not hold every local session: register them all at the
    // next heartbeat.
    let mut dirty = true;
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = tick.tick() => {
                if !cluster.connected() {
                    if !backoff.due() {
                        continue;
                    }
                    if cluster.connect().await.is_err() {
                        backoff.failed();
                        continue;
                    }
                    backoff.reset();
                    dirty = true;
                }
                match heartbeat(cluster, registry, dirty).await {
                    Ok(()) => {
                        dirty = false;
                        cluster.healthy();
                    }
                    Err(e) => {
                        tracing::debug!("cluster heartbeat: {e}");
                        dirty = true;
                        backoff.failed();
                    }
                }
            }
            event = events.recv() => match event {
                Ok(event) => {
                    if !dirty && mirror(cluster, &event).await.is_err() {
                        dirty = true;
                    }
                }
                Err(RecvError::Lagged(_)) => dirty = true,
                Err(RecvError::Closed) => break,
            },
        }
    }
    if cluster.connected()
        && let Err(e) = leave(cluster, registry).await
    {
        tracing::debug!("cluster: leaving: {e}");
    }
}

/// Attempts to reach Redis again: 0.5 s after the first failure, doubling
/// up to [`MAX_BACKOFF`] (so a Redis that is back is seen within one
/// heartbeat plus that).
#[derive(Debug, Default)]
struct Backoff {
    failures: u32,
    next: Option<Instant>,
}

impl Backoff {
    fn due(&self) -> bool {
        self.next.is_none_or(|at| Instant::now() >= at)
    }

    fn failed(&mut self) {
        self.failures = self.failures.saturating_add(1);
        let wait = Duration::from_millis(500)
            .saturating_mul(1 << self.failures.min(8))
            .min(MAX_BACKOFF);
        self.next = Some(Instant::now() + wait);
    }

    fn reset(&mut self) {
        *self = Backoff::default();
    }
}

/// One heartbeat: refreshes the node's key, registers everything when the
/// key was missing (first start, Redis restarted or flushed, the node was
/// taken for dead) or when `dirty`, and looks for dead nodes.
async fn heartbeat(
    cluster: &Cluster,
    registry: &Arc<Registry>,
    dirty: bool,
) -> Result<(), ClusterError> {
    let previous: Option<String> = cluster
        .query(
            redis::cmd("SET")
                .arg(node_key(cluster.node()))
                .arg(cluster.advertise_url())
                .arg("EX")
                .arg(NODE_TTL.as_secs())
                .arg("GET"),
        )
        .await?;
    if previous.is_none() || dirty {
        register_all(cluster, registry).await?;
    }
    notice_dead_nodes(cluster).await
}

/// A local session's object as the cluster shows it: with this node's
/// name.
pub(crate) fn with_node(mut info: SessionInfo, node: &str) -> SessionInfo {
    info.node = Some(node.to_owned());
    info
}

/// Registers the node and every running session in one transaction; the
/// sessions Redis had for this node that it no longer runs are dropped
/// (a node that comes back does not bring them back). At this process's
/// first registration those of them that were running are reported ended
/// (`session_exit`, `node_lost`) first: the node was restarted before the
/// others saw it dead, and its old programs died with it.
async fn register_all(cluster: &Cluster, registry: &Arc<Registry>) -> Result<(), ClusterError> {
    let node = cluster.node();
    let hash = sessions_key(node);
    let old: HashMap<String, String> = cluster.query(redis::cmd("HGETALL").arg(&hash)).await?;
    let local: Vec<SessionInfo> = registry
        .list()
        .iter()
        .map(|s| with_node(s.info(), node))
        .collect();
    let mut pipe = redis::pipe();
    pipe.atomic();
    pipe.cmd("SADD").arg(NODES_KEY).arg(node).ignore();
    pipe.cmd("DEL").arg(&hash).ignore();
    let restarted = !cluster.registered.load(Ordering::Relaxed);
    let mut reported = 0;
    for (id, json) in old
        .iter()
        .filter(|(id, _)| !local.iter().any(|s| &s.id == *id))
    {
        pipe.cmd("DEL").arg(owner_key(id)).ignore();
        // Published as another node would: this node's own subscriber
        // skips its own name, and its streams never had these sessions.
        if restarted && publish_lost(&mut pipe, node, json) {
            reported += 1;
        }
    }
    if reported > 0 {
        tracing::warn!(
            node,
            sessions = reported,
            "cluster: restarted; the sessions of the previous run are reported ended"
        );
    }
    for info in &local {
        pipe.cmd("HSET")
            .arg(&hash)
            .arg(&info.id)
            .arg(serde_json::to_string(info).unwrap_or_default())
            .ignore();
        pipe.cmd("SET").arg(owner_key(&info.id)).arg(node).ignore();
        if info.recording.is_some() {
            pipe.cmd("SET")
                .arg(recording_key(&info.id))
                .arg(node)
                .ignore();
        }
    }
    cluster.query_pipe::<()>(&pipe).await?;
    cluster.registered.store(true, Ordering::Relaxed);
    tracing::info!(
        node,
        sessions = local.len(),
        "cluster: node registered with its sessions"
    );
    Ok(())
}

/// Mirrors one registry event into Redis and publishes it to the other
/// nodes.
async fn mirror(cluster: &Cluster, event: &RegistryEvent) -> Result<(), ClusterError> {
    let node = cluster.node();
    let hash = sessions_key(node);
    let mut pipe = redis::pipe();
    let (name, data) = match event {
        RegistryEvent::Created(info)
        | RegistryEvent::Status(info)
        | RegistryEvent::Exit(info)
        | RegistryEvent::Agent(info)
        | RegistryEvent::Notification { session: info, .. } => {
            let info = with_node(info.clone(), node);
            let json = serde_json::to_value(&info).unwrap_or_default();
            pipe.cmd("HSET")
                .arg(&hash)
                .arg(&info.id)
                .arg(json.to_string())
                .ignore();
            if info.recording.is_some() {
                // Outlives the session: `/api/recordings/{id}` is
                // forwarded here as long as the file may be.
                pipe.cmd("SET")
                    .arg(recording_key(&info.id))
                    .arg(node)
                    .ignore();
            }
            // `data` exactly as `/api/events` sends it for this event.
            match event {
                RegistryEvent::Created(_) => {
                    pipe.cmd("SET").arg(owner_key(&info.id)).arg(node).ignore();
                    ("session_created", json)
                }
                RegistryEvent::Status(_) => ("session_status", json),
                RegistryEvent::Agent(_) => {
                    ("session_agent", serde_json::json!({ "session": json }))
                }
                RegistryEvent::Notification { title, body, .. } => (
                    "session_notification",
                    serde_json::json!({ "session": json, "title": title, "body": body }),
                ),
                _ => ("session_exit", json),
            }
        }
        RegistryEvent::Removed { id } => {
            pipe.cmd("HDEL").arg(&hash).arg(id).ignore();
            pipe.cmd("DEL").arg(owner_key(id)).ignore();
            ("session_removed", serde_json::json!({ "id": id }))
        }
    };
    let message = RemoteEvent::message(node, name, data);
    pipe.cmd("PUBLISH")
        .arg(EVENTS_CHANNEL)
        .arg(message)
        .ignore();
    cluster.query_pipe::<()>(&pipe).await
}

/// Finds the nodes whose key expired. The first node to notice one sets
/// its sessions to be forgotten after `linger` and tells every node's
/// `/api/events` that they ended (`error` / `node_lost`); once they are
/// forgotten the node leaves the set.
async fn notice_dead_nodes(cluster: &Cluster) -> Result<(), ClusterError> {
    let nodes: Vec<String> = cluster.query(redis::cmd("SMEMBERS").arg(NODES_KEY)).await?;
    let others: Vec<&String> = nodes.iter().filter(|n| *n != cluster.node()).collect();
    if others.is_empty() {
        return Ok(());
    }
    let mut pipe = redis::pipe();
    for node in &others {
        pipe.cmd("EXISTS").arg(node_key(node));
    }
    let alive: Vec<bool> = cluster.query_pipe(&pipe).await?;
    for (node, alive) in others.into_iter().zip(alive) {
        if alive {
            continue;
        }
        let hash = sessions_key(node);
        // `NX`: only the first to notice sets the expiry (and reports).
        let first: i64 = cluster
            .query(
                redis::cmd("EXPIRE")
                    .arg(&hash)
                    .arg(cluster.linger.as_secs().max(1))
                    .arg("NX"),
            )
            .await?;
        if first == 1 {
            report_lost(cluster, node).await?;
        } else {
            let exists: bool = cluster.query(redis::cmd("EXISTS").arg(&hash)).await?;
            if !exists {
                cluster
                    .query::<()>(redis::cmd("SREM").arg(NODES_KEY).arg(node))
                    .await?;
            }
        }
    }
    Ok(())
}

/// A dead node's session as the others list it: ended with `node_lost`
/// unless it had ended already.
pub(crate) fn lost(mut info: SessionInfo, node: &str) -> SessionInfo {
    if info.exit.is_none() {
        info.status = SessionStatus::Error;
        info.exit = Some(ExitInfo {
            code: None,
            signal: None,
            reason: ExitReason::NodeLost,
        });
        info.clients = 0;
        // Nobody watches its program any more.
        info.agent = ptyhub_protocol::api::AgentInfo {
            notifications: info.agent.notifications,
            ..Default::default()
        };
    }
    info.node = Some(node.to_owned());
    info
}

/// Publishes a `session_exit` (`node_lost`) for each running session of
/// the dead `node`.
async fn report_lost(cluster: &Cluster, node: &str) -> Result<(), ClusterError> {
    let sessions: Vec<String> = cluster
        .query(redis::cmd("HVALS").arg(sessions_key(node)))
        .await?;
    tracing::warn!(
        node,
        sessions = sessions.len(),
        "cluster: node lost, its sessions are reported ended"
    );
    let mut pipe = redis::pipe();
    for json in &sessions {
        publish_lost(&mut pipe, node, json);
    }
    cluster.query_pipe::<()>(&pipe).await
}

/// Adds to `pipe` a `session_exit` (`error` / `node_lost`) of `node`'s
/// session `json` (its last object in Redis), unless it had ended already
/// (or is not a session object); whether it did.
fn publish_lost(pipe: &mut redis::Pipeline, node: &str, json: &str) -> bool {
    let Ok(info) = serde_json::from_str::<SessionInfo>(json) else {
        return false;
    };
    if info.exit.is_some() {
        return false;
    }
    let data = serde_json::to_value(lost(info, node)).unwrap_or_default();
    pipe.cmd("PUBLISH")
        .arg(EVENTS_CHANNEL)
        .arg(RemoteEvent::message(node, "session_exit", data))
        .ignore();
    true
}

/// A node that shuts down takes its sessions (ended by then) out of Redis.
async fn leave(cluster: &Cluster, registry: &Arc<Registry>) -> Result<(), ClusterError> {
    let node = cluster.node();
    let mut pipe = redis::pipe();
    pipe.atomic();
    for s in registry.list() {
        pipe.cmd("DEL").arg(owner_key(&s.id().to_string())).ignore();
    }
    pipe.cmd("DEL").arg(sessions_key(node)).ignore();
    pipe.cmd("DEL").arg(node_key(node)).ignore();
    pipe.cmd("SREM").arg(NODES_KEY).arg(node).ignore();
    cluster.query_pipe::<()>(&pipe).await
}
