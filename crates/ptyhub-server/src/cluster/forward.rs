//! Forwarding: any request under `/api/sessions/{id}/…` for a session
//! another live node owns goes to that node's `advertise_url`, whatever the
//! path below the id, the method or the body; `/api/recordings/{id}` goes
//! to the node that wrote that recording. A WebSocket upgrade is
//! forwarded as such; once both sides have switched protocols the two
//! connections are spliced byte for byte (every framing, both directions),
//! with the backpressure of a plain copy (each side is read only as fast
//! as the other is written).
//!
//! A forwarded request carries [`FORWARDED`] (the forwarding node's name):
//! its receiver serves it locally whatever Redis says, so a request is
//! forwarded at most once. The forwarding node authorises the request
//! first (an unauthorised one gets its error here; only a WebSocket, which
//! may authorise in its first message, is passed on as it came) and sends
//! it with the nodes' shared token in place of the caller's credential: a
//! browser's login secret is known only to the node that issued it. The
//! receiver checks the token, Host and Origin as for any request (the
//! nodes share the config).

use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes};
use futures::{Stream, StreamExt};
use http_body_util::BodyExt;
use hyper::upgrade::OnUpgrade;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use ptyhub_protocol::api::SessionInfo;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, HeaderName, Method, Request, StatusCode, header};
use warp::path::FullPath;
use warp::reply::Response;
use warp::{Filter, Reply};

use super::{
    Cluster, ClusterError, REDIS_TIMEOUT, node_key, owner_key, recording_key, sessions_key,
};
use crate::error::ApiError;
use crate::state::AppState;

/// The header a forwarded request carries: the forwarding node's name.
pub const FORWARDED: &str = "x-ptyhub-forwarded";

/// Any error a body read or a forwarded connection can end with.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// A forwarded request's body.
pub(crate) type ForwardBody = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;
/// The client the nodes talk to each other with (keep-alive, pooled).
pub(crate) type HttpClient = Client<HttpConnector, ForwardBody>;

/// The client: no Nagle delay (keystrokes), connecting bounded by
/// [`REDIS_TIMEOUT`] as every other wait on the cluster.
pub(crate) fn http_client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(REDIS_TIMEOUT));
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(connector)
}

/// Who runs a session, as Redis tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// This node, or nobody Redis knows of.
    Here,
    /// A live node, reached at `url`.
    Live {
        /// The node's name.
        node: String,
        /// Its `advertise_url`.
        url: String,
    },
    /// A node whose heartbeat stopped.
    Dead {
        /// The node's name.
        node: String,
    },
}

impl Cluster {
    /// Who runs session `id`.
    pub async fn owner(&self, id: &str) -> Result<Owner, ClusterError> {
        let node: Option<String> = self.query(redis::cmd("GET").arg(owner_key(id))).await?;
        let Some(node) = node.filter(|n| n != self.node()) else {
            return Ok(Owner::Here);
        };
        let url: Option<String> = self.query(redis::cmd("GET").arg(node_key(&node))).await?;
        Ok(match url {
            Some(url) => Owner::Live { node, url },
            None => Owner::Dead { node },
        })
    }

    /// The session named `name` on another node, by the nodes' session
    /// hashes (as on one node: a running one before an ended one, then
    /// the newest), with its owner and id; `None` when no other node has
    /// it. Names are unique per node only: two nodes may each run one.
    pub async fn named(&self, name: &str) -> Result<Option<(Owner, String)>, ClusterError> {
        let others = self.others().await?;
        if others.is_empty() {
            return Ok(None);
        }
        let mut pipe = redis::pipe();
        for (node, _) in &others {
            pipe.cmd("HVALS").arg(sessions_key(node));
        }
        let hashes: Vec<Vec<String>> = self.query_pipe(&pipe).await?;
        let best = others
            .into_iter()
            .zip(hashes)
            .flat_map(|((node, url), objects)| {
                objects
                    .into_iter()
                    .filter_map(|json| serde_json::from_str::<SessionInfo>(&json).ok())
                    .filter(|s| s.name.as_deref() == Some(name))
                    .map(move |s| (node.clone(), url.clone(), s))
            })
            .max_by(|(_, _, a), (_, _, b)| {
                (!a.status.is_ended(), &a.created_at).cmp(&(!b.status.is_ended(), &b.created_at))
            });
        Ok(best.map(|(node, url, session)| {
            let owner = match url {
                Some(url) => Owner::Live { node, url },
                None => Owner::Dead { node },
            };
            (owner, session.id)
        }))
    }

