//! The file side of a recording: creates the file (mode 0600, its
//! directory 0700), writes each event as one complete line with one write
//! (so a file cut short by a crash or SIGKILL is valid up to its last
//! line), enforces `record_max_bytes`, and turns I/O errors into the
//! recording's `failed` state. Runs as a job on tokio's blocking pool, never
//! on the session's output path.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use bytes::Bytes;

use super::cast::{self, Header, Kind};

/// Room kept for the last marker when `record_max_bytes` is reached.
const STOP_RESERVE: u64 = 64;

/// Output events closer than this (seconds) are written as one line: a
/// flood of 4 KiB reads becomes a few large events instead of thousands.
const MERGE_WITHIN: f64 = 0.02;

/// The most output merged into one line.
const MERGE_BYTES: usize = 1 << 20;

/// One thing to write, stamped with its time since the session started.
#[derive(Debug)]
pub(crate) enum Event {
    /// The header: creates the file.
    Header(Box<Header>),
    /// Program output.
    Output(f64, Bytes),
    /// Typed input.
    Input(f64, Bytes),
    /// A size change.
    Resize(f64, u16, u16),
    /// A marker.
    Marker(f64, String),
    /// The end of the output: what is left of an incomplete character,
    /// then the exit marker.
    End(f64, String),
}

impl Event {
    /// Bytes this event holds (for the queue's bound).
    pub fn weight(&self) -> usize {
        match self {
            Event::Output(_, b) | Event::Input(_, b) => b.len(),
            _ => 64,
        }
    }
}

/// Why the writer stopped.
#[derive(Debug)]
pub(crate) enum Halt {
    /// `record_max_bytes` reached: the stop marker is written.
    Stopped(String),
    /// The file could not be made or written.
    Failed(String),
}

/// The open file and what was written to it.
#[derive(Debug)]
pub(crate) struct Writer {
    file: Option<File>,
    path: std::path::PathBuf,
    /// Bytes in the file.
    pub written: u64,
    max_bytes: u64,
    /// An incomplete character at the end of the last output.
    carry: Vec<u8>,
    line: Vec<u8>,
    halted: bool,
}

impl Writer {
    pub fn new(path: std::path::PathBuf, max_bytes: u64) -> Writer {
        Writer {
            file: None,
            path,
            written: 0,
            max_bytes,
            carry: Vec::new(),
            line: Vec::new(),
            halted: false,
        }
    }

    /// Writes a batch in order; output events close in time are merged.
    /// Returns why the recording ended, if it did (further calls do
    /// nothing).
    pub fn write(&mut self, events: Vec<Event>) -> Result<(), Halt> {
        if self.halted {
            return Ok(());
        }
        let r = self.write_all(events);
        if r.is_err() {
            self.halted = true;
            self.file = None;
        }
        r
    }

    fn write_all(&mut self, events: Vec<Event>) -> Result<(), Halt> {
        let mut events = events.into_iter().peekable();
        while let Some(event) = events.next() {
            match event {
                Event::Header(h) => self.create(&h)?,
                Event::Output(t, first) => {
                    let mut text = cast::decode(&mut self.carry, &first);
                    // Merged no further than the room left under
                    // record_max_bytes: one large merged event past the limit
                    // would lose every chunk in it, each of which fit.
                    let room = self.max_bytes.saturating_sub(self.written + STOP_RESERVE);
                    let most = MERGE_BYTES.min(usize::try_from(room).unwrap_or(usize::MAX));
                    while let Some(Event::Output(next_t, next)) = events.peek() {
                        if next_t - t > MERGE_WITHIN || text.len() + next.len() > most {
                            break;
                        }
                        text += &cast::decode(&mut self.carry, next);
                        events.next();
                    }
                    if !text.is_empty() {
                        self.line(t, Kind::Output, &text)?;
                    }
                }
                Event::Input(t, data) => {
                    self.line(t, Kind::Input, &String::from_utf8_lossy(&data))?;
                }
                Event::Resize(t, cols, rows) => {
                    self.line(t, Kind::Resize, &format!("{cols}x{rows}"))?;
                }
                Event::Marker(t, label) => self.line(t, Kind::Marker, &label)?,
                Event::End(t, label) => {
                    let rest = cast::flush(&mut self.carry);
                    if !rest.is_empty() {
                        self.line(t, Kind::Output, &rest)?;
                    }
                    self.line(t, Kind::Marker, &label)?;
                    if let Some(file) = &self.file {
                        // The end is worth a sync; lines before it are not
                        // (they are in the page cache, which a crash of the
                        // server alone does not lose).
                        let _ = file.sync_data();
                    }
                }
            }
        }
        Ok(())
    }

    fn create(&mut self, header: &Header) -> Result<(), Halt> {
        let failed = |what: &str, path: &Path, e: std::io::Error| {
            Halt::Failed(format!("{what} {}: {e}", path.display()))
        };
        if let Some(dir) = self.path.parent() {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| failed("cannot create the directory", dir, e))?;
        }
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&self.path)
            .map_err(|e| failed("cannot create", &self.path, e))?;
        self.file = Some(file);
        let line = cast::header_line(header);
        self.put(&line)
    }

    /// One event line, unless it would take the file past the limit: then
    /// the stop marker instead, and the recording ends.
    fn line(&mut self, t: f64, kind: Kind, text: &str) -> Result<(), Halt> {
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        cast::event_line(&mut line, t, kind, text);
        let r = if self.written + line.len() as u64 + STOP_RESERVE > self.max_bytes {
            if kind == Kind::Output {
                // Output is cut anywhere between characters anyway: what
                // fits is written as an event of its own before the stop.
                self.fitting_output(&mut line, t, text)?;
            }
            line.clear();
            cast::event_line(&mut line, t, Kind::Marker, "recording:stopped");
            self.put(&line).and(Err(Halt::Stopped(format!(
                "record_max_bytes ({} bytes) reached",
                self.max_bytes
            ))))
        } else {
            self.put(&line)
        };
        self.line = line;
        r
    }

    /// Writes the longest head of `text` (whole characters) whose event
    /// line fits under the limit, if any does.
    fn fitting_output(&mut self, line: &mut Vec<u8>, t: f64, text: &str) -> Result<(), Halt> {
        let room = self.max_bytes.saturating_sub(self.written + STOP_RESERVE);
        let mut budget = usize::try_from(room).unwrap_or(usize::MAX).min(text.len());
        while budget > 0 {
            let mut cut = budget;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            line.clear();
            cast::event_line(line, t, Kind::Output, &text[..cut]);
            let over = (line.len() as u64).saturating_sub(room);
            if over == 0 {
                return if cut == 0 { Ok(()) } else { self.put(line) };
            }
            // Escapes make a line longer than its text: shrink by the excess.
            budget = cut.saturating_sub(usize::try_from(over).unwrap_or(usize::MAX).max(1));
        }
        Ok(())
    }

    /// Writes one whole line; on an error, cuts the file back to its last
    /// whole line.
    fn put(&mut self, line: &[u8]) -> Result<(), Halt> {
        let Some(file) = self.file.as_mut() else {
            return Err(Halt::Failed("the recording file is not open".into()));
        };
        match file.write_all(line) {
            Ok(()) => {
                self.written += line.len() as u64;
                Ok(())
            }
            Err(e) => {
                let _ = file.set_len(self.written);
                Err(Halt::Failed(format!(
                    "cannot write {}: {e}",
                    self.path.display()
                )))
            }
        }
    }
}
