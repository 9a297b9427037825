//! The accept loop: warp's routes served as a hyper service on our own
//! listener, so that the connections that have not yet sent a complete
//! request head are bounded in time ([`PREAUTH_TIMEOUT`]) and in number
//! ([`PREAUTH_MAX`]) — spec section 5's pre-auth budget. warp's own
//! `Server` offers neither knob.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::Service;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::task::TaskTracker;
use warp::filters::BoxedFilter;
use warp::http::Request;
use warp::reply::Response;

/// A connection must send its first request head within this time.
pub const PREAUTH_TIMEOUT: Duration = Duration::from_secs(10);
/// At most this many connections may wait for their first request head;
/// more are closed at once.
pub const PREAUTH_MAX: usize = 64;

/// Holds a pre-auth slot until the connection's first request arrives.
struct FirstRequest<S> {
    inner: S,
    slot: Mutex<Option<OwnedSemaphorePermit>>,
}

impl<S> Service<Request<Incoming>> for FirstRequest<S>
where
    S: Service<Request<Incoming>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        self.slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        self.inner.call(req)
    }
}

/// Accepts on `listener` until `stop` completes; every connection runs on
/// `connections`.
pub async fn accept_until(
    listener: TcpListener,
    routes: BoxedFilter<(Response,)>,
    stop: impl Future<Output = ()>,
    connections: TaskTracker,
) {
    let service = warp::service(routes);
    let waiting = Arc::new(Semaphore::new(PREAUTH_MAX));
    let mut stop = std::pin::pin!(stop);
    loop {
        let accepted = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => {
                // Keystrokes and echoes are small writes: no Nagle delay.
                if let Err(e) = stream.set_nodelay(true) {
                    tracing::debug!("TCP_NODELAY: {e}");
                }
                stream
            }
            Err(e) => {
                // EMFILE and friends: back off a little instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = waiting.clone().try_acquire_owned() else {
            tracing::warn!(
                "{PREAUTH_MAX} connections are waiting to send a request: closing a new one"
            );
            drop(stream);
            continue;
        };
        let svc = FirstRequest {
            inner: TowerToHyperService::new(service.clone()),
            slot: Mutex::new(Some(slot)),
        };
        connections.spawn(async move {
            let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(PREAUTH_TIMEOUT);
            if let Err(e) = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), svc)
                .await
            {
                tracing::debug!("connection ended: {e}");
            }
        });
    }
}
