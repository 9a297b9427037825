//! `ptyhub attach`: the local terminal joined to a session over the
//! `ptyhub.v1` WebSocket, like `tmux attach`.
//!
//! One task with one `select!` over the socket, typed keys (from a reader
//! thread), SIGWINCH, and SIGTERM/SIGHUP. Output is written to stdout as it
//! comes (a slow terminal slows the socket reads, and the server's per-client
//! queue and lag policy take it from there). The terminal is restored by
//! [`RawMode`]'s drop on every way out of [`attach`].

use std::io::{self, Read, Write};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use ptyhub_protocol::SUBPROTOCOL_V1;
use ptyhub_protocol::api::{ExitInfo, SessionInfo};
use ptyhub_protocol::v1::{self, ClientMessage, ServerEvent};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};

use super::api::{root_cause, status_error};
use super::connect::{self, Io};
use super::detach::Detacher;
use super::endpoint::Endpoint;
use super::error::{Error, Result};
use super::modes::Modes;
use super::terminal::{self, RawMode};

/// How long the upgrade and the `hello` event may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a detach waits for the server to acknowledge the close.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);
/// Typed chunks in flight between the reader thread and the socket: typing
/// never fills it, and a large paste waits for the socket instead of
/// growing memory.
const KEY_QUEUE: usize = 16;

type Socket = tokio_tungstenite::WebSocketStream<Box<dyn Io>>;

/// How an attach is set up.
#[derive(Debug, Clone)]
pub struct AttachOptions {
    /// Watch only: nothing typed is sent, the size is not imposed.
    pub readonly: bool,
    /// The detach prefix key (`None`: no detach keys).
    pub prefix: Option<u8>,
}

/// How an attach ended (errors aside).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The user detached; the session goes on.
    Detached,
    /// The session ended (its program exited or it was terminated).
    Ended(ExitInfo),
}

/// Attaches the local terminal to `session` until a detach, its end, or
/// an error; the terminal is back in its own modes when this returns.
pub async fn attach(
    endpoint: &Endpoint,
    session: &SessionInfo,
    options: &AttachOptions,
) -> Result<Outcome> {
    terminal::require_terminal()?;
    let size = terminal::size();
    let mut socket = connect(endpoint, &session.id, options.readonly, size).await?;
    let mut raw = RawMode::enable()?;
    let mut modes = Modes::default();
    let result = relay(&mut socket, endpoint, options, &mut modes).await;
    raw.set_restore(modes.restore());
    drop(raw);
    if matches!(result, Ok(Outcome::Detached)) {
        // Tell the server we are leaving; it goes on either way.
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, socket.close(None)).await;
    }
    result
}

/// Opens the socket and reads the `hello` event.
async fn connect(
    endpoint: &Endpoint,
    id: &str,
    readonly: bool,
    size: Option<(u16, u16)>,
) -> Result<Socket> {
    let mut query = Vec::new();
    if let Some((cols, rows)) = size {
        query.push(format!("cols={cols}&rows={rows}"));
    }
    if readonly {
        query.push("readonly=1".to_owned());
    }
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{}", query.join("&"))
    };
    let url = endpoint.ws(&format!("/api/sessions/{id}/ws{query}"));
    let mut request = url
        .into_client_request()
        .map_err(|e| Error::other(format!("bad WebSocket URL: {e}")))?;
    let headers = request.headers_mut();
    headers.insert(
        "sec-websocket-protocol",
        HeaderValue::from_static(SUBPROTOCOL_V1),
    );
    if let Some(token) = &endpoint.token {
        let value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| Error::other("the token has characters that cannot go in a header"))?;
        headers.insert("authorization", value);
    }
    let no_server = |reason: String| Error::NoServer {
        url: endpoint.url.clone(),
        reason,
    };
    // TCP, TLS or a Unix socket, then the upgrade on it.
    let upgrade = tokio::time::timeout(CONNECT_TIMEOUT, async {
        let stream = connect::open(endpoint).await?;
        Ok::<_, Error>(tokio_tungstenite::client_async(request, stream).await)
    });
    let mut socket = match upgrade.await {
        Err(_) => return Err(no_server("timed out".to_owned())),
        Ok(Err(e)) => return Err(e),
        Ok(Ok(Ok((socket, _response)))) => socket,
        Ok(Ok(Err(tungstenite::Error::Http(response)))) => {
            let body = response.body().as_deref().unwrap_or_default();
            let text = String::from_utf8_lossy(body);
            return Err(status_error(endpoint, response.status().as_u16(), &text));
        }
        Ok(Ok(Err(tungstenite::Error::Io(e)))) => return Err(no_server(root_cause(&e))),
        Ok(Ok(Err(e))) => {
            return Err(Error::other(format!(
                "cannot attach through {}: {e}",
                endpoint.url
            )));
        }
    };
    let lost = |reason: String| Error::ConnectionLost {
        url: endpoint.url.clone(),
        reason,
    };
    let first = tokio::time::timeout(CONNECT_TIMEOUT, socket.next())
        .await
        .map_err(|_| lost("no hello from the server".to_owned()))?;
    match first {
        Some(Ok(Message::Text(text))) => match v1::decode_event(&text) {
            Ok(ServerEvent::Hello { .. }) => Ok(socket),
            Ok(ServerEvent::Error { error }) => Err(Error::Api {
                status: 0,
                code: error.code,
                message: error.message,
            }),
            _ => Err(lost(format!("expected hello, got {text}"))),
        },
        Some(Ok(other)) => Err(lost(format!("expected hello, got {other:?}"))),
        Some(Err(e)) => Err(lost(root_cause(&e))),
        None => Err(lost("closed before hello".to_owned())),
    }
}

