//! Recording a session as an asciicast v2 file, off its output path.
//!
//! ```text
//! ring ─observer client─▶ feed task ─bounded queue─▶ writer job (blocking pool) ─▶ file
//! ```
//!
//! The recorder is a client of the ring like a WebSocket client (its own
//! cursor, the same stall and lag rules), but not counted in `clients`.
//! Its feed task only stamps events and moves them to the recorder's own
//! queue, bounded at [`QUEUE_BYTES`]; the writing (UTF-8 decoding, JSON,
//! the `write`s) is a job on tokio's blocking pool, started when events
//! arrive and ended once the queue is empty (no thread per recording). A
//! slow disk therefore fills the recorder's queue, not the session's: output
//! that does not fit is dropped from the recording, and once there is room
//! again the recording carries a `recording:lagged:N` marker (N bytes
//! missed) and a snapshot of the screen, so that it replays correctly from
//! there on. An unwritable directory or a full disk makes the recording
//! `failed` (logged once); the session goes on.
//!
//! Markers: `status:STATUS` at each status change while the program runs,
//! `exit:CODE` or `exit:SIGNAL` at the end, `recording:stopped` when
//! `record_max_bytes` is reached, and whatever [`Session::record_marker`]
//! is given (the hook for agent-state markers such as `agent:waiting`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use bytes::Bytes;
use ptyhub_protocol::api::{ExitInfo, RecordingInfo, RecordingState};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::output::lock;
use crate::session::{Change, Session};
use crate::{AttachOptions, ClientEvent};

mod cast;
mod files;
mod writer;

pub use cast::Header;
pub use files::{RecordingFile, default_dir, file_name, find, list, parse_id};
use writer::{Event, Halt, Writer};

/// Events waiting for the writer, in bytes, at most: what a slow disk may
/// lag behind the session before output is dropped from the recording.
/// 8 MiB is a few seconds of a flood, and many minutes of an interactive
/// program.
pub const QUEUE_BYTES: usize = 8 << 20;

/// How sessions are recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordConfig {
    /// Where the files go (made with mode 0700 when missing).
    pub dir: PathBuf,
    /// Record what clients type (`"i"` events).
    pub input: bool,
    /// The most bytes one file may take.
    pub max_bytes: u64,
}

/// A session's recording, if it has one.
#[derive(Default)]
pub(crate) struct Slot(Mutex<Option<Arc<Recorder>>>);

impl Slot {
    fn get(&self) -> Option<Arc<Recorder>> {
        lock(&self.0).clone()
    }

    /// The session object's `recording`.
    pub fn info(&self) -> Option<RecordingInfo> {
        self.get().map(|r| r.info())
    }

    /// Input written to the program (recorded only with `record_input`).
    pub fn input(&self, t: std::time::Duration, data: Bytes) {
        if let Some(r) = self.get()
            && r.input
            && !r.push(Event::Input(t.as_secs_f64(), data), true)
        {
            tracing::debug!("recording queue full: input not recorded");
        }
    }
}

/// The recorder's state.
#[derive(Debug)]
struct Status {
    state: RecordingState,
    error: Option<String>,
}

/// Events for the writer, and whether its job runs.
#[derive(Debug, Default)]
struct Queue {
    events: Vec<Event>,
    bytes: usize,
    running: bool,
}

/// One session's recording: shared by its feed task, its writer jobs and
/// the session (for `info`, input and markers).
pub(crate) struct Recorder {
    path: PathBuf,
    input: bool,
    session: Weak<Session>,
    /// Lock order: `queue` is never held while `writer` is taken.
    queue: Mutex<Queue>,
    writer: Mutex<Writer>,
    status: Mutex<Status>,
    /// The file's size, as written so far.
    bytes: AtomicU64,
    /// The writer emptied the queue (the feed may resynchronise).
    drained: Notify,
    /// Cancelled when the recording stopped or failed.
    halted: CancellationToken,
}

impl Recorder {
    fn info(&self) -> RecordingInfo {
        let status = lock(&self.status);
        RecordingInfo {
            state: status.state,
            bytes: self.bytes.load(Ordering::Relaxed),
            error: status.error.clone(),
        }
    }

