//! The accept loop: warp's routes served as a hyper service on our own
//! listener, so that unauthenticated connections are bounded in time and
//! in number (the pre-auth budget, see [`crate::budget`]), refused
//! upgrades close their connection, and running out of descriptors
//! answers 503 instead of leaving connections hanging. warp's own `Server`
//! offers none of these knobs (nor TLS, since warp 0.4): under `tls_cert`
//! each TCP connection is wrapped in rustls here, its handshake inside the
//! same pre-auth budget.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::service::Service;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};
use tokio_rustls::TlsAcceptor;
use tokio_util::task::TaskTracker;
use warp::filters::BoxedFilter;
use warp::http::{HeaderValue, Request, StatusCode, header};
use warp::reply::Response;

use crate::auth::AuthPolicy;
pub use crate::budget::PREAUTH_TIMEOUT;
use crate::budget::{Budget, PER_ADDRESS, TOTAL, Ticket};
use crate::error::ApiError;

/// Marks its connection authenticated when a request carries valid
/// credentials, hands the connection's [`Ticket`] to the routes (the `tty`
/// socket releases it after its auth message), and closes the connection
/// after a refused upgrade.
struct Counted<S> {
    inner: S,
    policy: Arc<AuthPolicy>,
    ticket: Arc<Ticket>,
    /// The peer is one of `trusted_proxies`: its `X-Forwarded-*` headers
    /// stand (see [`forwarded`]).
    trusted_peer: bool,
    /// The connection's peer address.
    peer: std::net::IpAddr,
}

/// The headers only a trusted proxy may set.
const FORWARDED: [&str; 3] = ["x-forwarded-proto", "x-forwarded-host", "x-forwarded-for"];

/// `trusted_proxies` (docs/deployment.md): from anyone else the
/// `X-Forwarded-*` headers are removed, so nothing after this looks at
/// them; from a trusted proxy `X-Forwarded-Host` becomes the `Host` that the
/// Host and Origin checks see, and `X-Forwarded-Proto` the scheme of the
/// server's own origin (read by the Origin check).
fn forwarded(headers: &mut warp::http::HeaderMap, trusted_peer: bool) {
    if !trusted_peer {
        for name in FORWARDED {
            headers.remove(name);
        }
        return;
    }
    let host = headers
        .get("x-forwarded-host")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .and_then(|v| HeaderValue::from_str(v).ok());
    if let Some(host) = host {
        headers.insert(header::HOST, host);
    }
}

