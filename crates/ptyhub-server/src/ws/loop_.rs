//! The one loop of an attached socket: a `select!` over the socket's
//! frames, the session's events and the server's shutdown. Framing-specific
//! parts are the `decode`/`send` functions below, matched on [`Framing`].

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures::{FutureExt, SinkExt, StreamExt};
use ptyhub_core::{AttachOptions, Client, ClientEvent, CoreError, Session};
use ptyhub_protocol::api::{ErrorDetail, ExitInfo, ExitReason};
use ptyhub_protocol::v1::{ClientMessage, ServerEvent};
use ptyhub_protocol::{Framing, close, tty, v1};
use ptyhub_pty::WindowSize;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::error::ApiError;
use crate::routes::parse_signal;
use crate::state::AppState;

use super::socket::{self, Socket};

/// What a client asked for, whatever its framing.
enum Command {
    Input(Bytes),
    Resize(u32, u32),
    Signal(String),
    Pause,
    Resume,
    Ping,
    Status,
    /// A malformed message: answered with an error event, the socket stays.
    Bad(String),
    Nothing,
}

pub(super) type Sink = futures::stream::SplitSink<Socket, Message>;

/// Input taken from the socket and not yet written to the terminal, at most
/// this much: beyond it the loop stops reading the socket (backpressure to
/// the client through TCP) but goes on writing output and ending.
const INPUT_QUEUE_BYTES: usize = 1 << 20;

/// One message being written to the terminal.
type Writing = Pin<Box<dyn Future<Output = Result<(), CoreError>> + Send>>;

/// The socket's input on its way to the terminal: one write in flight and
/// the messages behind it, in order. Kept apart from the loop's `select!`
/// so that a program that does not read its input never holds up the
/// socket's output, its pongs or its close.
#[derive(Default)]
struct Input {
    writing: Option<Writing>,
    queued: VecDeque<Bytes>,
    queued_bytes: usize,
}

impl Input {
    /// Whether the loop may read another frame.
    fn has_room(&self) -> bool {
        self.queued_bytes < INPUT_QUEUE_BYTES
    }

    fn push(&mut self, session: &Arc<Session>, data: Bytes) {
        if self.writing.is_none() {
            self.start(session, data);
        } else {
            self.queued_bytes += data.len();
            self.queued.push_back(data);
        }
    }

    fn start(&mut self, session: &Arc<Session>, data: Bytes) {
        let session = session.clone();
        self.writing = Some(Box::pin(async move { session.write_input(data).await }));
    }

    /// The end of the write in flight (pending while there is none); the
    /// next queued message starts.
    async fn written(&mut self, session: &Arc<Session>) -> Result<(), CoreError> {
        let Some(writing) = self.writing.as_mut() else {
            return std::future::pending().await;
        };
        let result = writing.await;
        self.writing = None;
        if let Some(next) = self.queued.pop_front() {
            self.queued_bytes -= next.len();
            self.start(session, next);
        }
        result
    }
}

pub(super) async fn close_with(sink: &mut Sink, code: u16, reason: &str) {
    if sink.send(socket::close_frame(code, reason)).await.is_err() {
        tracing::debug!("the client left before the close frame");
    }
    if sink.close().await.is_err() {
        tracing::debug!("closing a socket the client already closed");
    }
}

async fn send_event(sink: &mut Sink, event: &ServerEvent) -> bool {
    sink.send(Message::text(v1::encode_event(event)))
        .await
        .is_ok()
}

/// Output bytes in the framing's shape.
/// A frame of output: the bytes as they are (shared with the session's
/// ring, not copied), or behind `tty`'s type byte.
fn output_frame(framing: Framing, data: Bytes) -> Message {
    match framing {
        Framing::Tty => Message::binary(tty::encode_output(&data)),
        Framing::V1 | Framing::Raw => Message::binary(data),
    }
}

/// After this much output written in one go, the loop looks at the
/// client's own messages again (input, pause) before writing more.
const FLUSH_AFTER: usize = 256 << 10;

