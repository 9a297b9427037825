//! `session_preview` events of the other nodes' sessions, for a
//! `GET /api/events?preview_lines=N` stream on this node.
//!
//! Previews are made where the screens are: the answering node opens the
//! same route on each live node, marked forwarded (a node answers a
//! forwarded one with its own sessions' previews only, see
//! `routes::reads::events`), and passes their events on. One connection
//! per live node per such stream: opened when the stream starts or a node
//! appears (the live nodes are looked up every [`NODES_EVERY`]), closed
//! when the stream ends or the node is gone; a broken one is opened again
//! at the next look. Nothing is published through Redis, so previews cost
//! nothing while no dashboard asks for them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use eventsource_stream::Eventsource;
use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;
use tokio_util::task::AbortOnDropHandle;
use warp::http::HeaderMap;

use super::events::RemoteEvent;
use super::{Cluster, REDIS_TIMEOUT};

/// How often a preview stream looks for nodes that came or went.
pub const NODES_EVERY: Duration = Duration::from_secs(5);

/// Previews passed on before the slowest reader holds the nodes' back.
const QUEUE: usize = 64;

/// The other live nodes' `session_preview` events for one stream, with
/// `lines` lines each; the caller's `headers` carry its credentials. The
/// connections end when the returned stream is dropped.
pub fn stream(
    cluster: Arc<Cluster>,
    headers: HeaderMap,
    base_path: String,
    lines: usize,
) -> impl Stream<Item = RemoteEvent> + Send + 'static {
    let (tx, mut rx) = mpsc::channel(QUEUE);
    let path = format!("{base_path}/api/events?preview_lines={lines}");
    let follow = AbortOnDropHandle::new(tokio::spawn(follow(cluster, headers, path, tx)));
    futures::stream::poll_fn(move |cx| {
        // Owned by the stream: dropping the stream stops the follower.
        let _ = &follow;
        rx.poll_recv(cx)
    })
}

/// Keeps one reader per live node until `tx`'s receiver is gone.
async fn follow(
    cluster: Arc<Cluster>,
    headers: HeaderMap,
    path: String,
    tx: mpsc::Sender<RemoteEvent>,
) {
    let mut readers: HashMap<String, (String, AbortOnDropHandle<()>)> = HashMap::new();
    let mut look = tokio::time::interval(NODES_EVERY);
    look.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = tx.closed() => return,
            _ = look.tick() => {}
        }
        // Redis unreachable: the readers already open go on.
        let Ok(others) = cluster.others().await else {
            continue;
        };
        let live: HashMap<String, String> = others
            .into_iter()
            .filter_map(|(node, url)| Some((node, url?)))
            .collect();
        readers.retain(|node, (url, reader)| live.get(node) == Some(url) && !reader.is_finished());
        for (node, url) in live {
            if readers.contains_key(&node) {
                continue;
            }
            let uri = format!("{url}{path}");
            let reader = read(
                cluster.clone(),
                node.clone(),
                uri,
                headers.clone(),
                tx.clone(),
            );
            readers.insert(node, (url, AbortOnDropHandle::new(tokio::spawn(reader))));
        }
    }
}

/// Passes one node's `session_preview` events to `tx` until its stream
/// ends or breaks (logged; the next look opens it again).
async fn read(
    cluster: Arc<Cluster>,
    node: String,
    uri: String,
    headers: HeaderMap,
    tx: mpsc::Sender<RemoteEvent>,
) {
    let request = match cluster.forwarded_get(&uri, &headers) {
        Ok(request) => request,
        Err(e) => {
            tracing::debug!("previews of node {node}: {e}");
            return;
        }
    };
    let response = match tokio::time::timeout(REDIS_TIMEOUT, cluster.http.request(request)).await {
        Ok(Ok(response)) if response.status().is_success() => response,
        Ok(Ok(response)) => {
            tracing::debug!("previews of node {node}: answered {}", response.status());
            return;
        }
        Ok(Err(e)) => {
            tracing::debug!("previews of node {node}: {e}");
            return;
        }
        Err(_) => {
            tracing::debug!("previews of node {node}: no answer in time");
            return;
        }
    };
    let mut events = http_body_util::BodyDataStream::new(response.into_body()).eventsource();
    while let Some(event) = events.next().await {
        match event {
            Ok(e) if e.event == "session_preview" => {
                let event = RemoteEvent {
                    name: e.event,
                    data: e.data,
                };
                if tx.send(event).await.is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::debug!("previews of node {node}: {e}");
                return;
            }
        }
    }
}
