//! The server-side screen: a terminal model fed with every output byte, on
//! its own thread, off the read → fan-out path; and its snapshot, the bytes
//! that rebuild the current state in a fresh terminal (`screen/snapshot.rs`).
//!
//! The model is vt100 0.18.1, vendored and patched (`vendor/vt100`, changes
//! in its PATCHES.md) to carry what xterm.js carries: SGR in full (colon
//! sub-parameters, underline styles and colour, blink, invisible,
//! strikethrough, overline, bold+dim), OSC 8, charsets G0–G3, tab stops,
//! autowrap, insert, origin, reverse wraparound, focus events, DECSC state
//! per screen, soft-wrap flags and BCE. Chosen over alacritty_terminal by
//! what was measured and what it takes: alacritty parses plain lines 2–3x
//! faster, but the plain-text skip below already takes floods off the
//! parser (the CPU per 100 MB is the skip's, not the parser's), while
//! alacritty lacks blink, overline and reverse wraparound, keeps tab stops
//! and the saved cursor's charset private, and has no serializer: patching
//! the crate in use kept every guarantee here (the skip, frames, query
//! answers at the exact byte) and its tests, and the serializer is ours
//! either way. Throughput against upstream vt100 and snapshot times are in
//! BENCHMARKS.md ("Screen model"); the differential harness
//! (`web/screen-diff`) checks snapshots against xterm.js itself.
//! The parser keeps no history (scrollback 0): history is the raw ring.
//!
//! A flood of plain lines is not parsed byte by byte: of a run of text
//! without escape sequences, only the lines that can still be on the screen
//! at its end are fed (see [`Screen::process`]), which gives the same screen
//! and takes the screen thread under `yes`-style output from about 3 s to
//! about 0.15 s of CPU per 100 MB (BENCHMARKS.md, "Session core").

use std::num::NonZeroU16;
use std::ops::Range;
use std::time::{Duration, Instant};

use ptyhub_pty::WindowSize;

use crate::replies::{self, Event, Found, Kind, Scanner};

/// Window-title tracking (vt100 reports OSC 0/2 through callbacks).
///
/// Only the title: the plain-text skip in [`Screen::process`] relies on
/// C0 controls other than BS, HT, LF, VT, FF, CR, SO and SI having no effect (vt100
/// calls `audible_bell` and `unhandled_control` for them, which this does not
/// implement).
#[derive(Clone, Debug, Default)]
pub(crate) struct Callbacks {
    pub title: String,
    pub title_changed: bool,
}

impl vt100::Callbacks for Callbacks {
    fn set_window_title(&mut self, _: &mut vt100::Screen, title: &[u8]) {
        let title = String::from_utf8_lossy(title).into_owned();
        if title != self.title {
            self.title = title;
            self.title_changed = true;
        }
    }
}

/// A synchronized-output frame (DEC mode 2026) that is still open: the
/// screen as it was at its BSU, and the BSU's offset.
struct Frame {
    snapshot: Vec<u8>,
    offset: u64,
    opened: Instant,
}

/// A frame open longer than this is served live (a program that never
/// ends its frame must not freeze what late joiners see).
pub(crate) const FRAME_MAX_AGE: Duration = Duration::from_secs(1);

/// A frame with more output than this since its BSU is served live (a late
/// joiner would otherwise replay too much, and the ring may drop it).
pub(crate) const FRAME_MAX_BYTES: u64 = 256 << 10;

/// The server's model of a session's terminal: a parser fed with every
/// output byte, the output offset it has reached, and what it needs to
/// answer queries and cut snapshots (see the module documentation).
pub struct Screen {
    parser: vt100::Parser<Callbacks>,
    /// Every byte before this offset has been processed.
    pub offset: u64,
    /// Finds queries, screen switches and frames in the output.
    scanner: Scanner,
    /// The scanner's findings in the current chunk (kept for its capacity).
    found: Vec<Found>,
    /// Replies to queries, not yet written to the program.
    replies: Vec<u8>,
    /// The kinds of query seen since the last [`Screen::take_replies`].
    asked: Vec<Kind>,
    /// Between BSU and ESU.
    sync_open: bool,
    /// The open frame's start, when it spans a chunk boundary.
    frame: Option<Frame>,
    /// The scanner's plain-text spans in the current chunk (kept for its
    /// capacity).
    plain: Vec<Range<usize>>,
    /// The colour changes inside the joined plain spans of the current
    /// chunk (kept for its capacity).
    sgr: Vec<Range<usize>>,
    /// Output bytes left out by [`Screen::skip_plain`] so far.
    skipped: u64,
}