/// Writes a frame of output and every further one the client has ready
/// right now (up to [`FLUSH_AFTER`]), then flushes once: a flood goes out
/// in few writes, not one per chunk. Returns the other event met on the
/// way, if any, to be handled next.
async fn send_output(
    sink: &mut Sink,
    client: &mut Client,
    framing: Framing,
    first: Bytes,
) -> Result<Option<Option<ClientEvent>>, tungstenite::Error> {
    let mut written = first.len();
    sink.feed(output_frame(framing, first)).await?;
    let next = loop {
        match client.next().now_or_never() {
            Some(Some(ClientEvent::Output(bytes))) => {
                written += bytes.len();
                sink.feed(output_frame(framing, bytes)).await?;
                if written >= FLUSH_AFTER {
                    break None;
                }
            }
            other => break other,
        }
    };
    sink.flush().await?;
    Ok(next)
}

fn decode(framing: Framing, msg: Message) -> Command {
    match (framing, msg) {
        // Binary input is passed on as it came, not copied.
        (Framing::Raw | Framing::V1, Message::Binary(data)) => Command::Input(data),
        (Framing::Raw, Message::Text(text)) => Command::Input(text.into()),
        (Framing::V1, Message::Text(text)) => match v1::decode_client(&text) {
            Ok(ClientMessage::Input { data }) => Command::Input(Bytes::from(data)),
            Ok(ClientMessage::Resize { cols, rows }) => Command::Resize(cols, rows),
            Ok(ClientMessage::Signal { signal }) => Command::Signal(signal),
            Ok(ClientMessage::Pause) => Command::Pause,
            Ok(ClientMessage::Resume) => Command::Resume,
            Ok(ClientMessage::Ping) => Command::Ping,
            Ok(ClientMessage::Command { content }) => {
                Command::Input(Bytes::from(format!("{content}\r")))
            }
            Ok(ClientMessage::Interrupt) => Command::Signal("SIGINT".into()),
            Ok(ClientMessage::Status) => Command::Status,
            Err(e) => Command::Bad(e.to_string()),
        },
        (Framing::Tty, msg) => match tty::decode_client(socket::payload(&msg)) {
            Ok(tty::TtyClientMessage::Input { data }) => Command::Input(Bytes::from(data)),
            Ok(tty::TtyClientMessage::Resize { columns, rows }) => Command::Resize(columns, rows),
            Ok(tty::TtyClientMessage::Pause) => Command::Pause,
            Ok(tty::TtyClientMessage::Resume) => Command::Resume,
            // ttyd's client sends nothing else; a bad frame is dropped.
            Err(_) => Command::Nothing,
        },
        // Control frames are handled before (pings answered by tungstenite).
        (_, _) => Command::Nothing,
    }
}

