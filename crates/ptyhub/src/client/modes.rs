//! [`Modes`]: the terminal modes that a session's output switched on in the
//! local terminal (alternate screen, hidden cursor, mouse reporting,
//! bracketed paste, application keys), so that `ptyhub attach` can switch
//! them back off when it leaves, as tmux does on detach.
//!
//! A small scanner over the output stream: it follows escape sequences
//! across chunk boundaries and only looks at DEC private modes (`CSI ? Pn h`
//! / `l`), the keypad modes (`ESC =` / `ESC >`) and a full reset (`ESC c`);
//! string sequences (OSC, DCS...) are skipped whole.

/// The DEC private modes that change how the terminal behaves for the user.
const TRACKED: [u16; 14] = [
    1,    // application cursor keys
    9,    // X10 mouse
    25,   // cursor visible (reset state: visible)
    47,   // alternate screen
    1000, // mouse: press and release
    1002, // mouse: drag
    1003, // mouse: any motion
    1004, // focus events
    1005, // mouse: UTF-8 coordinates
    1006, // mouse: SGR coordinates
    1015, // mouse: urxvt coordinates
    1047, // alternate screen
    1049, // alternate screen, cursor saved
    2004, // bracketed paste
];

/// Where the scanner is within an escape sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Ground,
    Escape,
    /// In a CSI; `private` once a `?` started it.
    Csi {
        private: bool,
    },
    /// In a string sequence (OSC, DCS, SOS, PM, APC) until BEL or ST.
    Text,
    /// An ESC inside a string sequence (ST is `ESC \`).
    TextEscape,
}

/// The modes switched away from their defaults, as seen in the output.
#[derive(Debug, Clone)]
pub struct Modes {
    state: State,
    /// The parameters of the CSI being read.
    params: Vec<u16>,
    /// The parameter being read (digits so far), if any.
    current: Option<u16>,
    /// For each of [`TRACKED`], whether it is away from its default.
    changed: [bool; TRACKED.len()],
    keypad: bool,
    /// The last character printed was a line feed (or nothing was): the
    /// cursor is at the start of an empty line.
    at_line_start: bool,
    /// `at_line_start` of the normal screen while the alternate one is on.
    saved_line_start: bool,
}

impl Default for Modes {
    fn default() -> Self {
        Modes {
            state: State::Ground,
            params: Vec::new(),
            current: None,
            changed: [false; TRACKED.len()],
            keypad: false,
            at_line_start: true,
            saved_line_start: true,
        }
    }
}