/// The client's address: a trusted proxy's `X-Forwarded-For` (its last
/// entry, the one the proxy itself added), else the peer's.
pub fn client_address(headers: &warp::http::HeaderMap, peer: std::net::IpAddr) -> std::net::IpAddr {
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(peer)
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> Service<Request<Incoming>> for Counted<S>
where
    S: Service<Request<Incoming>, Response = warp::http::Response<B>>,
    S::Future: Send + 'static,
    S::Error: 'static,
    B: 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn call(&self, mut req: Request<Incoming>) -> Self::Future {
        forwarded(req.headers_mut(), self.trusted_peer);
        tracing::debug!(
            client = %client_address(req.headers(), self.peer),
            method = %req.method(),
            path = req.uri().path(),
            "request"
        );
        self.ticket.request_began();
        if !self.ticket.is_authenticated()
            && self
                .policy
                .authorize_headers(req.headers(), req.uri().query())
                .is_ok()
        {
            self.ticket.authenticated();
        }
        let upgrade = req.headers().contains_key(header::UPGRADE);
        req.extensions_mut().insert(self.ticket.clone());
        let response = self.inner.call(req);
        Box::pin(async move {
            let mut response = response.await?;
            if upgrade && response.status() != StatusCode::SWITCHING_PROTOCOLS {
                // A refused upgrade: the error is complete (it has its
                // length) and the connection ends after it.
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(response)
        })
    }
}

/// Where the server listens: a TCP socket, or a Unix socket
/// (`bind = "unix:/path"`, docs/deployment.md).
#[derive(Debug)]
pub enum Listener {
    /// `IP:PORT`, bound or passed by systemd.
    Tcp(TcpListener),
    /// A Unix stream socket.
    Unix(UnixListener),
}

/// A connection's byte stream, whichever the listener.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

impl From<TcpListener> for Listener {
    fn from(l: TcpListener) -> Self {
        Listener::Tcp(l)
    }
}

impl Listener {
    /// The next connection and its client address; a Unix socket's clients
    /// count as loopback (one address for the pre-auth budget).
    async fn accept(&self) -> std::io::Result<(Box<dyn Io>, std::net::IpAddr)> {
        match self {
            Listener::Tcp(l) => {
                let (s, peer) = l.accept().await?;
                // Keystrokes and echoes are small writes: no Nagle delay.
                if let Err(e) = s.set_nodelay(true) {
                    tracing::debug!("TCP_NODELAY: {e}");
                }
                Ok((Box::new(s), peer.ip()))
            }
            Listener::Unix(l) => {
                let (s, _) = l.accept().await?;
                Ok((Box::new(s), std::net::Ipv4Addr::LOCALHOST.into()))
            }
        }
    }
}

/// Accepts on `listener` until `stop` completes; every connection runs on
/// `connections`. `policy` tells authenticated requests apart. With `tls`,
/// every connection is a TLS one (HTTPS, WSS); a Unix socket never is.
pub async fn accept_until(
    listener: Listener,
    routes: BoxedFilter<(Response,)>,
    policy: Arc<AuthPolicy>,
    trusted_proxies: Arc<[ipnet::IpNet]>,
    tls: Option<TlsAcceptor>,
    stop: impl Future<Output = ()>,
    connections: TaskTracker,
) {
    let tls = match &listener {
        Listener::Tcp(_) => tls,
        Listener::Unix(_) => None,
    };
    let service = warp::service(routes);
    let budget = Budget::new(PER_ADDRESS, TOTAL);
    let mut reserve = Reserve::open();
    let mut sweep = tokio::time::interval(Duration::from_secs(1));
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stop = std::pin::pin!(stop);
    loop {
        let accepted = tokio::select! {
            () = &mut stop => break,
            _ = sweep.tick() => {
                budget.sweep(Instant::now());
                continue;
            }
            accepted = listener.accept() => accepted,
        };
        let (stream, peer_ip) = match accepted {
            Ok(accepted) => accepted,
            Err(e) if is_out_of_descriptors(&e) => {
                // Free a descriptor: the waiting connection gets a 503 and
                // the oldest unauthenticated one is closed, so that the
                // next attempt gets in.
                budget.evict_oldest();
                reserve.answer_unavailable(&listener).await;
                continue;
            }
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let ticket = budget.admit(peer_ip);
        let svc = Counted {
            inner: TowerToHyperService::new(service.clone()),
            policy: policy.clone(),
            ticket: ticket.clone(),
            trusted_peer: trusted_proxies
                .iter()
                .any(|net| net.contains(&peer_ip.to_canonical())),
            peer: peer_ip,
        };
        let tls = tls.clone();
        connections.spawn(async move {
            // The handshake is pre-auth time: bounded by the same timeout,
            // and closed like any unauthenticated connection when the
            // budget needs its place.
            let stream: Box<dyn Io> = match tls {
                None => stream,
                Some(tls) => {
                    let handshake = tokio::time::timeout(PREAUTH_TIMEOUT, tls.accept(stream));
                    tokio::select! {
                        done = handshake => match done {
                            Ok(Ok(stream)) => Box::new(stream),
                            Ok(Err(e)) => {
                                tracing::debug!("TLS handshake failed: {e}");
                                return;
                            }
                            Err(_) => {
                                tracing::debug!("TLS handshake timed out");
                                return;
                            }
                        },
                        () = ticket.closed() => return,
                    }
                }
            };
            let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(PREAUTH_TIMEOUT);
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), svc);
            tokio::select! {
                served = conn => {
                    if let Err(e) = served {
                        tracing::debug!("connection ended: {e}");
                    }
                }
                // Only an unauthenticated connection is ever closed this way.
                () = ticket.closed() => tracing::debug!("unauthenticated connection closed"),
            }
        });
    }
}

fn is_out_of_descriptors(e: &std::io::Error) -> bool {
    let code = e.raw_os_error();
    code == Some(rustix::io::Errno::MFILE.raw_os_error())
        || code == Some(rustix::io::Errno::NFILE.raw_os_error())
}

/// A descriptor held in reserve: given up to accept one connection when
/// the process has no other left, so that it gets an answer.
struct Reserve {
    file: Option<std::fs::File>,
    /// When the last warning was logged (one per 10 s at most).
    warned: Option<Instant>,
}

impl Reserve {
    fn open() -> Reserve {
        Reserve {
            file: std::fs::File::open("/dev/null").ok(),
            warned: None,
        }
    }

    async fn answer_unavailable(&mut self, listener: &Listener) {
        self.file = None;
        let accepted = tokio::time::timeout(Duration::from_millis(100), listener.accept()).await;
        if let Ok(Ok((mut stream, _))) = accepted {
            let body = serde_json::to_vec(
                &ApiError::unavailable(
                    "out_of_descriptors",
                    "The server has no file descriptors left; try again shortly.",
                )
                .body(),
            )
            .unwrap_or_default();
            let head = format!(
                "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
                 content-length: {}\r\nconnection: close\r\nretry-after: 1\r\n\r\n",
                body.len()
            );
            let write = async {
                stream.write_all(head.as_bytes()).await?;
                stream.write_all(&body).await?;
                stream.shutdown().await
            };
            if tokio::time::timeout(Duration::from_secs(1), write)
                .await
                .is_err()
            {
                tracing::debug!("a 503 for lack of descriptors could not be written");
            }
        } else {
            // Nothing could be accepted even so: wait a little instead of
            // spinning on the error.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if self
            .warned
            .is_none_or(|at| at.elapsed() >= Duration::from_secs(10))
        {
            tracing::warn!("out of file descriptors: new connections are answered 503");
            self.warned = Some(Instant::now());
        }
        self.file = std::fs::File::open("/dev/null").ok();
    }
}
