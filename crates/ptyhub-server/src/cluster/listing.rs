//! `GET /api/sessions` across the nodes: this node's sessions, each live
//! node's (asked over HTTP, in parallel, each within [`REDIS_TIMEOUT`],
//! with the caller's credentials), and each dead node's last known ones as
//! `error` / `node_lost`. Redis unreachable → this node's only.

use http_body_util::BodyExt;
use ptyhub_protocol::api::{SessionInfo, SessionList};
use warp::http::{HeaderMap, HeaderName, Request, header};

use super::forward::FORWARDED;
use super::register::{lost, with_node};
use super::{Cluster, ClusterError, NODES_KEY, REDIS_TIMEOUT, node_key, sessions_key};

/// The headers a listing request takes from the caller's.
const PASSED: [header::HeaderName; 4] = [
    header::AUTHORIZATION,
    header::COOKIE,
    header::HOST,
    header::ORIGIN,
];

/// A listing of at most this many bytes is read from another node.
const MAX_LISTING_BYTES: usize = 64 << 20;

impl Cluster {
    /// Every live node's sessions and the dead ones' last known, after
    /// `local` (this node's). `base_path` is the nodes' shared prefix.
    pub async fn list(
        &self,
        local: Vec<SessionInfo>,
        headers: &HeaderMap,
        base_path: &str,
    ) -> Vec<SessionInfo> {
        let mut all: Vec<SessionInfo> = local
            .into_iter()
            .map(|s| with_node(s, self.node()))
            .collect();
        if headers.contains_key(FORWARDED) {
            return all;
        }
        let others = match self.others().await {
            Ok(others) => others,
            Err(e) => {
                tracing::debug!("listing this node's sessions only: {e}");
                return all;
            }
        };
        let asks = others.into_iter().map(|(node, url)| async move {
            match url {
                Some(url) => match self.ask(&node, &url, headers, base_path).await {
                    Ok(list) => list,
                    Err(e) => {
                        tracing::debug!("listing: {e}; its last known sessions instead");
                        self.known(&node).await
                    }
                },
                None => self
                    .known(&node)
                    .await
                    .into_iter()
                    .map(|s| lost(s, &node))
                    .collect(),
            }
        });
        for list in futures::future::join_all(asks).await {
            all.extend(list);
        }
        all
    }

    /// The other nodes Redis knows, each with its URL when alive.
    async fn others(&self) -> Result<Vec<(String, Option<String>)>, ClusterError> {
        let mut nodes: Vec<String> = self.query(redis::cmd("SMEMBERS").arg(NODES_KEY)).await?;
        nodes.retain(|n| n != self.node());
        nodes.sort();
        if nodes.is_empty() {
            return Ok(Vec::new());
        }
        let mut get = redis::cmd("MGET");
        for node in &nodes {
            get.arg(node_key(node));
        }
        let urls: Vec<Option<String>> = self.query(&get).await?;
        Ok(nodes.into_iter().zip(urls).collect())
    }

    /// A node's last known sessions, as its hash in Redis holds them.
    async fn known(&self, node: &str) -> Vec<SessionInfo> {
        let json: Vec<String> = self
            .query(redis::cmd("HVALS").arg(sessions_key(node)))
            .await
            .unwrap_or_default();
        json.iter()
            .filter_map(|j| serde_json::from_str(j).ok())
            .collect()
    }

    /// A live node's own listing.
    async fn ask(
        &self,
        node: &str,
        url: &str,
        headers: &HeaderMap,
        base_path: &str,
    ) -> Result<Vec<SessionInfo>, ClusterError> {
        let failed = |message: String| ClusterError::Node {
            node: node.to_owned(),
            message,
        };
        let mut request = Request::get(format!("{url}{base_path}/api/sessions"));
        for name in PASSED {
            if let Some(value) = headers.get(&name) {
                request = request.header(name, value);
            }
        }
        if let Ok(me) = self.node().parse::<header::HeaderValue>() {
            request = request.header(HeaderName::from_static(FORWARDED), me);
        }
        let empty = http_body_util::Empty::new().map_err(|e| match e {});
        let request = request
            .body(BodyExt::boxed_unsync(empty))
            .map_err(|e| failed(e.to_string()))?;
        let read = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| failed(e.to_string()))?;
            if !response.status().is_success() {
                return Err(failed(format!("answered {}", response.status())));
            }
            let body = http_body_util::Limited::new(response.into_body(), MAX_LISTING_BYTES)
                .collect()
                .await
                .map_err(|e| failed(e.to_string()))?
                .to_bytes();
            let list: SessionList =
                serde_json::from_slice(&body).map_err(|e| failed(e.to_string()))?;
            Ok(list.sessions)
        };
        tokio::time::timeout(REDIS_TIMEOUT, read)
            .await
            .unwrap_or_else(|_| Err(failed("no answer in time".to_owned())))
    }
}