    /// Queues an event for the writer; a `droppable` one only while the
    /// queue has room. False when it was not queued.
    fn push(self: &Arc<Self>, event: Event, droppable: bool) -> bool {
        if self.halted.is_cancelled() {
            return false;
        }
        let weight = event.weight();
        let mut q = lock(&self.queue);
        if droppable && q.bytes + weight > QUEUE_BYTES {
            return false;
        }
        q.bytes += weight;
        q.events.push(event);
        if !std::mem::replace(&mut q.running, true) {
            drop(q);
            let me = self.clone();
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn_blocking(move || me.drain());
                }
                Err(_) => me.drain(),
            }
        }
        true
    }

    /// Whether the queue has room for output again (after a lag).
    fn has_room(&self) -> bool {
        lock(&self.queue).bytes <= QUEUE_BYTES / 2
    }

    /// The writer's job: writes what is queued until the queue is empty.
    fn drain(self: Arc<Self>) {
        loop {
            let events = {
                let mut q = lock(&self.queue);
                if q.events.is_empty() {
                    q.running = false;
                    return;
                }
                q.bytes = 0;
                std::mem::take(&mut q.events)
            };
            let mut writer = lock(&self.writer);
            let result = writer.write(events);
            self.bytes.store(writer.written, Ordering::Relaxed);
            drop(writer);
            self.drained.notify_waiters();
            if let Err(halt) = result {
                self.halt(halt);
            }
        }
    }

    fn halt(&self, halt: Halt) {
        let (state, error) = match halt {
            Halt::Stopped(why) => {
                tracing::info!(path = %self.path.display(), "recording stopped: {why}");
                (RecordingState::Stopped, why)
            }
            Halt::Failed(why) => {
                tracing::warn!("recording failed (the session goes on): {why}");
                (RecordingState::Failed, why)
            }
        };
        {
            let mut status = lock(&self.status);
            status.state = state;
            status.error = Some(error);
        }
        self.halted.cancel();
        lock(&self.queue).events.clear();
        if let Some(session) = self.session.upgrade() {
            session.changed(Change::Status);
        }
    }
}

/// Starts recording `session` into `config.dir`; returns the file's path.
/// A session already recorded keeps its recording. Call it on the runtime,
/// right after the session was created (its output from offset 0 is still
/// in the scrollback then).
pub fn start(session: &Arc<Session>, config: &RecordConfig) -> PathBuf {
    // Before the slot's lock: `info` reads the slot.
    let info = session.info();
    let mut slot = lock(&session.recording.0);
    if let Some(r) = slot.as_ref() {
        return r.path.clone();
    }
    let created = OffsetDateTime::parse(&info.created_at, &Rfc3339)
        .unwrap_or_else(|_| OffsetDateTime::now_utc());
    let path = config.dir.join(file_name(created, session.id()));
    let header = Header {
        cols: info.cols,
        rows: info.rows,
        timestamp: created.unix_timestamp(),
        title: info.name.clone().unwrap_or_else(|| info.command.join(" ")),
        shell: std::env::var("SHELL").ok(),
        id: info.id.clone(),
        name: info.name,
        provider: info.provider,
    };
    let recorder = Arc::new(Recorder {
        path: path.clone(),
        input: config.input,
        session: Arc::downgrade(session),
        queue: Mutex::default(),
        writer: Mutex::new(Writer::new(path.clone(), config.max_bytes)),
        status: Mutex::new(Status {
            state: RecordingState::On,
            error: None,
        }),
        bytes: AtomicU64::new(0),
        drained: Notify::new(),
        halted: CancellationToken::new(),
    });
    *slot = Some(recorder.clone());
    drop(slot);
    recorder.push(Event::Header(Box::new(header)), false);
    tokio::spawn(feed(session.clone(), recorder));
    // The session object now has `recording`: its listeners (the events
    // stream, the other nodes) hear of it.
    session.changed(Change::Status);
    path
}

impl Session {
    /// The session object's `recording` field.
    pub fn recording_info(&self) -> Option<RecordingInfo> {
        self.recording.info()
    }

    /// Where its recording is written, when it is recorded.
    pub fn recording_path(&self) -> Option<PathBuf> {
        self.recording.get().map(|r| r.path.clone())
    }