/// Runs one attached socket to its end.
pub(super) async fn run(
    socket: Socket,
    state: Arc<AppState>,
    session: Arc<Session>,
    framing: Framing,
    mut opts: AttachOptions,
    auth: super::tty_auth::TtyAuth,
) {
    state
        .counters
        .ws_connections
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (mut sink, mut stream) = socket.split();
    if framing == Framing::Tty {
        // The first message: `{"AuthToken", "columns", "rows"}` within 10 s;
        // anything else closes with 1008 before anything is attached.
        let Some(auth) = super::tty_auth::authenticate(&mut sink, &mut stream, &state, &auth).await
        else {
            return;
        };
        if let Ok(size) = WindowSize::new(auth.columns, auth.rows) {
            opts.size = Some(size);
        }
    }
    let (mut client, start) = match session.attach(opts) {
        Ok(attached) => attached,
        Err(e) => {
            let e: ApiError = e.into();
            if framing == Framing::V1 {
                send_event(
                    &mut sink,
                    &ServerEvent::Error {
                        error: ErrorDetail::new(e.code(), e.message()),
                    },
                )
                .await;
            }
            close_with(&mut sink, close::POLICY, &e.message()).await;
            return;
        }
    };
    let hello_ok = match framing {
        Framing::V1 => {
            send_event(
                &mut sink,
                &ServerEvent::Hello {
                    session: session.info(),
                    readonly: client.readonly(),
                    offset: start.offset,
                    resumed: start.resumed,
                    snapshot_bytes: start.snapshot.len() as u64,
                },
            )
            .await
        }
        Framing::Tty => {
            let title = session.title();
            let title = if title.is_empty() {
                format!(
                    "ptyhub: {}",
                    session.name().unwrap_or_else(|| session.id().to_string())
                )
            } else {
                title
            };
            sink.send(Message::binary(tty::encode_title(&title)))
                .await
                .is_ok()
                && sink
                    .send(Message::binary(tty::encode_preferences(
                        &serde_json::json!({}),
                    )))
                    .await
                    .is_ok()
        }
        Framing::Raw => true,
    };
    if !hello_ok
        || (!start.snapshot.is_empty()
            && sink
                .send(output_frame(framing, Bytes::from(start.snapshot)))
                .await
                .is_err())
    {
        return;
    }
    let end = serve(
        &mut sink,
        &mut stream,
        &mut client,
        &session,
        &state,
        framing,
    )
    .await;
    match end {
        End::Exit(exit) => {
            if framing == Framing::V1 {
                send_event(&mut sink, &ServerEvent::Exit { exit }).await;
            }
            close_with(&mut sink, close::NORMAL, "the session ended").await;
        }
        End::Close(code, reason) => close_with(&mut sink, code, reason).await,
        End::Gone => {}
    }
}