impl Modes {
    /// Follows `bytes` of output.
    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.step(b);
        }
    }

    fn step(&mut self, b: u8) {
        self.state = match (self.state, b) {
            (State::Text, 0x07) => State::Ground,
            (State::Text, 0x1b) => State::TextEscape,
            (State::Text, _) => State::Text,
            (State::TextEscape, b'\\') => State::Ground,
            (State::TextEscape, 0x1b) => State::TextEscape,
            (State::TextEscape, _) => State::Text,
            (_, 0x1b) => State::Escape,
            (State::Ground, b'\n') => {
                self.at_line_start = true;
                State::Ground
            }
            (State::Ground, 0x20..) => {
                self.at_line_start = false;
                State::Ground
            }
            (State::Ground, _) => State::Ground,
            (State::Escape, b'[') => {
                self.params.clear();
                self.current = None;
                State::Csi { private: false }
            }
            (State::Escape, b']' | b'P' | b'X' | b'^' | b'_') => State::Text,
            (State::Escape, b'=') => {
                self.keypad = true;
                State::Ground
            }
            (State::Escape, b'>') => {
                self.keypad = false;
                State::Ground
            }
            (State::Escape, b'c') => {
                *self = Modes::default();
                State::Ground
            }
            (State::Escape, _) => State::Ground,
            (State::Csi { .. }, b'?') if self.params.is_empty() && self.current.is_none() => {
                State::Csi { private: true }
            }
            (State::Csi { private }, b'0'..=b'9') => {
                let digit = u16::from(b - b'0');
                self.current = Some(
                    self.current
                        .unwrap_or(0)
                        .saturating_mul(10)
                        .saturating_add(digit),
                );
                State::Csi { private }
            }
            (State::Csi { private }, b';') => {
                self.params.push(self.current.take().unwrap_or(0));
                State::Csi { private }
            }
            (State::Csi { private }, 0x20..=0x3f) => State::Csi { private },
            (State::Csi { private }, final_byte @ 0x40..=0x7e) => {
                if let Some(p) = self.current.take() {
                    self.params.push(p);
                }
                if private && matches!(final_byte, b'h' | b'l') {
                    self.set(final_byte == b'h');
                }
                State::Ground
            }
            // A control character inside a CSI is executed; the CSI goes on.
            (State::Csi { private }, 0x00..=0x1f) => State::Csi { private },
            (State::Csi { .. }, _) => State::Ground,
        };
    }

    /// Applies `CSI ? params h` (`on`) or `l`.
    fn set(&mut self, on: bool) {
        let was_alternate = self.alternate_screen();
        for p in &self.params {
            if let Some(i) = TRACKED.iter().position(|t| t == p) {
                // Mode 25's default is on (cursor shown); the others' off.
                self.changed[i] = if *p == 25 { !on } else { on };
            }
        }
        match (was_alternate, self.alternate_screen()) {
            (false, true) => self.saved_line_start = self.at_line_start,
            (true, false) => self.at_line_start = self.saved_line_start,
            _ => {}
        }
    }

    /// Whether the output left the terminal on its alternate screen.
    pub fn alternate_screen(&self) -> bool {
        TRACKED
            .iter()
            .zip(self.changed)
            .any(|(m, c)| c && matches!(m, 47 | 1047 | 1049))
    }

    /// The bytes that put every changed mode back to its default, leaving
    /// the alternate screen first, and resetting colours; ends on a fresh
    /// line of the normal screen (`\r\n`: raw mode is still on then).
    pub fn restore(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.alternate_screen() {
            out.extend_from_slice(b"\x1b[?1049l");
        }
        for (mode, changed) in TRACKED.iter().zip(self.changed) {
            if changed && !matches!(mode, 47 | 1047 | 1049) {
                let set = if *mode == 25 { 'h' } else { 'l' };
                out.extend_from_slice(format!("\x1b[?{mode}{set}").as_bytes());
            }
        }
        if self.keypad {
            out.extend_from_slice(b"\x1b>");
        }
        out.extend_from_slice(b"\x1b[0m");
        if !self.at_line_start && !self.alternate_screen() {
            out.extend_from_slice(b"\r\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn restore_after(chunks: &[&[u8]]) -> String {
        let mut m = Modes::default();
        for c in chunks {
            m.feed(c);
        }
        String::from_utf8(m.restore()).unwrap()
    }

    #[test]
    fn nothing_changed_only_resets_colours() {
        assert_eq!(restore_after(&[b"hello \x1b[31mred\x1b[0m\r\n"]), "\x1b[0m");
        // Not at the start of a line: one more line.
        assert_eq!(restore_after(&[b"$ \x1b[2J"]), "\x1b[0m\r\n");
        assert_eq!(restore_after(&[b"$ \r"]), "\x1b[0m\r\n");
        // Switched on and off again.
        assert_eq!(restore_after(&[b"\x1b[?1049h vim \x1b[?1049l"]), "\x1b[0m");
    }

    #[test]
    fn modes_left_on_are_switched_off() {
        assert_eq!(
            restore_after(&[b"\x1b[?1049h\x1b[?25l\x1b[?1000;1006h\x1b[?2004h\x1b="]),
            "\x1b[?1049l\x1b[?25h\x1b[?1000l\x1b[?1006l\x1b[?2004l\x1b>\x1b[0m"
        );
        // Across chunk boundaries.
        assert_eq!(
            restore_after(&[b"\x1b", b"[?10", b"49h"]),
            "\x1b[?1049l\x1b[0m"
        );
        // A full reset forgets everything.
        assert_eq!(restore_after(&[b"\x1b[?1049h\x1b[?1h\x1bc\n"]), "\x1b[0m");
    }

    #[test]
    fn strings_and_plain_csis_are_skipped() {
        // An OSC title that looks like a mode change is not one.
        assert_eq!(restore_after(&[b"\x1b]0;\x1b[?1049h\x07"]), "\x1b[0m");
        assert_eq!(
            restore_after(&[b"\x1b]0;x\x1b\\\x1b[?25l"]),
            "\x1b[?25h\x1b[0m"
        );
        // Not private: `CSI 4 h` is insert mode, not tracked here.
        assert_eq!(restore_after(&[b"\x1b[1049h\x1b[4h"]), "\x1b[0m");
        assert!(!Modes::default().alternate_screen());
    }
}
