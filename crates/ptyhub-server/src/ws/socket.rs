//! The attach socket: warp checks the upgrade request (`warp::ws()`: GET,
//! `Connection: upgrade`, `Upgrade: websocket`, version 13, a key), and the
//! connection is then taken over here, on tungstenite with settings of our
//! own. The one warp does not offer: a small read buffer. tungstenite fills
//! its read buffer (128 KiB by default) with zeroes before every read of the
//! socket, also the reads that find nothing, and the socket's loop polls
//! the socket several times per keystroke: ~7–10 µs of CPU per keystroke
//! (BENCHMARKS.md, "Echo against a minimal relay").

use std::future::Future;

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error, Message};
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

/// An attached client's socket.
pub(crate) type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Bytes read from the socket at a time: input is keystrokes, and a larger
/// message is gathered over several reads.
const READ_BUFFER: usize = 8 << 10;

/// A checked upgrade request, ready to be answered.
pub(crate) struct Upgrade {
    key: HeaderValue,
    on_upgrade: Option<OnUpgrade>,
}

/// The upgrade request's checks (warp's, with its rejections) and what
/// answering it takes.
pub(crate) fn upgrade() -> impl Filter<Extract = (Upgrade,), Error = Rejection> + Clone {
    // Taken before `warp::ws()` removes it from the request.
    warp::ext::optional::<OnUpgrade>()
        .and(warp::ws())
        .and(warp::header::value("sec-websocket-key"))
        .map(
            |on_upgrade: Option<OnUpgrade>, _: warp::ws::Ws, key: HeaderValue| Upgrade {
                key,
                on_upgrade,
            },
        )
}

impl Upgrade {
    /// The `101 Switching Protocols` answer; `run` is spawned with the
    /// socket once the connection is upgraded. Messages and frames over
    /// `max_message` bytes end the socket.
    pub(crate) fn reply<F, U>(self, max_message: usize, run: F) -> Response
    where
        F: FnOnce(Socket) -> U + Send + 'static,
        U: Future<Output = ()> + Send + 'static,
    {
        let config = WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER)
            .max_message_size(Some(max_message))
            .max_frame_size(Some(max_message));
        match self.on_upgrade {
            Some(on_upgrade) => {
                tokio::spawn(async move {
                    match on_upgrade.await {
                        Ok(upgraded) => {
                            let io = TokioIo::new(upgraded);
                            run(
                                WebSocketStream::from_raw_socket(io, Role::Server, Some(config))
                                    .await,
                            )
                            .await;
                        }
                        Err(e) => tracing::debug!("WebSocket upgrade failed: {e}"),
                    }
                });
            }
            None => tracing::debug!("no upgrade on this connection"),
        }
        let mut response = warp::reply().into_response();
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(self.key.as_bytes())) {
            headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        }
        response
    }
}

/// A close frame with this code and reason.
pub(crate) fn close_frame(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code: code.into(),
        reason: reason.into(),
    }))
}

/// A message's bytes: a text's UTF-8, a binary's or a ping's data, a
/// close's reason.
pub(crate) fn payload(msg: &Message) -> &[u8] {
    match msg {
        Message::Text(text) => text.as_bytes(),
        Message::Binary(data) | Message::Ping(data) | Message::Pong(data) => data,
        Message::Close(frame) => frame.as_ref().map_or(&[], |f| f.reason.as_bytes()),
        Message::Frame(frame) => frame.payload(),
    }
}

/// Whether a read error is a message over the size limit.
pub(crate) fn is_too_big(e: &Error) -> bool {
    matches!(e, Error::Capacity(_))
}

/// Whether a read error is a text message that is not UTF-8.
pub(crate) fn is_bad_utf8(e: &Error) -> bool {
    matches!(e, Error::Utf8(_))
}
