//! Events across nodes: each node publishes its registry's events on the
//! Redis channel [`EVENTS_CHANNEL`] (see the heartbeat loop), and
//! `subscribe` brings the other nodes' into [`Cluster`]'s broadcast,
//! which every `/api/events` stream reads beside the local registry's.
//!
//! A message is `{"node": NAME, "event": "session_status", "data": {...}}`,
//! `data` being exactly what `/api/events` sends as that event's data.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use super::{Cluster, MAX_BACKOFF, REDIS_TIMEOUT};

/// The Redis pub/sub channel of every node's events.
pub const EVENTS_CHANNEL: &str = "ptyhub:events";

/// Another node's event, as `/api/events` sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteEvent {
    /// The SSE event name (`session_created`, `session_status`,
    /// `session_exit`, `session_removed`, or `resync`).
    pub name: String,
    /// Its data: JSON text.
    pub data: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Message {
    node: String,
    event: String,
    data: serde_json::Value,
}

impl RemoteEvent {
    /// The message a node publishes for one of its events.
    pub fn message(node: &str, event: &str, data: serde_json::Value) -> String {
        serde_json::to_string(&Message {
            node: node.to_owned(),
            event: event.to_owned(),
            data,
        })
        .unwrap_or_default()
    }

    /// The event in a message, unless it is `own` node's (those reach
    /// `/api/events` from the local registry) or malformed.
    fn parse(payload: &[u8], own: &str) -> Option<RemoteEvent> {
        let m: Message = serde_json::from_slice(payload).ok()?;
        (m.node != own).then(|| RemoteEvent {
            name: m.event,
            data: m.data.to_string(),
        })
    }
}

/// Subscribes to [`EVENTS_CHANNEL`] until `stop`, again (with backoff)
/// whenever the subscription breaks; after each new subscription the
/// readers are told to `resync` (they may have missed events).
pub(super) async fn subscribe(cluster: Arc<Cluster>, stop: CancellationToken) {
    let mut wait = Duration::from_millis(500);
    loop {
        let subscribed = tokio::time::timeout(REDIS_TIMEOUT, async {
            let mut pubsub = cluster.client.get_async_pubsub().await?;
            pubsub.subscribe(EVENTS_CHANNEL).await?;
            redis::RedisResult::Ok(pubsub)
        })
        .await;
        match subscribed {
            Ok(Ok(mut pubsub)) => {
                wait = Duration::from_millis(500);
                // No reader may be listening yet: nothing to do then.
                let _ = cluster.remote_events.send(RemoteEvent {
                    name: "resync".to_owned(),
                    data: "{}".to_owned(),
                });
                let mut messages = pubsub.on_message();
                loop {
                    tokio::select! {
                        () = stop.cancelled() => return,
                        message = messages.next() => {
                            let Some(message) = message else { break };
                            if let Some(event) = RemoteEvent::parse(message.get_payload_bytes(), cluster.node()) {
                                // Sent to whoever reads now; none is fine.
                                let _ = cluster.remote_events.send(event);
                            }
                        }
                    }
                }
                tracing::debug!("cluster: the event subscription ended; subscribing again");
            }
            Ok(Err(e)) => tracing::debug!("cluster: subscribing to events: {e}"),
            Err(_) => tracing::debug!("cluster: subscribing to events timed out"),
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        wait = (wait * 2).min(MAX_BACKOFF);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_own_events_are_skipped() {
        let text = RemoteEvent::message("b", "session_removed", serde_json::json!({"id": "x"}));
        assert_eq!(
            RemoteEvent::parse(text.as_bytes(), "a"),
            Some(RemoteEvent {
                name: "session_removed".to_owned(),
                data: r#"{"id":"x"}"#.to_owned(),
            })
        );
        assert_eq!(RemoteEvent::parse(text.as_bytes(), "b"), None);
        assert_eq!(RemoteEvent::parse(b"nope", "a"), None);
    }
}
