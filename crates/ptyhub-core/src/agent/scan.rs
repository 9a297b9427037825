//! Terminal notifications in the output: OSC 9 (and its 9;4 progress),
//! OSC 777 `notify`, OSC 99 (kitty) and a bare BEL. A byte-at-a-time state
//! machine that keeps its state across chunks; in plain text it only looks
//! for ESC and BEL (`memchr2`), so it costs little in a flood.

/// The most payload kept from one OSC sequence; the rest is skipped (the
/// detail shown is at most 256 bytes anyway).
const MAX_PAYLOAD: usize = 4 << 10;

/// What the scanner found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// A notification: OSC 9 (body only), OSC 777 (title and body), OSC 99
    /// (its payload as body) or BEL (neither).
    Notify {
        /// The notification's title, if the sequence has one.
        title: Option<String>,
        /// Its text, if any.
        body: Option<String>,
    },
    /// OSC 9;4 progress: `true` for states 1 to 4 (working), `false` for 0
    /// (done).
    Progress(bool),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Ground,
    /// After ESC.
    Escape,
    /// Inside OSC, collecting its payload.
    Osc,
    /// After ESC inside OSC (ESC `\` ends it).
    OscEscape,
    /// Inside DCS, SOS, PM or APC: skipped up to its ST.
    Str,
    /// After ESC inside such a string.
    StrEscape,
}

/// The scanner of one session's output.
#[derive(Debug)]
pub struct Scanner {
    state: State,
    payload: Vec<u8>,
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner {
            state: State::Ground,
            payload: Vec::new(),
        }
    }
}

impl Scanner {
    /// Scans one chunk (continuing the previous one), calling `found` for
    /// each notification or progress change, in order.
    pub fn feed(&mut self, mut bytes: &[u8], found: &mut impl FnMut(Found)) {
        while !bytes.is_empty() {
            match self.state {
                State::Ground => match memchr::memchr2(0x1b, 0x07, bytes) {
                    None => return,
                    Some(i) => {
                        if bytes[i] == 0x07 {
                            found(Found::Notify {
                                title: None,
                                body: None,
                            });
                        } else {
                            self.state = State::Escape;
                        }
                        bytes = &bytes[i + 1..];
                    }
                },
                State::Escape => {
                    self.state = match bytes[0] {
                        b']' => {
                            self.payload.clear();
                            State::Osc
                        }
                        b'P' | b'X' | b'^' | b'_' => State::Str,
                        0x1b => State::Escape,
                        _ => State::Ground,
                    };
                    bytes = &bytes[1..];
                }
                State::Osc => match memchr::memchr2(0x1b, 0x07, bytes) {
                    None => {
                        self.keep(bytes);
                        return;
                    }
                    Some(i) => {
                        self.keep(&bytes[..i]);
                        if bytes[i] == 0x07 {
                            self.finish(found);
                        } else {
                            self.state = State::OscEscape;
                        }
                        bytes = &bytes[i + 1..];
                    }
                },
                State::OscEscape => {
                    if bytes[0] == b'\\' {
                        self.finish(found);
                        bytes = &bytes[1..];
                    } else {
                        // An ESC that is not ST cancels the OSC and starts
                        // a new sequence.
                        self.state = State::Escape;
                    }
                }
                State::Str => match memchr::memchr(0x1b, bytes) {
                    None => return,
                    Some(i) => {
                        self.state = State::StrEscape;
                        bytes = &bytes[i + 1..];
                    }
                },
                State::StrEscape => {
                    self.state = if bytes[0] == b'\\' {
                        bytes = &bytes[1..];
                        State::Ground
                    } else {
                        State::Escape
                    };
                }
            }
        }
    }

