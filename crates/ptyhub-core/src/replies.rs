//! Terminal queries, answered once, by the server.
//!
//! Full-screen programs ask the terminal questions (device attributes, the
//! cursor position, the default colours, mode states) and wait for the
//! answers on their input. A session may have no client (started through
//! the API) or several (each browser's xterm.js would answer), so the
//! server answers from its own screen model, as tmux does:
//!
//! - The screen thread runs a [`Scanner`] over the output it parses. The
//!   scanner is a small state machine that survives sequences split across
//!   batches, and it also reports the sequences the screen itself cares
//!   about (alternate screen, synchronized output).
//! - At each query, the screen has parsed every byte before it, so the
//!   cursor position and modes are the program's own; [`answer`] builds the
//!   reply, which goes to the program's input.
//! - Clients answer the same queries. [`Answered`] remembers when the
//!   server last answered each kind, and [`filter_client_replies`] drops
//!   reply-shaped sequences of that kind from input for
//!   [`CLIENT_REPLY_WINDOW`] afterwards.
//!
//! Accepted ambiguity: Ctrl+F3 (`CSI 1;5R`) and other modified F3 keys are
//! byte for byte a cursor position report; one pressed within the window
//! after a cursor position query is dropped. A client reply split across two
//! input messages is not recognised (xterm.js sends each reply whole).
//!
//! The kitty keyboard query (`CSI ? u`) is not answered: programs send it
//! followed by a primary DA query and take "the DA answer came alone" as
//! "not supported", which is the truth for the server's model (crossterm
//! in Codex, Gemini CLI). Clients' answers to it are dropped likewise, so
//! a browser that supports the protocol cannot switch it on behind the
//! model's back.

use std::ops::Range;
use std::time::{Duration, Instant};

/// How long after the server answered a query of some kind client replies
/// of that kind are dropped. A client answers as soon as the query reaches
/// it: well under a second unless its connection is badly backed up.
pub const CLIENT_REPLY_WINDOW: Duration = Duration::from_secs(2);

/// Default colours reported to OSC 10/11/12 queries: the web UI's theme
/// (foreground, background, cursor), as `rgb:rrrr/gggg/bbbb`.
const FOREGROUND: &str = "rgb:d6d6/dddd/e6e6";
const BACKGROUND: &str = "rgb:0b0b/0e0e/1414";

/// What the server answers to `CSI c` (VT100 with advanced video, as
/// xterm.js answers) and `CSI > c` (xterm.js's answer).
const PRIMARY_DA: &[u8] = b"\x1b[?1;2c";
const SECONDARY_DA: &[u8] = b"\x1b[>0;276;0c";

/// The kinds of query, which are also the kinds of reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    PrimaryDa,
    SecondaryDa,
    Status,
    CursorPosition,
    Color,
    Mode,
    Version,
    KittyKeyboard,
}

const KINDS: usize = 8;

impl Kind {
    fn index(self) -> usize {
        self as usize
    }
}

/// A query found in the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Query {
    /// `CSI c`, `CSI 0 c`.
    PrimaryDa,
    /// `CSI > c`, `CSI > 0 c`.
    SecondaryDa,
    /// `CSI 5 n`.
    Status,
    /// `CSI 6 n`, or with `dec` `CSI ? 6 n`.
    CursorPosition { dec: bool },
    /// `OSC 10/11/12 ; ?`, ended by ST (`bel` false) or BEL.
    Color { code: u8, bel: bool },
    /// DECRQM: `CSI ? Pm $ p` (`private`) or `CSI Pm $ p`.
    Mode { mode: u16, private: bool },
    /// XTVERSION: `CSI > q`, `CSI > 0 q`.
    Version,
    /// `CSI ? u`.
    KittyKeyboard,
}

impl Query {
    pub fn kind(self) -> Kind {
        match self {
            Query::PrimaryDa => Kind::PrimaryDa,
            Query::SecondaryDa => Kind::SecondaryDa,
            Query::Status => Kind::Status,
            Query::CursorPosition { .. } => Kind::CursorPosition,
            Query::Color { .. } => Kind::Color,
            Query::Mode { .. } => Kind::Mode,
            Query::Version => Kind::Version,
            Query::KittyKeyboard => Kind::KittyKeyboard,
        }
    }
}