enum End {
    Exit(ExitInfo),
    Close(u16, &'static str),
    Gone,
}

async fn serve(
    sink: &mut Sink,
    stream: &mut futures::stream::SplitStream<Socket>,
    client: &mut Client,
    session: &Arc<Session>,
    state: &AppState,
    framing: Framing,
) -> End {
    // An event met while writing output, handled before waiting again.
    let mut ready: Option<Option<ClientEvent>> = None;
    // Agent state changes go to ptyhub.v1 clients as `agent` events.
    let mut agent = session.subscribe_agent();
    let mut input = Input::default();
    loop {
        let event = match ready.take() {
            Some(event) => event,
            None => tokio::select! {
                frame = stream.next(), if input.has_room() => {
                    if let Some(end) =
                        on_frame(frame, sink, client, session, framing, &mut input).await
                    {
                        return end;
                    }
                    continue;
                }
                written = input.written(session) => {
                    if let Err(e) = written
                        && framing == Framing::V1
                    {
                        let e: ApiError = e.into();
                        let error = ErrorDetail::new(e.code(), e.message());
                        if !send_event(sink, &ServerEvent::Error { error }).await {
                            return End::Gone;
                        }
                    }
                    continue;
                }
                event = client.next() => event,
                changed = agent.changed(), if framing == Framing::V1 => {
                    if changed.is_err() {
                        continue;
                    }
                    let info = agent.borrow_and_update().clone();
                    if !send_event(sink, &ServerEvent::Agent { agent: info }).await {
                        return End::Gone;
                    }
                    continue;
                }
                () = state.shutdown.cancelled() => {
                    // Sessions end first at shutdown, so normally the exit
                    // has been sent already; this is the bound.
                    let exit = session.exit().unwrap_or(ExitInfo {
                        code: None,
                        signal: None,
                        reason: ExitReason::Shutdown,
                    });
                    return End::Exit(exit);
                }
            },
        };
        let ok = match event {
            None => return End::Gone,
            Some(ClientEvent::Output(bytes)) => {
                match send_output(sink, client, framing, bytes).await {
                    Ok(next) => {
                        ready = next;
                        true
                    }
                    Err(_) => false,
                }
            }
            Some(ClientEvent::Exit(exit)) => return End::Exit(exit),
            Some(ClientEvent::Lagged {
                dropped_bytes,
                offset,
                snapshot,
            }) => {
                let notice = framing != Framing::V1
                    || send_event(
                        sink,
                        &ServerEvent::Lagged {
                            dropped_bytes,
                            offset,
                            snapshot_bytes: snapshot.len() as u64,
                        },
                    )
                    .await;
                notice
                    && sink
                        .send(output_frame(framing, Bytes::from(snapshot)))
                        .await
                        .is_ok()
            }
            Some(ClientEvent::Resize(size)) => {
                framing != Framing::V1
                    || send_event(
                        sink,
                        &ServerEvent::Resize {
                            cols: size.cols,
                            rows: size.rows,
                        },
                    )
                    .await
            }
            Some(ClientEvent::Title(title)) => match framing {
                Framing::V1 => send_event(sink, &ServerEvent::Title { title }).await,
                Framing::Tty => sink
                    .send(Message::binary(tty::encode_title(&title)))
                    .await
                    .is_ok(),
                Framing::Raw => true,
            },
        };
        if !ok {
            return End::Gone;
        }
    }
}

/// One frame from the client: carried out; `Some` when it ends the loop.
async fn on_frame(
    frame: Option<Result<Message, tungstenite::Error>>,
    sink: &mut Sink,
    client: &mut Client,
    session: &Arc<Session>,
    framing: Framing,
    input: &mut Input,
) -> Option<End> {
    let msg = match frame {
        None => return Some(End::Gone),
        Some(Ok(msg)) => msg,
        Some(Err(e)) if socket::is_bad_utf8(&e) => {
            return Some(End::Close(
                close::INVALID_DATA,
                "invalid UTF-8 in a text frame",
            ));
        }
        Some(Err(e)) if socket::is_too_big(&e) => {
            return Some(End::Close(close::TOO_BIG, "message too big"));
        }
        Some(Err(_)) => return Some(End::Gone),
    };
    if msg.is_close() {
        return Some(End::Gone);
    }
    if msg.is_ping() || msg.is_pong() {
        return None;
    }
    let cmd = decode(framing, msg);
    if let Some(reply) = apply(cmd, client, session, framing, input)
        && !send_event(sink, &reply).await
    {
        return Some(End::Gone);
    }
    None
}

/// Carries out one command (input is queued, see [`Input`]); returns the
/// event to answer with, if any.
fn apply(
    cmd: Command,
    client: &mut Client,
    session: &Arc<Session>,
    framing: Framing,
    input: &mut Input,
) -> Option<ServerEvent> {
    let readonly_drop = client.readonly() && framing != Framing::V1;
    let result: Result<Option<ServerEvent>, ApiError> = match cmd {
        Command::Nothing => Ok(None),
        // Raw and tty have no error frame: a read-only client's input is dropped.
        Command::Input(_) | Command::Resize(..) | Command::Signal(_) if readonly_drop => Ok(None),
        Command::Input(_) if client.readonly() => Err(CoreError::ReadOnly.into()),
        Command::Input(data) => {
            input.push(session, data);
            Ok(None)
        }
        Command::Resize(cols, rows) => match WindowSize::new(cols, rows) {
            Ok(size) => client.resize(size).map(|()| None).map_err(Into::into),
            Err(e) => Err(ApiError::bad_request("invalid_size", e.to_string())),
        },
        Command::Signal(name) => match parse_signal(&name) {
            Ok(sig) => client.signal(sig).map(|()| None).map_err(Into::into),
            Err(e) => Err(e),
        },
        Command::Pause => {
            client.set_paused(true);
            Ok(None)
        }
        Command::Resume => {
            client.set_paused(false);
            Ok(None)
        }
        Command::Ping => Ok(Some(ServerEvent::Pong)),
        Command::Status => Ok(Some(ServerEvent::Status {
            session: session.info(),
        })),
        Command::Bad(message) => Err(ApiError::bad_request("bad_message", message)),
    };
    match result {
        Ok(reply) => reply,
        Err(_) if framing != Framing::V1 => None,
        Err(e) => Some(ServerEvent::Error {
            error: ErrorDetail::new(e.code(), e.message()),
        }),
    }
}
