//! The scanner: a small state machine over the output that finds queries
//! and the sequences the screen cares about, across chunk boundaries.

use std::ops::Range;

use super::{BEL, CAN, ESC, Event, Found, MAX_SEQ, Query, SUB};

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
}