/// What the scanner reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    Query(Query),
    /// `CSI ? 1049 h`, `? 1047 h`, `? 47 h`.
    AltScreenOn,
    /// BSU, `CSI ? 2026 h`.
    SyncBegin,
    /// ESU, `CSI ? 2026 l`.
    SyncEnd,
    /// DECSTBM, `CSI Pt ; Pb r`: the parameters (0 when absent), or `None`
    /// when they are not plain numbers.
    ScrollRegion(Option<(u16, u16)>),
    /// RIS, `ESC c`: everything back to the start.
    Reset,
}

/// One event and where its sequence is: `end` is the index just after its
/// final byte in the chunk given to [`Scanner::scan`], `len` the length of
/// the whole sequence (which may have begun in an earlier chunk).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Found {
    pub end: usize,
    pub len: u64,
    pub event: Event,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Ground,
    /// After ESC.
    Escape,
    /// After ESC and intermediate bytes (`ESC ( B`).
    EscapeIntermediate,
    Csi,
    Osc,
    /// ESC inside an OSC: ST when `\` follows.
    OscEscape,
    /// DCS, SOS, PM, APC: skipped up to the ESC of their ST.
    String,
}

/// The longest parameter string kept; longer sequences are not queries.
const MAX_SEQ: usize = 24;

/// The stateful scanner (see the module doc).
#[derive(Debug)]
pub(crate) struct Scanner {
    state: State,
    buf: [u8; MAX_SEQ],
    len: usize,
    overflow: bool,
    /// Bytes of the current sequence so far, from its ESC.
    seq_len: u64,
}

impl Default for Scanner {
    fn default() -> Scanner {
        Scanner {
            state: State::Ground,
            buf: [0; MAX_SEQ],
            len: 0,
            overflow: false,
            seq_len: 0,
        }
    }
}

const ESC: u8 = 0x1b;
const BEL: u8 = 0x07;
const CAN: u8 = 0x18;
const SUB: u8 = 0x1a;

impl Scanner {
    /// Scans `bytes` (the next output bytes), appending what it finds.
    #[cfg(test)]
    pub fn scan(&mut self, bytes: &[u8], found: &mut Vec<Found>) {
        self.scan_spans(bytes, found, &mut Vec::new(), usize::MAX);
    }

    /// Like [`scan`](Self::scan), and also appends the ranges of `bytes`
    /// at least `min_plain` long that are plain text: the parser is in its
    /// ground state all through them (no escape sequence, only text and C0
    /// controls).
    pub fn scan_spans(
        &mut self,
        bytes: &[u8],
        found: &mut Vec<Found>,
        plain: &mut Vec<Range<usize>>,
        min_plain: usize,
    ) {
        let mut i = 0;
        while i < bytes.len() {
            match self.state {
                State::Ground => {
                    let end = memchr::memchr(ESC, &bytes[i..]).map_or(bytes.len(), |at| i + at);
                    if end - i >= min_plain {
                        plain.push(i..end);
                    }
                    if end == bytes.len() {
                        return;
                    }
                    i = end + 1;
                    self.start();
                }
                State::String => {
                    match memchr::memchr3(ESC, CAN, SUB, &bytes[i..]) {
                        Some(at) => {
                            let b = bytes[i + at];
                            i += at + 1;
                            if b == ESC {
                                self.start();
                            } else {
                                self.state = State::Ground;
                            }
                        }
                        None => return,
                    };
                }
                _ => {
                    let b = bytes[i];
                    i += 1;
                    self.seq_len += 1;
                    self.step(b, i, found);
                }
            }
        }
    }

    /// An ESC was seen.
    fn start(&mut self) {
        self.state = State::Escape;
        self.len = 0;
        self.overflow = false;
        self.seq_len = 1;
    }

    fn push(&mut self, b: u8) {
        if self.len < MAX_SEQ {
            self.buf[self.len] = b;
            self.len += 1;
        } else {
            self.overflow = true;
        }
    }