    /// Adds a marker (`[t, "m", label]`) to its recording, if any: the hook
    /// for agent-state changes (`agent:waiting`, `agent:busy`, ...).
    pub fn record_marker(&self, label: &str) {
        if let Some(r) = self.recording.get() {
            r.push(
                Event::Marker(self.age().as_secs_f64(), label.to_owned()),
                false,
            );
        }
    }
}

/// The marker at the end: `exit:CODE`, else `exit:SIGNAL`, else the reason.
pub fn exit_label(exit: &ExitInfo) -> String {
    match (exit.code, &exit.signal) {
        (Some(code), _) => format!("exit:{code}"),
        (None, Some(signal)) => format!("exit:{signal}"),
        (None, None) => format!("exit:{}", exit.reason.as_str()),
    }
}

/// The feed task: takes the session's output, sizes, status changes and
/// exit as an observer client and queues them for the writer.
async fn feed(session: Arc<Session>, rec: Arc<Recorder>) {
    let t = || session.age().as_secs_f64();
    let attached = session.attach_observer(AttachOptions {
        since: Some(0),
        snapshot: true,
        ..AttachOptions::default()
    });
    let (mut client, start) = match attached {
        Ok(attached) => attached,
        Err(e) => {
            rec.halt(Halt::Failed(format!("cannot follow the output: {e}")));
            return;
        }
    };
    if !start.resumed {
        // The first output was already gone: start from the screen.
        rec.push(
            Event::Marker(t(), format!("recording:lagged:{}", start.offset)),
            false,
        );
        rec.push(Event::Output(t(), Bytes::from(start.snapshot)), false);
    }
    let mut changes = session.subscribe_changes();
    let mut status = session.status();
    // Output bytes dropped from the recording since its queue was full.
    let mut missed: u64 = 0;
    loop {
        tokio::select! {
            event = client.next() => match event {
                None => break,
                Some(ClientEvent::Output(bytes)) => {
                    if missed > 0 && rec.has_room() {
                        client = resync(&session, &rec, client, &mut missed);
                        continue;
                    }
                    let n = bytes.len() as u64;
                    if missed > 0 || !rec.push(Event::Output(t(), bytes), true) {
                        missed += n;
                    }
                }
                Some(ClientEvent::Lagged { dropped_bytes, snapshot, .. }) => {
                    let label = format!("recording:lagged:{}", dropped_bytes + missed);
                    rec.push(Event::Marker(t(), label), false);
                    rec.push(Event::Output(t(), Bytes::from(snapshot)), false);
                    missed = 0;
                }
                Some(ClientEvent::Resize(size)) => {
                    rec.push(Event::Resize(t(), size.cols, size.rows), false);
                }
                Some(ClientEvent::Title(_)) => {}
                Some(ClientEvent::Exit(exit)) => {
                    if missed > 0 {
                        client = resync(&session, &rec, client, &mut missed);
                        drop(client);
                    }
                    rec.push(Event::End(t(), exit_label(&exit)), false);
                    break;
                }
            },
            changed = changes.changed() => {
                if changed.is_err() {
                    break;
                }
                let now = session.status();
                if now != status && !now.is_ended() {
                    rec.push(Event::Marker(t(), format!("status:{}", now.as_str())), false);
                }
                status = now;
            }
            () = rec.drained.notified(), if missed > 0 => {
                if rec.has_room() {
                    client = resync(&session, &rec, client, &mut missed);
                }
            }
            () = rec.halted.cancelled() => break,
        }
    }
}

/// After output was dropped from the recording: a marker, then a fresh
/// snapshot of the screen and the live output from there (a new observer
/// in place of the old one).
fn resync(
    session: &Arc<Session>,
    rec: &Arc<Recorder>,
    old: crate::Client,
    missed: &mut u64,
) -> crate::Client {
    let attached = session.attach_observer(AttachOptions {
        snapshot: true,
        ..AttachOptions::default()
    });
    let Ok((client, start)) = attached else {
        return old;
    };
    drop(old);
    let t = session.age().as_secs_f64();
    rec.push(
        Event::Marker(t, format!("recording:lagged:{missed}")),
        false,
    );
    let mut snapshot = b"\x1b[?1049l".to_vec();
    snapshot.extend_from_slice(&start.snapshot);
    rec.push(Event::Output(t, Bytes::from(snapshot)), false);
    *missed = 0;
    client
}