    /// The live node, other than this one, that holds session `id`'s
    /// recording: `None` to answer here (this node, a dead node, or
    /// nobody Redis knows of).
    pub async fn recording_holder(
        &self,
        id: &str,
    ) -> Result<Option<(String, String)>, ClusterError> {
        let node: Option<String> = self.query(redis::cmd("GET").arg(recording_key(id))).await?;
        let Some(node) = node.filter(|n| n != self.node()) else {
            return Ok(None);
        };
        Ok(self.node_url(&node).await?.map(|url| (node, url)))
    }

    /// Forgets where session `id`'s recording is (its file was deleted).
    /// Redis unreachable: logged, and the key stays (a later request for
    /// it is forwarded here and answered 404).
    pub async fn forget_recording(&self, id: &str) {
        if let Err(e) = self
            .query::<()>(redis::cmd("DEL").arg(recording_key(id)))
            .await
        {
            tracing::debug!("cluster: forgetting recording {id}: {e}");
        }
    }

    /// Forgets where session `id`'s recording is when that is this node
    /// and its file is gone (deleted by hand, not through the API): a key
    /// naming another node, a dead one say, stays.
    pub async fn forget_recording_if_here(&self, id: &str) {
        let holder: Result<Option<String>, _> =
            self.query(redis::cmd("GET").arg(recording_key(id))).await;
        if holder.is_ok_and(|n| n.as_deref() == Some(self.node())) {
            self.forget_recording(id).await;
        }
    }

    /// The advertised URL of `node` when it is alive.
    pub async fn node_url(&self, node: &str) -> Result<Option<String>, ClusterError> {
        self.query(redis::cmd("GET").arg(node_key(node))).await
    }

    /// The last known object of a dead node's session.
    async fn lost_session(&self, node: &str, id: &str) -> Option<SessionInfo> {
        let json: Option<String> = self
            .query(redis::cmd("HGET").arg(sessions_key(node)).arg(id))
            .await
            .ok()?;
        let info = serde_json::from_str(&json?).ok()?;
        Some(super::register::lost(info, node))
    }
}

/// Where a request goes.
enum Target {
    /// To this node.
    Forward { node: String, url: String },
    /// Answered here: a dead node's session.
    Lost(Box<SessionInfo>),
}

/// The forwarding filter, placed before the session and recording
/// routes: it rejects (so the local routes answer) every request that is
/// not for another node's session or recording.
pub fn filter(state: Arc<AppState>, cluster: Arc<Cluster>) -> BoxedFilter<(Response,)> {
    let policy = state.policy.clone();
    let sessions = {
        let cluster = cluster.clone();
        warp::path("api")
            .and(warp::path("sessions"))
            .and(warp::path::param::<String>())
            .and(warp::method())
            .and(warp::path::full())
            .and(warp::header::headers_cloned())
            .and_then(
                move |id: String, method: Method, full: FullPath, headers: HeaderMap| {
                    let state = state.clone();
                    let cluster = cluster.clone();
                    async move {
                        target(&state, &cluster, &id, &method, &full, &headers)
                            .await
                            .map(|t| (t, method, full, headers))
                            .ok_or_else(warp::reject::not_found)
                    }
                },
            )
            .untuple_one()
    };
    // `/api/recordings/{id}`: to the node that holds the file.
    let recordings = {
        let cluster = cluster.clone();
        warp::path!("api" / "recordings" / String)
            .and(warp::method())
            .and(warp::path::full())
            .and(warp::header::headers_cloned())
            .and_then(
                move |id: String, method: Method, full: FullPath, headers: HeaderMap| {
                    let cluster = cluster.clone();
                    async move {
                        recording_target(&cluster, &id, &headers)
                            .await
                            .map(|t| (t, method, full, headers))
                            .ok_or_else(warp::reject::not_found)
                    }
                },
            )
            .untuple_one()
    };
    let decide = sessions.or(recordings).unify();
    decide
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::ext::optional::<OnUpgrade>())
        .and(warp::body::stream())
        .and_then(
            move |target: Target,
                  method: Method,
                  full: FullPath,
                  headers: HeaderMap,
                  query: String,
                  upgrade: Option<OnUpgrade>,
                  body| {
                let cluster = cluster.clone();
                let policy = policy.clone();
                async move {
                    let auth = policy.authorize_headers(&headers, Some(query.as_str()));
                    match target {
                        Target::Lost(info) => {
                            auth.map_err(warp::reject::custom)?;
                            Ok(warp::reply::json(&*info).into_response())
                        }
                        Target::Forward { node, url } => {
                            let mut headers = headers;
                            match auth {
                                // Authorised here: the owner is told so
                                // with the nodes' token (a browser's login
                                // secret is valid only where it was issued).
                                Ok(_) => cluster.vouch(&mut headers),
                                // Credentials only the owner can check:
                                // a WebSocket's first message (`tty`), a
                                // session's hook token. Passed on as they
                                // came.
                                Err(_) if owner_checks(&headers, &full) => {}
                                Err(e) => return Err(warp::reject::custom(e)),
                            }
                            let path = match query.as_str() {
                                "" => full.as_str().to_owned(),
                                q => format!("{}?{q}", full.as_str()),
                            };
                            let request = Forward {
                                node,
                                uri: format!("{url}{path}"),
                                method,
                                headers,
                            };
                            request
                                .send(&cluster, upgrade, body_of(body))
                                .await
                                .map_err(warp::reject::custom)
                        }
                    }
                }
            },
        )
        .boxed()
}