/// Plain-text spans shorter than this are parsed byte by byte.
const MIN_SKIP: usize = 1 << 10;

fn nz(v: u16) -> NonZeroU16 {
    NonZeroU16::new(v).unwrap_or(NonZeroU16::MIN)
}

impl Screen {
    /// A blank screen of `size`, at offset 0.
    pub fn new(size: WindowSize) -> Screen {
        Screen {
            parser: vt100::Parser::new_with_callbacks(
                nz(size.rows),
                nz(size.cols),
                0,
                Callbacks::default(),
            ),
            offset: 0,
            scanner: Scanner::default(),
            found: Vec::new(),
            replies: Vec::new(),
            asked: Vec::new(),
            sync_open: false,
            frame: None,
            plain: Vec::new(),
            sgr: Vec::new(),
            skipped: 0,
        }
    }

    /// Feeds the next output bytes (from `self.offset` on). On the way:
    /// captures the primary screen at each switch to the alternate one,
    /// answers queries from the state right before them, keeps the state at
    /// the start of an open synchronized-output frame, and leaves out the
    /// part of long plain-text runs that cannot change the result (see
    /// `Screen::skip_plain`).
    pub fn process(&mut self, bytes: &[u8]) {
        let base = self.offset;
        let mut found = std::mem::take(&mut self.found);
        let mut plain = std::mem::take(&mut self.plain);
        found.clear();
        plain.clear();
        self.scanner.scan_spans(bytes, &mut found, &mut plain, 1);
        // Plain runs joined across the colour changes (SGR) between them: a
        // coloured flood (build logs, `ls --color`) is skipped like a plain
        // one; the colours in a skipped part are fed (see `skip_plain`).
        let mut sgr = std::mem::take(&mut self.sgr);
        sgr.clear();
        // Joined in place: no allocation per chunk on the screen thread.
        let mut kept = 0;
        for k in 0..plain.len() {
            let span = plain[k].clone();
            if kept > 0 && only_sgr(&bytes[plain[kept - 1].end..span.start]) {
                sgr.push(plain[kept - 1].end..span.start);
                plain[kept - 1].end = span.end;
            } else {
                plain[kept] = span;
                kept += 1;
            }
        }
        plain.truncate(kept);
        plain.retain(|s| s.len() >= MIN_SKIP);
        let mut spans = plain.iter().peekable();
        let mut done = 0;
        for (i, f) in found.iter().enumerate() {
            // Everything up to the sequence's final byte: the screen as the
            // program left it before the sequence takes effect.
            let last = f.end - 1;
            while let Some(span) = spans.next_if(|s| s.end <= last) {
                done = self.skip_plain(bytes, done, span.clone(), &sgr);
            }
            if last > done {
                self.parser.process(&bytes[done..last]);
                done = last;
            }
            match f.event {
                // The model keeps the screens' scroll regions itself.
                Event::AltScreenOn | Event::Reset | Event::ScrollRegion(_) => {}
                Event::SyncBegin if !self.sync_open => {
                    self.sync_open = true;
                    // A frame that ends within this chunk is never seen
                    // half-drawn (snapshots wait for the chunk): no copy.
                    let ends_here = found[i + 1..].iter().any(|g| g.event == Event::SyncEnd);
                    if !ends_here {
                        self.frame = Some(Frame {
                            snapshot: self.snapshot_live(),
                            offset: base + f.end as u64 - f.len,
                            opened: Instant::now(),
                        });
                    }
                }
                Event::SyncBegin => {}
                Event::SyncEnd => {
                    self.sync_open = false;
                    self.frame = None;
                }
                Event::Query(query) => {
                    self.asked.push(query.kind());
                    if let Some(reply) =
                        replies::answer(query, self.parser.screen(), self.sync_open)
                    {
                        self.replies.extend_from_slice(&reply);
                    }
                }
            }
        }
        for span in spans {
            done = self.skip_plain(bytes, done, span.clone(), &sgr);
        }
        self.parser.process(&bytes[done..]);
        self.offset = base + bytes.len() as u64;
        self.found = found;
        self.plain = plain;
        self.sgr = sgr;
    }

