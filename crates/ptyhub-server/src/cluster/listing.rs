//! Listings across the nodes. `GET /api/sessions`: this node's sessions,
//! each live node's (asked over HTTP, in parallel, each within
//! [`REDIS_TIMEOUT`], with the caller's credentials), and each dead node's
//! last known ones as `error` / `node_lost`. `GET /api/recordings`: this
//! node's files and each live node's (a dead node's files are on its disk,
//! out of reach). Redis unreachable → this node's only.

use http_body_util::BodyExt;
use ptyhub_protocol::api::{RecordingEntry, RecordingList, SessionInfo, SessionList};
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use warp::http::{HeaderMap, HeaderName, Request, header};

use super::forward::{FORWARDED, ForwardBody};
use super::register::{lost, with_node};
use super::{Cluster, ClusterError, NODES_KEY, REDIS_TIMEOUT, node_key, sessions_key};

/// The headers a request to another node takes from the caller's (its
/// credential is replaced by the nodes' token: [`Cluster::vouch`]).
const PASSED: [header::HeaderName; 2] = [header::HOST, header::ORIGIN];

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
                Some(url) => match self
                    .ask::<SessionList>(&node, &url, headers, &format!("{base_path}/api/sessions"))
                    .await
                {
                    Ok(list) => list.sessions,
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

    /// Every live node's recordings with `local` (this node's), newest
    /// first. A node that does not answer is left out (logged).
    pub async fn list_recordings(
        &self,
        local: Vec<RecordingEntry>,
        headers: &HeaderMap,
        base_path: &str,
    ) -> Vec<RecordingEntry> {
        let mut all = local;
        if headers.contains_key(FORWARDED) {
            return all;
        }
        let others = match self.others().await {
            Ok(others) => others,
            Err(e) => {
                tracing::debug!("listing this node's recordings only: {e}");
                return all;
            }
        };
        let path = format!("{base_path}/api/recordings");
        let asks = others
            .into_iter()
            .filter_map(|(node, url)| Some((node, url?)))
            .map(|(node, url)| {
                let path = &path;
                async move {
                    self.ask::<RecordingList>(&node, &url, headers, path)
                        .await
                        .map(|l| l.recordings)
                        .unwrap_or_else(|e| {
                            tracing::debug!("listing recordings: {e}; left out");
                            Vec::new()
                        })
                }
            });
        for list in futures::future::join_all(asks).await {
            all.extend(list);
        }
        let started = |r: &RecordingEntry| OffsetDateTime::parse(&r.started_at, &Rfc3339).ok();
        all.sort_by(|a, b| started(b).cmp(&started(a)).then_with(|| a.id.cmp(&b.id)));
        all
    }

    /// The other nodes Redis knows, each with its URL when alive.
    pub(super) async fn others(&self) -> Result<Vec<(String, Option<String>)>, ClusterError> {
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

    /// `GET uri` to another node for a caller this node has authorised
    /// (its `Host` and `Origin`, the nodes' token), marked forwarded: that
    /// node answers for its own sessions only.
    pub(super) fn forwarded_get(
        &self,
        uri: &str,
        headers: &HeaderMap,
    ) -> Result<Request<ForwardBody>, warp::http::Error> {
        let mut passed = HeaderMap::new();
        for name in PASSED {
            if let Some(value) = headers.get(&name) {
                passed.insert(name, value.clone());
            }
        }
        self.vouch(&mut passed);
        if let Ok(me) = self.node().parse::<header::HeaderValue>() {
            passed.insert(HeaderName::from_static(FORWARDED), me);
        }
        let empty = http_body_util::Empty::new().map_err(|e| match e {});
        let mut request = Request::get(uri).body(BodyExt::boxed_unsync(empty))?;
        *request.headers_mut() = passed;
        Ok(request)
    }

    /// A live node's own answer to `GET path` (its own listing: the
    /// request is marked forwarded, so that node asks no other).
    async fn ask<T: DeserializeOwned>(
        &self,
        node: &str,
        url: &str,
        headers: &HeaderMap,
        path: &str,
    ) -> Result<T, ClusterError> {
        let failed = |message: String| ClusterError::Node {
            node: node.to_owned(),
            message,
        };
        let request = self
            .forwarded_get(&format!("{url}{path}"), headers)
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
            serde_json::from_slice(&body).map_err(|e| failed(e.to_string()))
        };
        tokio::time::timeout(REDIS_TIMEOUT, read)
            .await
            .unwrap_or_else(|_| Err(failed("no answer in time".to_owned())))
    }
}