/// Whether a request this node cannot authorise may still be good for
/// its owner: a WebSocket upgrade (the `tty` framing authorises in its
/// first message) or a session's hook (its own token, known to its node).
fn owner_checks(headers: &HeaderMap, full: &FullPath) -> bool {
    headers.contains_key(header::UPGRADE) || full.as_str().trim_end_matches('/').ends_with("/hook")
}

/// Whether (and where) to forward; `None` to serve locally.
async fn target(
    state: &AppState,
    cluster: &Cluster,
    id: &str,
    method: &Method,
    full: &FullPath,
    headers: &HeaderMap,
) -> Option<Target> {
    if headers.contains_key(FORWARDED) || state.registry.get(id).is_ok() {
        return None;
    }
    let key = id;
    let (owner, id) = match cluster.owner(key).await.ok()? {
        // Not an id Redis knows: perhaps another node's session's name.
        Owner::Here if uuid::Uuid::parse_str(key).is_err() => cluster.named(key).await.ok()??,
        owner => (owner, key.to_owned()),
    };
    match owner {
        Owner::Here => None,
        Owner::Live { node, url } => Some(Target::Forward { node, url }),
        Owner::Dead { node } => {
            let whole = full
                .as_str()
                .trim_end_matches('/')
                .ends_with(&format!("/{key}"));
            if method == Method::GET && whole {
                cluster
                    .lost_session(&node, &id)
                    .await
                    .map(|i| Target::Lost(Box::new(i)))
            } else {
                None
            }
        }
    }
}

/// Whether (and where) to forward a request for a recording; `None` to
/// serve locally (a forwarded request, a recording of this node, of a
/// dead node or unknown to Redis). A recording Redis does not know yet
/// (its session just started elsewhere) is looked for on the session's
/// owner.
async fn recording_target(cluster: &Cluster, id: &str, headers: &HeaderMap) -> Option<Target> {
    if headers.contains_key(FORWARDED) {
        return None;
    }
    if let Some((node, url)) = cluster.recording_holder(id).await.ok()? {
        return Some(Target::Forward { node, url });
    }
    match cluster.owner(id).await.ok()? {
        Owner::Live { node, url } => Some(Target::Forward { node, url }),
        Owner::Here | Owner::Dead { .. } => None,
    }
}

/// A request body as the client sends it on.
fn body_of<S, B>(stream: S) -> ForwardBody
where
    S: Stream<Item = Result<B, warp::Error>> + Send + 'static,
    B: Buf,
{
    let frames = stream.map(|chunk| {
        chunk
            .map(|mut b| hyper::body::Frame::data(b.copy_to_bytes(b.remaining())))
            .map_err(|e| Box::new(e) as BoxError)
    });
    BodyExt::boxed_unsync(http_body_util::StreamBody::new(frames))
}

/// The hop-by-hop headers (RFC 9110 7.6.1), not forwarded; `connection`
/// and `upgrade` are, on an upgrade.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "upgrade",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
];

fn strip_hop_by_hop(headers: &mut HeaderMap, upgrade: bool) {
    for name in HOP_BY_HOP {
        if upgrade && (name == "connection" || name == "upgrade") {
            continue;
        }
        headers.remove(name);
    }
}

/// One request on its way to another node.
pub(crate) struct Forward {
    /// The owner's name.
    pub node: String,
    /// The whole URI on the owner.
    pub uri: String,
    /// The method.
    pub method: Method,
    /// The client's headers (`Host` and credentials included).
    pub headers: HeaderMap,
}