    fn step(&mut self, b: u8, end: usize, found: &mut Vec<Found>) {
        if b == CAN || b == SUB {
            self.state = State::Ground;
            return;
        }
        match self.state {
            State::Escape | State::EscapeIntermediate => match b {
                ESC => self.start(),
                b'[' if self.state == State::Escape => self.state = State::Csi,
                b']' if self.state == State::Escape => self.state = State::Osc,
                b'P' | b'X' | b'^' | b'_' if self.state == State::Escape => {
                    self.state = State::String
                }
                0x20..=0x2f => self.state = State::EscapeIntermediate,
                b'c' if self.state == State::Escape => {
                    self.state = State::Ground;
                    found.push(Found {
                        end,
                        len: self.seq_len,
                        event: Event::Reset,
                    });
                }
                // Other C0 controls are executed inside a sequence; DEL and
                // bytes above are ignored there (as the parser does).
                0x00..=0x1f | 0x7f..=0xff => {}
                _ => self.state = State::Ground,
            },
            State::Csi => match b {
                ESC => self.start(),
                0x20..=0x3f => self.push(b),
                0x40..=0x7e => {
                    self.state = State::Ground;
                    if !self.overflow {
                        self.dispatch_csi(b, end, found);
                    }
                }
                // C0 controls are executed inside a sequence; DEL and bytes
                // above are ignored there (as the parser does).
                _ => {}
            },
            State::Osc => match b {
                BEL => {
                    self.state = State::Ground;
                    self.dispatch_osc(true, end, found);
                }
                ESC => self.state = State::OscEscape,
                _ => self.push(b),
            },
            State::OscEscape => {
                if b == b'\\' {
                    self.state = State::Ground;
                    self.dispatch_osc(false, end, found);
                } else {
                    // An ESC that is not ST aborts the OSC and starts a new
                    // sequence with this byte.
                    self.start();
                    self.seq_len = 2;
                    self.step(b, end, found);
                }
            }
            State::Ground | State::String => unreachable!("handled in scan"),
        }
    }

    fn dispatch_csi(&mut self, final_byte: u8, end: usize, found: &mut Vec<Found>) {
        let seq = &self.buf[..self.len];
        let (marker, rest) = match seq.first() {
            Some(m @ (b'<' | b'=' | b'>' | b'?')) => (Some(*m), &seq[1..]),
            _ => (None, seq),
        };
        let split = rest
            .iter()
            .position(|b| (0x20..=0x2f).contains(b))
            .unwrap_or(rest.len());
        let (params, inter) = rest.split_at(split);
        let len = self.seq_len;
        let mut report = |event| found.push(Found { end, len, event });
        let zero = params.is_empty() || params == b"0";
        let query = match (marker, inter, final_byte) {
            (None, b"", b'c') if zero => Some(Query::PrimaryDa),
            (Some(b'>'), b"", b'c') if zero => Some(Query::SecondaryDa),
            (None, b"", b'n') if params == b"5" => Some(Query::Status),
            (None, b"", b'n') if params == b"6" => Some(Query::CursorPosition { dec: false }),
            (Some(b'?'), b"", b'n') if params == b"6" => Some(Query::CursorPosition { dec: true }),
            (None | Some(b'?'), b"$", b'p') => number(params).map(|mode| Query::Mode {
                mode,
                private: marker.is_some(),
            }),
            (Some(b'>'), b"", b'q') if zero => Some(Query::Version),
            (Some(b'?'), b"", b'u') if params.is_empty() => Some(Query::KittyKeyboard),
            (None, b"", b'r') => {
                report(Event::ScrollRegion(scroll_region(params)));
                None
            }
            (Some(b'?'), b"", b'h' | b'l') => {
                for mode in params.split(|b| *b == b';').filter_map(number) {
                    match (mode, final_byte) {
                        (1049 | 1047 | 47, b'h') => report(Event::AltScreenOn),
                        (2026, b'h') => report(Event::SyncBegin),
                        (2026, b'l') => report(Event::SyncEnd),
                        _ => {}
                    }
                }
                None
            }
            _ => None,
        };
        if let Some(q) = query {
            report(Event::Query(q));
        }
    }

    fn dispatch_osc(&mut self, bel: bool, end: usize, found: &mut Vec<Found>) {
        let code = match &self.buf[..self.len] {
            b"10;?" => 10,
            b"11;?" => 11,
            b"12;?" => 12,
            _ => return,
        };
        found.push(Found {
            end,
            len: self.seq_len,
            event: Event::Query(Query::Color { code, bel }),
        });
    }
}

/// DECSTBM's top and bottom (0 when absent), as the parser reads them.
fn scroll_region(params: &[u8]) -> Option<(u16, u16)> {
    let mut it = params.split(|b| *b == b';');
    let mut next = || match it.next() {
        None | Some(b"") => Some(0),
        Some(digits) => number(digits),
    };
    Some((next()?, next()?))
}