/// Relays between the terminal and the socket until a detach or the end.
async fn relay(
    socket: &mut Socket,
    endpoint: &Endpoint,
    options: &AttachOptions,
    modes: &mut Modes,
) -> Result<Outcome> {
    let lost = |reason: String| Error::ConnectionLost {
        url: endpoint.url.clone(),
        reason,
    };
    let signal_error = |e: io::Error| Error::other(format!("cannot handle signals: {e}"));
    let mut winch = signal(SignalKind::window_change()).map_err(signal_error)?;
    let mut term = signal(SignalKind::terminate()).map_err(signal_error)?;
    let mut hangup = signal(SignalKind::hangup()).map_err(signal_error)?;
    let mut keys = spawn_key_reader()?;
    let mut detacher = Detacher::new(options.prefix);
    let mut stdout = io::stdout();
    let write_error = |e: io::Error| Error::other(format!("cannot write to the terminal: {e}"));
    let mut ended = None;
    loop {
        tokio::select! {
            message = socket.next() => match message {
                Some(Ok(Message::Binary(bytes))) => {
                    modes.feed(&bytes);
                    stdout.write_all(&bytes).and_then(|()| stdout.flush()).map_err(write_error)?;
                }
                Some(Ok(Message::Text(text))) => {
                    if let Ok(ServerEvent::Exit { exit }) = v1::decode_event(&text) {
                        ended = Some(exit);
                    }
                    // Other events need nothing here: a resize or title is
                    // in the output already, a lag is followed by a fresh
                    // snapshot, and an error answers input we sent.
                }
                Some(Ok(Message::Close(frame))) => {
                    return ended.map(Outcome::Ended).ok_or_else(|| {
                        lost(match frame {
                            Some(f) => format!("the server closed the connection ({} {})", u16::from(f.code), f.reason),
                            None => "the server closed the connection".to_owned(),
                        })
                    });
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    return ended.map(Outcome::Ended).ok_or_else(|| lost(root_cause(&e)));
                }
                None => {
                    return ended.map(Outcome::Ended).ok_or_else(|| lost("the connection ended".to_owned()));
                }
            },
            typed = keys.recv() => {
                let Some(bytes) = typed else {
                    // The terminal is gone (hung up): nothing left to show.
                    return Ok(Outcome::Detached);
                };
                let step = detacher.feed(&bytes);
                if !step.send.is_empty() && !options.readonly {
                    socket
                        .send(Message::binary(step.send))
                        .await
                        .map_err(|e| lost(root_cause(&e)))?;
                }
                if step.detach {
                    return Ok(Outcome::Detached);
                }
            }
            _ = winch.recv() => {
                if let (false, Some((cols, rows))) = (options.readonly, terminal::size()) {
                    let resize = ClientMessage::Resize { cols: cols.into(), rows: rows.into() };
                    socket
                        .send(Message::text(v1::encode_client(&resize)))
                        .await
                        .map_err(|e| lost(root_cause(&e)))?;
                }
            }
            _ = term.recv() => return Ok(Outcome::Detached),
            _ = hangup.recv() => return Ok(Outcome::Detached),
        }
    }
}

/// Reads the terminal on a thread of its own (a blocking read of stdin,
/// which leaves the terminal's file flags alone, unlike a non-blocking
/// one). The thread ends at end of input, or with the process.
fn spawn_key_reader() -> Result<mpsc::Receiver<Vec<u8>>> {
    let (tx, rx) = mpsc::channel(KEY_QUEUE);
    std::thread::Builder::new()
        .name("ptyhub-keys".to_owned())
        .spawn(move || {
            let mut stdin = io::stdin().lock();
            let mut buf = [0u8; 4096];
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        if tx.blocking_send(buf[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        })
        .map_err(|e| Error::other(format!("cannot start the key reader: {e}")))?;
    Ok(rx)
}