    /// Feeds `bytes[done..span.start]`, and then as little of the plain
    /// text in `span` as gives the same screen as all of it: a flood of
    /// lines only leaves its last screenful. Returns how far `bytes` has
    /// been fed.
    ///
    /// Why it is exact: the parser is in its ground state all through the
    /// span, where only text and C0 controls occur. With the scroll region
    /// the whole screen, nothing there moves the cursor up, so after `rows`
    /// line feeds it is on the last row; every further line feed scrolls.
    /// The skipped part `P` starts after a line feed (no partial UTF-8
    /// character pending), holds at least `rows` line feeds and ends with
    /// CR LF: after it the cursor is at the start of a blank last row, and
    /// nothing else the parser keeps has changed (text and C0 controls only
    /// touch the grid and the cursor, except SO and SI, which select a
    /// character set: the last of them in `P` is fed; the window title,
    /// modes and colours need escape sequences, and [`Callbacks`] ignores
    /// bells). The rows `P` leaves are blank and no continuation of
    /// another, as the rows its real line feeds leave (a line feed ends the
    /// continuation of the row it moves to); the saved cursor's row, which
    /// moves up with each scroll, reaches row 0 either way (more than `rows`
    /// scrolls follow). `CR` and
    /// `rows` LFs leave the parser in the same place from any cursor
    /// position. The rest of the span, which is fed, holds at least `rows`
    /// line feeds, each scrolling, so no row from before it is left on the
    /// screen, and a printable ASCII character, so the last character
    /// (for REP) is its own too.
    ///
    /// A span may hold colour changes (SGR sequences, listed in `sgr`):
    /// they change only the attributes later text is drawn with, so those
    /// of the skipped part are fed, in order, before the line feeds; the
    /// rows drawn meanwhile all scroll away as above. No line feed or other
    /// control is inside them, and the printable character of the rest is
    /// looked for outside them.
    fn skip_plain(
        &mut self,
        bytes: &[u8],
        done: usize,
        span: Range<usize>,
        sgr: &[Range<usize>],
    ) -> usize {
        // Everything before the span first: the region is the model's
        // once the sequences before the span have taken effect.
        self.parser.process(&bytes[done..span.start]);
        let done = span.start;
        let screen = self.parser.screen();
        let rows = screen.size().0.get();
        if screen.scroll_region_of(screen.alternate_screen()) != (0, rows - 1) {
            return done;
        }
        let rows = usize::from(rows);
        let Some((skip_from, skip_to)) = skippable(&bytes[span.clone()], rows, sgr, span.start)
        else {
            return done;
        };
        let (skip_from, skip_to) = (span.start + skip_from, span.start + skip_to);
        self.parser.process(&bytes[done..skip_from]);
        for r in sgr
            .iter()
            .filter(|r| r.start >= skip_from && r.end <= skip_to)
        {
            self.parser.process(&bytes[r.clone()]);
        }
        // SO / SI select the character set: the last one counts.
        if let Some(at) = memchr::memrchr2(b'\x0e', b'\x0f', &bytes[skip_from..skip_to]) {
            self.parser.process(&bytes[skip_from + at..][..1]);
        }
        self.skipped += (skip_to - skip_from) as u64;
        let mut scroll = Vec::with_capacity(rows + 1);
        scroll.push(b'\r');
        scroll.resize(rows + 1, b'\n');
        self.parser.process(&scroll);
        skip_to
    }

    /// The replies to write to the program, and the kinds of query seen,
    /// since the last call.
    pub(crate) fn take_replies(&mut self) -> (Vec<u8>, Vec<Kind>) {
        (
            std::mem::take(&mut self.replies),
            std::mem::take(&mut self.asked),
        )
    }

    /// The terminal's size changes (the program was told, or will be).
    pub fn resize(&mut self, size: WindowSize) {
        // A frame's start at the old size would be redrawn at the new one:
        // serve the live state instead.
        self.frame = None;
        self.parser
            .screen_mut()
            .set_size(nz(size.rows), nz(size.cols));
    }

    /// The snapshot a joining client gets and the offset its live stream
    /// starts at: the state at the BSU of an open synchronized-output frame
    /// (the client then receives the whole frame, never half of it), unless
    /// that frame is older than `FRAME_MAX_AGE` (1 s), longer than
    /// `FRAME_MAX_BYTES` (256 KiB), or starts before `oldest` (the oldest offset
    /// still kept); else the live state.
    pub fn snapshot_at(&self, oldest: u64) -> (Vec<u8>, u64) {
        self.snapshot_at_time(oldest, Instant::now())
    }