    fn keep(&mut self, bytes: &[u8]) {
        let room = MAX_PAYLOAD.saturating_sub(self.payload.len());
        self.payload
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn finish(&mut self, found: &mut impl FnMut(Found)) {
        self.state = State::Ground;
        if let Some(f) = parse_osc(&self.payload) {
            found(f);
        }
        self.payload.clear();
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The notification an OSC payload (without `ESC ]` and its terminator)
/// carries, if any.
fn parse_osc(payload: &[u8]) -> Option<Found> {
    let (code, rest) = match memchr::memchr(b';', payload) {
        Some(i) => (&payload[..i], &payload[i + 1..]),
        None => (payload, &b""[..]),
    };
    match code {
        b"9" => {
            if let Some(progress) = rest.strip_prefix(b"4")
                && (progress.is_empty() || progress[0] == b';')
            {
                {
                    let state = progress.get(1).copied().unwrap_or(b'0');
                    return match state {
                        b'0' => Some(Found::Progress(false)),
                        b'1'..=b'4' => Some(Found::Progress(true)),
                        _ => None,
                    };
                }
            }
            Some(Found::Notify {
                title: None,
                body: Some(text(rest)),
            })
        }
        b"777" => {
            let rest = rest.strip_prefix(b"notify;")?;
            let (title, body) = match memchr::memchr(b';', rest) {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &b""[..]),
            };
            Some(Found::Notify {
                title: Some(text(title)),
                body: Some(text(body)),
            })
        }
        b"99" => {
            // `99 ; metadata ; payload`
            let body = memchr::memchr(b';', rest).map_or(&b""[..], |i| &rest[i + 1..]);
            Some(Found::Notify {
                title: None,
                body: Some(text(body)),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(chunks: &[&[u8]]) -> Vec<Found> {
        let mut s = Scanner::default();
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c, &mut |f| out.push(f));
        }
        out
    }

    fn note(title: Option<&str>, body: Option<&str>) -> Found {
        Found::Notify {
            title: title.map(str::to_owned),
            body: body.map(str::to_owned),
        }
    }

    #[test]
    fn each_kind_is_found_with_either_terminator() {
        assert_eq!(scan(&[b"a\x1b]9;done\x07b"]), [note(None, Some("done"))]);
        assert_eq!(
            scan(&[b"\x1b]777;notify;T;B c\x1b\\"]),
            [note(Some("T"), Some("B c"))]
        );
        assert_eq!(
            scan(&[b"\x1b]99;i=1:d=0;hello\x1b\\"]),
            [note(None, Some("hello"))]
        );
        assert_eq!(scan(&[b"x\x07y"]), [note(None, None)]);
        assert_eq!(
            scan(&[b"\x1b]9;4;1;50\x07\x1b]9;4;0\x07"]),
            [Found::Progress(true), Found::Progress(false)]
        );
    }

    #[test]
    fn bel_ending_a_sequence_is_not_bare() {
        // Titles, hyperlinks and DCS strings end with BEL or ST.
        assert!(scan(&[b"\x1b]0;title\x07\x1b]8;;http://x\x07a\x1b]8;;\x07"]).is_empty());
        assert!(scan(&[b"\x1bP1$r0m\x07\x1b\\"]).is_empty());
        assert!(scan(&[b"\x1b[31mred\x1b[0m plain"]).is_empty());
    }

    #[test]
    fn state_carries_across_chunks() {
        assert_eq!(
            scan(&[b"\x1b", b"]9", b";par", b"ts\x1b", b"\\"]),
            [note(None, Some("parts"))]
        );
        assert_eq!(scan(&[b"\x1b]0;t", b"\x07"]), []);
    }

    #[test]
    fn long_payloads_are_cut_and_bytes_stay_text() {
        let mut long = b"\x1b]9;".to_vec();
        long.extend(std::iter::repeat_n(b'x', 10_000));
        long.push(0x07);
        let found = scan(&[&long]);
        let Found::Notify {
            body: Some(body), ..
        } = &found[0]
        else {
            panic!("{found:?}")
        };
        assert_eq!(body.len(), MAX_PAYLOAD - 2);
        assert_eq!(
            scan(&[b"\x1b]9;<b>\xff</b>\x07"]),
            [note(None, Some("<b>\u{fffd}</b>"))]
        );
    }
}