impl Forward {
    /// Sends the request and answers with the owner's response (its body
    /// streamed); an upgrade's two connections are spliced.
    pub(crate) async fn send(
        self,
        cluster: &Cluster,
        upgrade: Option<OnUpgrade>,
        body: ForwardBody,
    ) -> Result<Response, ApiError> {
        let is_upgrade = self.headers.contains_key(header::UPGRADE) && upgrade.is_some();
        let mut headers = self.headers;
        strip_hop_by_hop(&mut headers, is_upgrade);
        if let Ok(me) = cluster.node().parse() {
            headers.insert(HeaderName::from_static(FORWARDED), me);
        }
        let body = if is_upgrade {
            BodyExt::boxed_unsync(http_body_util::Empty::new().map_err(|e| match e {}))
        } else {
            body
        };
        let mut request = Request::builder()
            .method(self.method)
            .uri(&self.uri)
            .body(body)
            .map_err(|e| ApiError::internal(format!("forwarding to {}: {e}", self.uri)))?;
        *request.headers_mut() = headers;
        let unreachable = |e: &dyn std::fmt::Display| {
            ApiError::unavailable(
                "node_unreachable",
                format!(
                    "The node {} that runs this session did not answer: {e}",
                    self.node
                ),
            )
        };
        let mut response = cluster
            .http
            .request(request)
            .await
            .map_err(|e| unreachable(&e))?;
        if is_upgrade && response.status() == StatusCode::SWITCHING_PROTOCOLS {
            let theirs = hyper::upgrade::on(&mut response);
            if let Some(ours) = upgrade {
                tokio::spawn(splice(ours, theirs, self.node.clone()));
            }
            let (parts, _) = response.into_parts();
            let mut reply = Response::new(Bytes::new().into());
            *reply.status_mut() = parts.status;
            *reply.headers_mut() = parts.headers;
            return Ok(reply);
        }
        let (parts, incoming) = response.into_parts();
        let mut reply =
            warp::reply::stream(http_body_util::BodyDataStream::new(incoming)).into_response();
        *reply.status_mut() = parts.status;
        *reply.headers_mut() = parts.headers;
        strip_hop_by_hop(reply.headers_mut(), false);
        Ok(reply)
    }
}

/// Copies bytes both ways between the client's upgraded connection and
/// the owner's until either side closes.
async fn splice(ours: OnUpgrade, theirs: OnUpgrade, node: String) {
    let (ours, theirs) = tokio::join!(ours, theirs);
    match (ours, theirs) {
        (Ok(ours), Ok(theirs)) => {
            let mut ours = TokioIo::new(ours);
            let mut theirs = TokioIo::new(theirs);
            match tokio::io::copy_bidirectional(&mut ours, &mut theirs).await {
                Ok((up, down)) => tracing::debug!(node, up, down, "forwarded socket closed"),
                Err(e) => tracing::debug!(node, "forwarded socket ended: {e}"),
            }
        }
        (ours, theirs) => tracing::debug!(
            node,
            client = ours.err().map(|e| e.to_string()),
            owner = theirs.err().map(|e| e.to_string()),
            "a forwarded upgrade did not complete"
        ),
    }
}

/// `POST /api/sessions` with `"node": NAME`: `None` when `NAME` is this
/// node (the caller creates the session here), else the named node's
/// answer to the same request. An unknown or dead node (or any name on a
/// server that is not clustered) is 400 `unknown_node`.
pub async fn create_on(
    state: &AppState,
    node: &str,
    headers: HeaderMap,
    path: &str,
    body: Bytes,
) -> Result<Option<Response>, ApiError> {
    let unknown =
        || ApiError::bad_request("unknown_node", format!("No live node is named {node:?}."));
    let Some(cluster) = &state.cluster else {
        return Err(unknown());
    };
    if node == cluster.node() {
        return Ok(None);
    }
    if headers.contains_key(FORWARDED) {
        // Sent here by a node that took this one for `node`.
        return Err(unknown());
    }
    let url = cluster
        .node_url(node)
        .await
        .map_err(|e| {
            ApiError::unavailable(
                "cluster_unavailable",
                format!("The other nodes cannot be reached now ({e}); try without \"node\"."),
            )
        })?
        .ok_or_else(unknown)?;
    // The create route has authorised the caller.
    let mut headers = headers;
    cluster.vouch(&mut headers);
    let request = Forward {
        node: node.to_owned(),
        uri: format!("{url}{path}"),
        method: Method::POST,
        headers,
    };
    let body = BodyExt::boxed_unsync(http_body_util::Full::new(body).map_err(|e| match e {}));
    request.send(cluster, None, body).await.map(Some)
}