    fn snapshot_at_time(&self, oldest: u64, now: Instant) -> (Vec<u8>, u64) {
        if let Some(frame) = &self.frame
            && now.saturating_duration_since(frame.opened) < FRAME_MAX_AGE
            && self.offset - frame.offset <= FRAME_MAX_BYTES
            && frame.offset >= oldest
        {
            return (frame.snapshot.clone(), frame.offset);
        }
        (self.snapshot_live(), self.offset)
    }

    /// Whether the window title changed since the last call.
    pub fn take_title_changed(&mut self) -> bool {
        std::mem::take(&mut self.parser.callbacks_mut().title_changed)
    }

    /// The window title (OSC 0/2).
    pub fn title(&self) -> &str {
        &self.parser.callbacks().title
    }

    /// Bytes that rebuild this screen in a fresh xterm.js: the primary or
    /// alternate screen, text with colours and attributes, cursor position
    /// and visibility, input modes (application cursor and keypad,
    /// bracketed paste, mouse), and the window title.
    pub fn snapshot_live(&self) -> Vec<u8> {
        let screen = self.parser.screen();
        let (rows, cols) = screen.size();
        let mut out = String::with_capacity(usize::from(rows.get()) * usize::from(cols.get()) * 2);
        snapshot::write(screen, &mut out);
        let mut out = out.into_bytes();
        let title = self.title();
        if !title.is_empty() {
            out.extend_from_slice(b"\x1b]2;");
            let title: String = title.chars().filter(|c| !c.is_control()).collect();
            out.extend_from_slice(title.as_bytes());
            out.push(b'\x07');
        }
        out
    }

    /// The visible lines as text, trailing blanks trimmed.
    pub fn lines(&self) -> Vec<String> {
        let screen = self.parser.screen();
        let (_, cols) = screen.size();
        screen
            .rows(0, cols.get())
            .map(|line| line.trim_end().to_owned())
            .collect()
    }

    /// Cursor (row, col), from 0.
    pub fn cursor(&self) -> (u16, u16) {
        self.parser.screen().cursor_position()
    }

    /// The visible screen as escape codes (for `/screen?format=ansi`).
    pub fn ansi(&self) -> String {
        String::from_utf8_lossy(&self.snapshot_live()).into_owned()
    }
}

/// The part of a plain-text span that [`Screen::skip_plain`] may leave
/// out, if any (see there for the conditions).
/// Whether `gap` is one or more SGR sequences (`ESC [ params m`, params
/// digits, `;` and `:` only) and nothing else.
fn only_sgr(mut gap: &[u8]) -> bool {
    if gap.is_empty() {
        return false;
    }
    while !gap.is_empty() {
        let Some(rest) = gap.strip_prefix(b"\x1b[") else {
            return false;
        };
        let params = rest
            .iter()
            .take_while(|b| b.is_ascii_digit() || **b == b';' || **b == b':')
            .count();
        if rest.get(params) != Some(&b'm') {
            return false;
        }
        gap = &rest[params + 1..];
    }
    true
}

/// Where in `text` (which starts at `base` in the chunk; `sgr` holds the
/// chunk's colour changes) a part can be skipped, if anywhere.
fn skippable(
    text: &[u8],
    rows: usize,
    sgr: &[Range<usize>],
    base: usize,
) -> Option<(usize, usize)> {
    let from = memchr::memchr(b'\n', text)? + 1;
    // The end of the skipped part: a CR LF with `rows` line feeds after it.
    let mut to = None;
    let feeds = memchr::memrchr_iter(b'\n', &text[from..]).map(|at| from + at);
    for (after, at) in feeds.enumerate() {
        if after >= rows + 64 {
            break; // lines not ended by CR LF: parse them
        }
        if after >= rows && at > from && text[at - 1] == b'\r' {
            to = Some(at + 1);
            break;
        }
    }
    let to = to?;
    let enough_lines = memchr::memchr_iter(b'\n', &text[from..to])
        .nth(rows - 1)
        .is_some();
    // `sgr` is in order: a binary search, not a scan per byte.
    let in_sgr = |i: usize| {
        let at = base + i;
        let k = sgr.partition_point(|r| r.end <= at);
        sgr.get(k).is_some_and(|r| r.contains(&at))
    };
    let printable = text[to..]
        .iter()
        .enumerate()
        .any(|(i, b)| (0x20..0x7f).contains(b) && !in_sgr(to + i));
    (enough_lines && printable).then_some((from, to))
}

mod preview;
mod snapshot;
#[cfg(test)]
mod tests;
