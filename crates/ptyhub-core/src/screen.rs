//! The server-side screen: a vt100 parser fed with every output byte, on its
//! own thread, off the read → fan-out path; and its snapshot, the bytes that
//! rebuild the current state in a fresh terminal.
//!
//! Why vt100 0.18 (measured on this machine, see BENCHMARKS.md): it parses
//! 80–230 MB/s at 80x24 without history, faster than a PTY delivers here
//! (35–60 MB/s), and it serialises its state (`state_formatted`, 20–60 µs)
//! with colours, attributes, wide characters, cursor and input modes.
//! alacritty_terminal parses plain lines 2x faster but has no serializer.
//! The parser keeps no history (scrollback 0): history is the raw ring.

use std::num::NonZeroU16;

use ptyhub_pty::WindowSize;

/// Window-title tracking (vt100 reports OSC 0/2 through callbacks).
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

/// The parser and the output offset it has reached.
pub(crate) struct Screen {
    pub parser: vt100::Parser<Callbacks>,
    /// Every byte before this offset has been processed.
    pub offset: u64,
    /// The primary screen as it was when the program switched to the
    /// alternate one (nothing draws on it meanwhile).
    primary: Option<String>,
}

/// What follows `ESC [ ?` in the sequences that switch to the alternate
/// screen.
const ALT_ON: [&[u8]; 3] = [b"1049h", b"1047h", b"47h"];

fn nz(v: u16) -> NonZeroU16 {
    NonZeroU16::new(v).unwrap_or(NonZeroU16::MIN)
}

impl Screen {
    pub fn new(size: WindowSize) -> Screen {
        Screen {
            parser: vt100::Parser::new_with_callbacks(
                nz(size.rows),
                nz(size.cols),
                0,
                Callbacks::default(),
            ),
            offset: 0,
            primary: None,
        }
    }

    /// Feeds output bytes; captures the primary screen at each switch to the
    /// alternate one. (A switch sequence split between two chunks is missed:
    /// the primary screen is then left out of snapshots until the next.)
    pub fn process(&mut self, bytes: &[u8]) {
        let mut done = 0;
        // One pass for `ESC [ ?`, then a look at what follows it.
        for at in memchr::memmem::find_iter(bytes, b"\x1b[?") {
            let rest = &bytes[at + 3..];
            let Some(len) = ALT_ON
                .iter()
                .find(|seq| rest.starts_with(seq))
                .map(|seq| 3 + seq.len())
            else {
                continue;
            };
            if at < done {
                continue;
            }
            self.parser.process(&bytes[done..at]);
            if !self.parser.screen().alternate_screen() {
                self.primary = Some(self.parser.screen().contents_formatted());
            }
            self.parser.process(&bytes[at..at + len]);
            done = at + len;
        }
        self.parser.process(&bytes[done..]);
    }

    pub fn resize(&mut self, size: WindowSize) {
        self.parser
            .screen_mut()
            .set_size(nz(size.rows), nz(size.cols));
    }

    pub fn title(&self) -> &str {
        &self.parser.callbacks().title
    }

    /// Bytes that rebuild this screen in a fresh xterm.js: the primary or
    /// alternate screen, text with colours and attributes, cursor position
    /// and visibility, input modes (application cursor and keypad,
    /// bracketed paste, mouse), and the window title.
    pub fn snapshot(&self) -> Vec<u8> {
        let screen = self.parser.screen();
        let mut out = String::with_capacity(4096);
        if screen.alternate_screen() {
            // vt100 serialises the visible screen only: the primary screen
            // under the alternate one is drawn first (as captured when the
            // program switched), then the switch, so that leaving the
            // full-screen mode later shows the right screen.
            if let Some(primary) = &self.primary {
                out.push_str(primary);
            }
            out.push_str("\x1b[?1049h");
        }
        out.push_str(&screen.state_formatted());
        let title = self.title();
        if !title.is_empty() {
            out.push_str("\x1b]2;");
            out.extend(title.chars().filter(|c| !c.is_control()));
            out.push('\x07');
        }
        out.into_bytes()
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
        String::from_utf8_lossy(&self.snapshot()).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replay(snapshot: &[u8], size: WindowSize) -> Screen {
        let mut s = Screen::new(size);
        s.parser.process(snapshot);
        s
    }

    #[test]
    fn snapshots_rebuild_the_screen() {
        let size = WindowSize { cols: 40, rows: 10 };
        let mut s = Screen::new(size);
        s.parser.process(
            b"\x1b]2;my title\x07plain \x1b[1;31mred bold\x1b[0m \xe4\xb8\xad\xe6\x96\x87\r\n\x1b[?1h\x1b[?2004h\x1b[?25l\x1b[3;5Hxy",
        );
        let r = replay(&s.snapshot(), size);
        assert_eq!(
            r.parser.screen().contents_formatted(),
            s.parser.screen().contents_formatted()
        );
        assert_eq!(r.cursor(), s.cursor());
        assert!(r.parser.screen().application_cursor());
        assert!(r.parser.screen().bracketed_paste());
        assert!(r.parser.screen().hide_cursor());
        assert_eq!(r.title(), "my title");
        assert_eq!(s.lines()[0], "plain red bold 中文");
    }

    #[test]
    fn the_alternate_screen_survives_a_snapshot() {
        let size = WindowSize { cols: 20, rows: 5 };
        let mut s = Screen::new(size);
        s.process(b"primary\x1b[?1049h\x1b[2;2Hfull-screen app");
        let mut r = replay(&s.snapshot(), size);
        assert!(r.parser.screen().alternate_screen());
        assert_eq!(r.lines(), s.lines());
        s.process(b"\x1b[?1049l");
        r.process(b"\x1b[?1049l");
        assert_eq!(r.lines()[0], "primary");
        assert_eq!(r.lines(), s.lines());
        assert_eq!(r.cursor(), s.cursor());
    }
}
