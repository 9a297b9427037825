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
use std::time::{Duration, Instant};

use ptyhub_pty::WindowSize;

use crate::replies::{self, Event, Found, Kind, Scanner};

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

/// The parser and the output offset it has reached.
pub(crate) struct Screen {
    pub parser: vt100::Parser<Callbacks>,
    /// Every byte before this offset has been processed.
    pub offset: u64,
    /// The primary screen as it was when the program switched to the
    /// alternate one (nothing draws on it meanwhile).
    primary: Option<String>,
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
    /// The scroll region (DECSTBM, rows from 0) of the primary and the
    /// alternate screen when not the whole screen: vt100 keeps it but does
    /// not tell, nor serialise it.
    regions: [Option<(u16, u16)>; 2],
}

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
            scanner: Scanner::default(),
            found: Vec::new(),
            replies: Vec::new(),
            asked: Vec::new(),
            sync_open: false,
            frame: None,
            regions: [None; 2],
        }
    }

    /// Feeds the next output bytes (from `self.offset` on). On the way:
    /// captures the primary screen at each switch to the alternate one,
    /// answers queries from the state right before them, and keeps the
    /// state at the start of an open synchronized-output frame.
    pub fn process(&mut self, bytes: &[u8]) {
        let base = self.offset;
        let mut found = std::mem::take(&mut self.found);
        found.clear();
        self.scanner.scan(bytes, &mut found);
        let mut done = 0;
        for (i, f) in found.iter().enumerate() {
            // Everything up to the sequence's final byte: the screen as the
            // program left it before the sequence takes effect.
            let last = f.end - 1;
            if last > done {
                self.parser.process(&bytes[done..last]);
                done = last;
            }
            match f.event {
                Event::AltScreenOn => {
                    if !self.parser.screen().alternate_screen() {
                        self.primary = Some(self.parser.screen().contents_formatted());
                    }
                    // 1049 clears the alternate screen, its region included.
                    self.regions[1] = None;
                }
                Event::ScrollRegion(top, bottom) => {
                    // As vt100 (and xterm) take it: 0 means the default, a
                    // region of less than two rows means the whole screen.
                    let screen = self.parser.screen();
                    let rows = screen.size().0.get();
                    let top = top.max(1) - 1;
                    let bottom = if bottom == 0 { rows } else { bottom }.min(rows) - 1;
                    let whole = top >= bottom || (top == 0 && bottom == rows - 1);
                    self.regions[usize::from(screen.alternate_screen())] =
                        (!whole).then_some((top, bottom));
                }
                Event::Reset => self.regions = [None; 2],
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
        self.parser.process(&bytes[done..]);
        self.offset = base + bytes.len() as u64;
        self.found = found;
    }

    /// The replies to write to the program, and the kinds of query seen,
    /// since the last call.
    pub fn take_replies(&mut self) -> (Vec<u8>, Vec<Kind>) {
        (
            std::mem::take(&mut self.replies),
            std::mem::take(&mut self.asked),
        )
    }

    pub fn resize(&mut self, size: WindowSize) {
        // A frame's start at the old size would be redrawn at the new one:
        // serve the live state instead.
        self.frame = None;
        // A resize resets the scroll regions (xterm, vt100).
        if self.parser.screen().size() != (nz(size.rows), nz(size.cols)) {
            self.regions = [None; 2];
        }
        self.parser
            .screen_mut()
            .set_size(nz(size.rows), nz(size.cols));
    }

    /// The snapshot a joining client gets and the offset its live stream
    /// starts at: the state at the BSU of an open synchronized-output frame
    /// (the client then receives the whole frame, never half of it), unless
    /// that frame is older than [`FRAME_MAX_AGE`], longer than
    /// [`FRAME_MAX_BYTES`], or starts before `oldest` (the oldest offset
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

    pub fn title(&self) -> &str {
        &self.parser.callbacks().title
    }

    /// Bytes that rebuild this screen in a fresh xterm.js: the primary or
    /// alternate screen, text with colours and attributes, cursor position
    /// and visibility, input modes (application cursor and keypad,
    /// bracketed paste, mouse), and the window title.
    pub fn snapshot_live(&self) -> Vec<u8> {
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
        if let Some((top, bottom)) = self.regions[usize::from(screen.alternate_screen())] {
            // DECSTBM homes the cursor: put it back.
            let (row, col) = screen.cursor_position();
            out.push_str(&format!(
                "\x1b[{};{}r\x1b[{};{}H",
                top + 1,
                bottom + 1,
                row + 1,
                col + 1
            ));
        }
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
        String::from_utf8_lossy(&self.snapshot_live()).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replay(snapshot: &[u8], size: WindowSize) -> Screen {
        let mut s = Screen::new(size);
        s.process(snapshot);
        s
    }

    #[test]
    fn snapshots_rebuild_the_screen() {
        let size = WindowSize { cols: 40, rows: 10 };
        let mut s = Screen::new(size);
        s.parser.process(
            b"\x1b]2;my title\x07plain \x1b[1;31mred bold\x1b[0m \xe4\xb8\xad\xe6\x96\x87\r\n\x1b[?1h\x1b[?2004h\x1b[?25l\x1b[3;5Hxy",
        );
        let r = replay(&s.snapshot_live(), size);
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
    fn an_open_frame_is_served_from_its_start() {
        let size = WindowSize { cols: 20, rows: 5 };
        let mut s = Screen::new(size);
        let before: &[u8] = b"\x1b[?2026h\x1b[Hframe one\x1b[?2026lold screen";
        s.process(before);
        assert!(s.frame.is_none(), "a frame within one chunk needs no copy");
        let old = s.snapshot_live();
        // BSU split across chunks, the frame half-drawn.
        s.process(b"\x1b[?20");
        s.process(b"26h\x1b[2J\x1b[Hhalf");
        let bsu = before.len() as u64;
        let (snapshot, offset) = s.snapshot_at(0);
        assert_eq!((snapshot.as_slice(), offset), (old.as_slice(), bsu));
        assert_eq!(replay(&snapshot, size).lines()[0], "frame oneold screen");
        // Bounded: too old, too long, or no longer kept: the live state.
        let opened = s.frame.as_ref().unwrap().opened;
        let live = (s.snapshot_live(), s.offset);
        assert_eq!(s.snapshot_at_time(0, opened + FRAME_MAX_AGE), live);
        assert_eq!(s.snapshot_at(bsu + 1), live);
        // A nested BSU keeps the first start.
        s.process(b"\x1b[?2026h-drawn");
        assert_eq!(s.snapshot_at(0).1, bsu);
        // ESU: the live state again.
        s.process(b"\x1b[?2026l");
        assert_eq!(s.snapshot_at(0), (s.snapshot_live(), s.offset));
        assert_eq!(s.lines()[0], "half-drawn");
        s.process(b"\x1b[?2026h");
        s.process(&vec![b'x'; FRAME_MAX_BYTES as usize + 1]);
        assert_eq!(s.snapshot_at(0).1, s.offset);
        s.process(b"\x1b[?2026h");
        s.resize(WindowSize { cols: 30, rows: 5 });
        assert_eq!(s.snapshot_at(0).1, s.offset, "a resize ends the copy");
    }

    #[test]
    fn queries_are_answered_from_the_state_right_before_them() {
        let mut s = Screen::new(WindowSize { cols: 20, rows: 5 });
        s.process(b"\x1b[2;3Hab\x1b[6n\r\nx\x1b");
        s.process(b"[6n\x1b[?u\x1b[?2026h\x1b[?2026$p\x1b]11;?\x07");
        let (replies, asked) = s.take_replies();
        assert_eq!(
            String::from_utf8(replies).unwrap(),
            "\x1b[2;5R\x1b[3;2R\x1b[?2026;1$y\x1b]11;rgb:0b0b/0e0e/1414\x07"
        );
        assert_eq!(
            asked,
            [
                Kind::CursorPosition,
                Kind::CursorPosition,
                Kind::KittyKeyboard,
                Kind::Mode,
                Kind::Color
            ]
        );
        assert_eq!(s.take_replies(), (Vec::new(), Vec::new()));
    }

    #[test]
    fn an_alternate_screen_switch_split_across_chunks_keeps_the_primary() {
        let size = WindowSize { cols: 20, rows: 5 };
        let mut s = Screen::new(size);
        s.process(b"primary\x1b[?10");
        s.process(b"49h\x1b[2;2Hfull-screen app");
        let r = replay(&s.snapshot_live(), size);
        s.process(b"\x1b[?1049l");
        let mut r = r;
        r.process(b"\x1b[?1049l");
        assert_eq!(r.lines()[0], "primary");
    }

    #[test]
    fn the_scroll_region_survives_a_snapshot() {
        let size = WindowSize::new(20, 10).unwrap();
        let mut live = Screen::new(size);
        // A status line below a scrolling region (as codex and vim do).
        live.process(b"\x1b[10;1Hstatus\x1b[2;8r\x1b[8;1Hbottom\x1b[4;3H");
        let mut replayed = replay(&live.snapshot_live(), size);
        assert_eq!(replayed.cursor(), live.cursor());
        // Line feeds at the region's bottom scroll the region only.
        let more = b"\x1b[8;1Hone\r\ntwo\r\nthree";
        live.process(more);
        replayed.process(more);
        assert_eq!(replayed.lines(), live.lines());
        assert_eq!(live.lines()[9], "status");
        assert_eq!(live.lines()[7], "three");
        // A reset clears it: the snapshot then has no region.
        live.process(b"\x1bc");
        assert_eq!(live.regions, [None, None]);
        // The region of the primary screen is not the alternate one's.
        live.process(b"\x1b[3;5r\x1b[?1049h");
        assert_eq!(live.regions, [Some((2, 4)), None]);
        // A resize resets both.
        live.resize(WindowSize::new(30, 10).unwrap());
        assert_eq!(live.regions, [None, None]);
    }

    #[test]
    fn the_alternate_screen_survives_a_snapshot() {
        let size = WindowSize { cols: 20, rows: 5 };
        let mut s = Screen::new(size);
        s.process(b"primary\x1b[?1049h\x1b[2;2Hfull-screen app");
        let mut r = replay(&s.snapshot_live(), size);
        assert!(r.parser.screen().alternate_screen());
        assert_eq!(r.lines(), s.lines());
        s.process(b"\x1b[?1049l");
        r.process(b"\x1b[?1049l");
        assert_eq!(r.lines()[0], "primary");
        assert_eq!(r.lines(), s.lines());
        assert_eq!(r.cursor(), s.cursor());
    }
}