/// A decimal parameter (at most 5 digits).
fn number(digits: &[u8]) -> Option<u16> {
    if digits.is_empty() || digits.len() > 5 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The reply to `query` from the state of `screen`; `sync_open` tells
/// whether a synchronized-output frame is open. `None`: not answered.
pub(crate) fn answer(query: Query, screen: &vt100::Screen, sync_open: bool) -> Option<Vec<u8>> {
    let reply = match query {
        Query::PrimaryDa => PRIMARY_DA.to_vec(),
        Query::SecondaryDa => SECONDARY_DA.to_vec(),
        Query::Status => b"\x1b[0n".to_vec(),
        Query::CursorPosition { dec } => {
            let (rows, cols) = screen.size();
            let (row, col) = screen.cursor_position();
            // A cursor past the last column (a wrap pending) reports the
            // last column, as xterm does.
            let row = row.min(rows.get() - 1) + 1;
            let col = col.min(cols.get() - 1) + 1;
            let mark = if dec { "?" } else { "" };
            format!("\x1b[{mark}{row};{col}R").into_bytes()
        }
        Query::Color { code, bel } => {
            let colour = if code == 11 { BACKGROUND } else { FOREGROUND };
            let end = if bel { "\x07" } else { "\x1b\\" };
            format!("\x1b]{code};{colour}{end}").into_bytes()
        }
        Query::Mode { mode, private } => {
            let state = if private {
                private_mode(mode, screen, sync_open)
            } else {
                0
            };
            let mark = if private { "?" } else { "" };
            format!("\x1b[{mark}{mode};{state}$y").into_bytes()
        }
        Query::Version => format!("\x1bP>|ptyhub {}\x1b\\", env!("CARGO_PKG_VERSION")).into_bytes(),
        Query::KittyKeyboard => return None,
    };
    Some(reply)
}

/// DECRPM's state of a private mode: 1 set, 2 reset, 0 not known to the
/// model.
fn private_mode(mode: u16, screen: &vt100::Screen, sync_open: bool) -> u8 {
    use vt100::{MouseProtocolEncoding as E, MouseProtocolMode as M};
    let set = match mode {
        1 => screen.application_cursor(),
        25 => !screen.hide_cursor(),
        47 | 1047 | 1049 => screen.alternate_screen(),
        9 => screen.mouse_protocol_mode() == M::Press,
        1000 => screen.mouse_protocol_mode() == M::PressRelease,
        1002 => screen.mouse_protocol_mode() == M::ButtonMotion,
        1003 => screen.mouse_protocol_mode() == M::AnyMotion,
        1005 => screen.mouse_protocol_encoding() == E::Utf8,
        1006 => screen.mouse_protocol_encoding() == E::Sgr,
        2004 => screen.bracketed_paste(),
        2026 => sync_open,
        _ => return 0,
    };
    if set { 1 } else { 2 }
}

/// When the server last answered each kind of query (per session).
#[derive(Debug, Default)]
pub(crate) struct Answered {
    at: [Option<Instant>; KINDS],
}

impl Answered {
    pub fn mark(&mut self, kind: Kind, now: Instant) {
        self.at[kind.index()] = Some(now);
    }

    /// Kinds answered within the window before `now`.
    fn recent(&self, now: Instant) -> [bool; KINDS] {
        self.at
            .map(|at| at.is_some_and(|t| now.saturating_duration_since(t) < CLIENT_REPLY_WINDOW))
    }
}

/// The kind and length of a reply-shaped sequence at the start of `bytes`.
fn reply_at(bytes: &[u8]) -> Option<(Kind, usize)> {
    match bytes.get(1)? {
        b'[' => {
            let body = &bytes[2..];
            let end = body.iter().position(|b| (0x40..=0x7e).contains(b))?;
            let (inner, final_byte) = (&body[..end], body[end]);
            if inner.len() > MAX_SEQ {
                return None;
            }
            let (marker, rest) = match inner.first() {
                Some(m @ (b'?' | b'>')) => (Some(*m), &inner[1..]),
                _ => (None, inner),
            };
            let digits = |s: &[u8]| s.iter().all(|b| b.is_ascii_digit() || *b == b';');
            let kind = match (marker, final_byte) {
                (Some(b'?'), b'c') if digits(rest) => Kind::PrimaryDa,
                (Some(b'>'), b'c') if digits(rest) => Kind::SecondaryDa,
                (None, b'n') if rest == b"0" => Kind::Status,
                (None | Some(b'?'), b'R') if digits(rest) && rest.contains(&b';') => {
                    Kind::CursorPosition
                }
                (None | Some(b'?'), b'y')
                    if rest.ends_with(b"$") && digits(&rest[..rest.len() - 1]) =>
                {
                    Kind::Mode
                }
                (Some(b'?'), b'u') if digits(rest) => Kind::KittyKeyboard,
                _ => return None,
            };
            Some((kind, 2 + end + 1))
        }
        b']' => {
            let body = &bytes[2..];
            let is_colour = [b"10;", b"11;", b"12;"]
                .iter()
                .any(|p| body.starts_with(*p) && !body[3..].starts_with(b"?"));
            if !is_colour {
                return None;
            }
            let end = terminator(body)?;
            Some((Kind::Color, 2 + end))
        }
        b'P' if bytes[2..].starts_with(b">|") => {
            let end = terminator(&bytes[2..])?;
            Some((Kind::Version, 2 + end))
        }
        _ => None,
    }
}

/// The length up to and including the BEL or ST that ends a string.
fn terminator(body: &[u8]) -> Option<usize> {
    let at = memchr::memchr2(BEL, ESC, body)?;
    match body[at] {
        BEL => Some(at + 1),
        _ if body.get(at + 1) == Some(&b'\\') => Some(at + 2),
        _ => None,
    }
}

/// `input` without the replies of kinds the server answered within the
/// window (see the module doc); `None` when nothing is dropped.
pub(crate) fn filter_client_replies(
    input: &[u8],
    answered: &Answered,
    now: Instant,
) -> Option<Vec<u8>> {
    let recent = answered.recent(now);
    if !recent.contains(&true) {
        return None;
    }
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut i = 0;
    while let Some(at) = memchr::memchr(ESC, &input[i..]) {
        let at = i + at;
        match reply_at(&input[at..]) {
            Some((kind, len)) if recent[kind.index()] => {
                let out = out.get_or_insert_with(|| Vec::with_capacity(input.len()));
                out.extend_from_slice(&input[copied..at]);
                copied = at + len;
                i = copied;
            }
            _ => i = at + 1,
        }
    }
    let mut out = out?;
    out.extend_from_slice(&input[copied..]);
    Some(out)
}

/// Whether `input` holds anything that looks like a reply (of any kind):
/// such input waits until the screen has seen every query sent so far.
pub(crate) fn has_reply(input: &[u8]) -> bool {
    memchr::memchr_iter(ESC, input).any(|at| reply_at(&input[at..]).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(chunks: &[&[u8]]) -> Vec<(usize, usize, u64, Event)> {
        let mut s = Scanner::default();
        let mut out = Vec::new();
        for (n, chunk) in chunks.iter().enumerate() {
            let mut found = Vec::new();
            s.scan(chunk, &mut found);
            out.extend(found.into_iter().map(|f| (n, f.end, f.len, f.event)));
        }
        out
    }

    fn queries(bytes: &[u8]) -> Vec<Event> {
        scan_all(&[bytes]).into_iter().map(|f| f.3).collect()
    }

    #[test]
    fn each_query_is_recognised() {
        use Query::*;
        let cases: &[(&[u8], Query)] = &[
            (b"\x1b[c", PrimaryDa),
            (b"\x1b[0c", PrimaryDa),
            (b"\x1b[>c", SecondaryDa),
            (b"\x1b[>0c", SecondaryDa),
            (b"\x1b[5n", Status),
            (b"\x1b[6n", CursorPosition { dec: false }),
            (b"\x1b[?6n", CursorPosition { dec: true }),
            (
                b"\x1b]10;?\x1b\\",
                Color {
                    code: 10,
                    bel: false,
                },
            ),
            (
                b"\x1b]11;?\x07",
                Color {
                    code: 11,
                    bel: true,
                },
            ),
            (
                b"\x1b]12;?\x07",
                Color {
                    code: 12,
                    bel: true,
                },
            ),
            (
                b"\x1b[?2026$p",
                Mode {
                    mode: 2026,
                    private: true,
                },
            ),
            (
                b"\x1b[4$p",
                Mode {
                    mode: 4,
                    private: false,
                },
            ),
            (b"\x1b[>q", Version),
            (b"\x1b[>0q", Version),
            (b"\x1b[?u", KittyKeyboard),
        ];
        for (bytes, query) in cases {
            let found = scan_all(&[bytes]);
            assert_eq!(
                found,
                [(0, bytes.len(), bytes.len() as u64, Event::Query(*query))],
                "{bytes:?}"
            );
        }
    }

    #[test]
    fn other_sequences_are_not_queries() {
        for bytes in [
            &b"\x1b[1c"[..],
            b"\x1b[=c",
            b"\x1b[6;1n",
            b"\x1b[>4;1m",
            b"\x1b[?1u",
            b"\x1b[>7u",
            b"\x1b[<u",
            b"\x1b[ q",
            b"\x1b]10;rgb:0/0/0\x07",
            b"\x1b]0;title [c\x07",
            b"\x1bP>|xterm(1)\x1b\\",
            b"\x1bPq#0;2;0;0;0c6n\x1b\\",
            b"\x1b(B",
            b"text [c 6n \x9b6n",
            b"\x1b[12345678901234567890123456789c",
        ] {
            let found = queries(bytes);
            assert!(
                found.iter().all(|e| !matches!(e, Event::Query(_))),
                "{bytes:?}: {found:?}"
            );
        }
    }

    #[test]
    fn modes_alt_screen_and_sync() {
        assert_eq!(queries(b"\x1b[?1049h"), [Event::AltScreenOn]);
        assert_eq!(queries(b"\x1b[?47h\x1b[?1049l"), [Event::AltScreenOn]);
        assert_eq!(
            queries(b"\x1b[?25;2026h.\x1b[?2026l"),
            [Event::SyncBegin, Event::SyncEnd]
        );
    }

    #[test]
    fn scroll_regions_and_plain_text_spans() {
        assert_eq!(
            queries(b"\x1b[r\x1b[2;20r\x1b[;5r\x1b[3r\x1b[1:2r\x1b[?r"),
            [
                Event::ScrollRegion(Some((0, 0))),
                Event::ScrollRegion(Some((2, 20))),
                Event::ScrollRegion(Some((0, 5))),
                Event::ScrollRegion(Some((3, 0))),
                Event::ScrollRegion(None),
            ]
        );
        let mut s = Scanner::default();
        let (mut found, mut plain) = (Vec::new(), Vec::new());
        s.scan_spans(b"abc\x1b[1mdefg\x1b[", &mut found, &mut plain, 3);
        assert_eq!(plain, [0..3, 7..11]);
        plain.clear();
        // Bytes above 0x7f inside a sequence do not end it (as in the
        // parser): the plain text begins after the final byte.
        s.scan_spans(b"\xe4 12\r\nabcm plain", &mut found, &mut plain, 1);
        assert_eq!(plain, vec![7..16]);
    }

    #[test]
    fn sequences_split_anywhere_are_found_once() {
        let stream: &[u8] = b"ab\x1b[6n\x1b]11;?\x1b\\\x1b[?2026hxy\x1b[?2026l\x1b[>c";
        let whole: Vec<Event> = queries(stream);
        assert_eq!(whole.len(), 5);
        for cut in 0..=stream.len() {
            let found = scan_all(&[&stream[..cut], &stream[cut..]]);
            let events: Vec<Event> = found.iter().map(|f| f.3).collect();
            assert_eq!(events, whole, "cut at {cut}");
            for (chunk, end, len, _) in &found {
                // The absolute end minus the length is where the ESC is.
                let abs_end = if *chunk == 0 { *end } else { cut + end };
                assert_eq!(stream[abs_end - *len as usize], ESC, "cut at {cut}");
            }
        }
        // Byte by byte.
        let chunks: Vec<&[u8]> = stream.chunks(1).collect();
        let events: Vec<Event> = scan_all(&chunks).iter().map(|f| f.3).collect();
        assert_eq!(events, whole);
    }

    #[test]
    fn an_aborted_sequence_does_not_hide_the_next() {
        assert_eq!(
            queries(b"\x1b[12\x1b[6n\x1b]11;\x1b[c"),
            [
                Event::Query(Query::CursorPosition { dec: false }),
                Event::Query(Query::PrimaryDa)
            ]
        );
        assert_eq!(queries(b"\x1b[1\x18\x1b[5n"), [Event::Query(Query::Status)]);
    }

    fn screen(bytes: &[u8]) -> vt100::Parser {
        let mut p = vt100::Parser::new(
            std::num::NonZeroU16::new(24).unwrap(),
            std::num::NonZeroU16::new(80).unwrap(),
            0,
        );
        p.process(bytes);
        p
    }

    #[test]
    fn answers_come_from_the_screen() {
        let p = screen(b"\x1b[5;10Hx\x1b[?2004h");
        let s = p.screen();
        let a = |q| String::from_utf8(answer(q, s, false).unwrap()).unwrap();
        assert_eq!(a(Query::CursorPosition { dec: false }), "\x1b[5;11R");
        assert_eq!(a(Query::CursorPosition { dec: true }), "\x1b[?5;11R");
        assert_eq!(a(Query::PrimaryDa), "\x1b[?1;2c");
        assert_eq!(a(Query::SecondaryDa), "\x1b[>0;276;0c");
        assert_eq!(a(Query::Status), "\x1b[0n");
        assert_eq!(
            a(Query::Color {
                code: 11,
                bel: false
            }),
            "\x1b]11;rgb:0b0b/0e0e/1414\x1b\\"
        );
        assert_eq!(
            a(Query::Color {
                code: 10,
                bel: true
            }),
            "\x1b]10;rgb:d6d6/dddd/e6e6\x07"
        );
        let mode = |mode, private| a(Query::Mode { mode, private });
        assert_eq!(mode(2004, true), "\x1b[?2004;1$y");
        assert_eq!(mode(1, true), "\x1b[?1;2$y");
        assert_eq!(mode(2026, true), "\x1b[?2026;2$y");
        assert_eq!(mode(7727, true), "\x1b[?7727;0$y");
        assert_eq!(mode(4, false), "\x1b[4;0$y");
        assert_eq!(
            String::from_utf8(
                answer(
                    Query::Mode {
                        mode: 2026,
                        private: true
                    },
                    s,
                    true
                )
                .unwrap()
            )
            .unwrap(),
            "\x1b[?2026;1$y"
        );
        assert!(a(Query::Version).starts_with("\x1bP>|ptyhub "));
        assert_eq!(answer(Query::KittyKeyboard, s, false), None);
        // A pending wrap reports the last column.
        let p = screen(&[b'x'; 80]);
        let cpr = answer(Query::CursorPosition { dec: false }, p.screen(), false).unwrap();
        assert_eq!(cpr, b"\x1b[1;80R");
    }

    #[test]
    fn client_replies_are_dropped_only_within_the_window_and_kind() {
        let now = Instant::now();
        let mut answered = Answered::default();
        let input: &[u8] = b"a\x1b[12;1Rb\x1b[?1;2c\x1b]11;rgb:0000/0000/0000\x1b\\c\x1b[?2026;2$y\x1bP>|xterm.js(6)\x1b\\d\x1b[?0u";
        assert_eq!(filter_client_replies(input, &answered, now), None);
        answered.mark(Kind::CursorPosition, now);
        assert_eq!(
            filter_client_replies(input, &answered, now).unwrap(),
            &input[..1]
                .iter()
                .chain(&input[8..])
                .copied()
                .collect::<Vec<u8>>()[..]
        );
        for kind in [
            Kind::PrimaryDa,
            Kind::Color,
            Kind::Mode,
            Kind::Version,
            Kind::KittyKeyboard,
        ] {
            answered.mark(kind, now);
        }
        assert_eq!(
            filter_client_replies(input, &answered, now).unwrap(),
            b"abcd"
        );
        let later = now + CLIENT_REPLY_WINDOW;
        assert_eq!(filter_client_replies(input, &answered, later), None);
        // Keys are never replies (but Ctrl+F3, see the module doc).
        let keys: &[u8] = b"\x1b[A\x1b[1;5A\x1bOP\x1b[15~\x1b[200~paste\x1b[201~\x1b[I\x1b";
        assert_eq!(filter_client_replies(keys, &answered, now), None);
        assert!(!has_reply(keys));
        assert!(has_reply(b"\x1b[1;5R"));
        assert_eq!(
            filter_client_replies(b"\x1b[1;5R", &answered, now).unwrap(),
            b""
        );
        // The DA2 and status replies.
        answered.mark(Kind::SecondaryDa, now);
        answered.mark(Kind::Status, now);
        assert_eq!(
            filter_client_replies(b"\x1b[>0;276;0cx\x1b[0n", &answered, now).unwrap(),
            b"x"
        );
    }
}
