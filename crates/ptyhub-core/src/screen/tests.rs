//! The screen against a parser fed every byte: snapshots, the flood skip,
//! frames, queries, regions and the alternate screen.

use super::*;

/// Feeds `piece` to the screen and to a parser fed every byte, and checks
/// that both have the same state and cursor.
fn feed_both(s: &mut Screen, whole: &mut vt100::Parser, piece: &[u8], what: &str) {
    s.process(piece);
    whole.process(piece);
    assert_eq!(
        s.parser.screen().state_formatted(),
        whole.screen().state_formatted(),
        "{what}"
    );
    assert_eq!(s.cursor(), whole.screen().cursor_position(), "{what}");
}

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
fn skipping_plain_text_gives_the_screen_of_parsing_all_of_it() {
    // Lines of varied length (some wrap, some wide), bare LFs, BS, TAB,
    // BEL, invalid UTF-8, between colours, scroll regions, the
    // alternate screen and a resize; chunked at several sizes.
    let mut text = Vec::new();
    let mut n: u32 = 7;
    for i in 0..6000u32 {
        n = n.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let len = (n >> 16) as usize % 130;
        for k in 0..len {
            text.push(b"abc def\t\x08xyz"[(k + i as usize) % 12]);
        }
        match i % 97 {
            5 => text.extend_from_slice("中文\u{301}é".as_bytes()),
            6 => text.extend_from_slice(b"\x07\xe4\x9c\n"),
            _ => {}
        }
        text.extend_from_slice(b"\r\n");
        match i {
            1000 => text.extend_from_slice(b"\x1b[1;31m"),
            1500 => text.extend_from_slice(b"\x1b[3;20r\x1b[23;1H"),
            2500 => text.extend_from_slice(b"\x1b[r\x1b[?1049h\x1b[2;10r"),
            3500 => text.extend_from_slice(b"\x1b[1;24r"),
            4000 => text.extend_from_slice(b"\x1b[?1049l\x1b[5b"),
            5000 => text.extend_from_slice(b"\x1b[0m\x1b]2;t\x07"),
            _ => {}
        }
    }
    for chunk in [1 << 20, 64 << 10, 8 << 10, 5000] {
        let size = WindowSize { cols: 50, rows: 24 };
        let mut s = Screen::new(size);
        let mut whole = vt100::Parser::new(nz(24), nz(50), 0);
        for (i, piece) in text.chunks(chunk).enumerate() {
            if i == 3 {
                s.resize(WindowSize { cols: 60, rows: 20 });
                whole.screen_mut().set_size(nz(20), nz(60));
            }
            feed_both(
                &mut s,
                &mut whole,
                piece,
                &format!("chunk {chunk}, piece {i}"),
            );
        }
    }
    // Below a scroll region the last row is written over and over: what
    // an early long line left there stays.
    let mut text = b"\x1b[1;5r\x1b[24;1H".to_vec();
    text.extend(b"\r\nXXXXXXXX".iter().cycle().take(40_000));
    text.extend(b"\r\nab".iter().cycle().take(400));
    let mut s = Screen::new(WindowSize { cols: 50, rows: 24 });
    s.process(&text);
    assert!(s.lines()[23].starts_with("abXX"), "{:?}", s.lines()[23]);
}

#[test]
fn a_coloured_flood_is_skipped_and_gives_the_same_screen() {
    // A build log: colour changes per word (16, 256 and true colour,
    // with `:` sub-parameters), backgrounds, bold and reverse, resets,
    // lines that wrap; an SGR between CR and LF; and, once, something
    // that is not an SGR (a cursor move) inside the run.
    let mut text = Vec::new();
    for i in 0..4000u32 {
        if i >= 3000 {
            // No resets any more, and an underline set once: the
            // colours of a skipped part decide how the rest is drawn.
            if i == 3000 {
                text.extend_from_slice(b"\x1b[4m");
            }
            let line = format!(
                "\x1b[{}mline {i} {}\r\n",
                30 + i % 8,
                "y".repeat(i as usize % 70)
            );
            text.extend_from_slice(line.as_bytes());
            continue;
        }
        let words = [
            format!("\x1b[{}m[{i:>5}]\x1b[0m", 30 + i % 8),
            format!("\x1b[1;38;5;{}mcompiling\x1b[22m", i % 256),
            format!(
                "\x1b[38:2::{}:{}:{}mcrate-{i}\x1b[39m",
                i % 256,
                (i * 7) % 256,
                9
            ),
            format!("\x1b[48;5;{}m\x1b[7mv0.{i}\x1b[m", i % 200),
            "x".repeat((i as usize * 13) % 90),
        ];
        text.extend_from_slice(words.join(" ").as_bytes());
        text.extend_from_slice(if i % 11 == 0 { b"\r\x1b[0m\n" } else { b"\r\n" });
        if i == 2222 {
            text.extend_from_slice(b"\x1b[5;5H");
        }
    }
    text.extend_from_slice(b"\x1b[1;31mlast bold red");
    for chunk in [1 << 20, 64 << 10, 8 << 10, 3001] {
        let size = WindowSize { cols: 60, rows: 24 };
        let mut s = Screen::new(size);
        let mut whole = vt100::Parser::new(nz(24), nz(60), 0);
        for (i, piece) in text.chunks(chunk).enumerate() {
            feed_both(
                &mut s,
                &mut whole,
                piece,
                &format!("chunk {chunk}, piece {i}"),
            );
        }
        // Most of it was never parsed (in chunks of many screenfuls,
        // as the screen thread gathers a flood).
        assert!(
            chunk < 64 << 10 || s.skipped * 10 > text.len() as u64 * 8,
            "chunk {chunk}: skipped {} of {}",
            s.skipped,
            text.len()
        );
    }
    assert!(only_sgr(b"\x1b[m\x1b[1;38:2::1:2:3m"));
    assert!(!only_sgr(b"\x1b[1;31H"));
    assert!(!only_sgr(b"\x1b[?1m"));
    assert!(!only_sgr(b"\x1b[1m "));
    assert!(!only_sgr(b""));
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
    let regions = |s: &Screen| {
        let screen = s.parser.screen();
        [
            screen.scroll_region_of(false),
            screen.scroll_region_of(true),
        ]
    };
    assert_eq!(regions(&live), [(0, 9), (0, 9)]);
    // The region of the primary screen is not the alternate one's.
    live.process(b"\x1b[3;5r\x1b[?1049h");
    assert_eq!(regions(&live), [(2, 4), (0, 9)]);
    // A resize resets both.
    live.resize(WindowSize::new(30, 10).unwrap());
    assert_eq!(regions(&live), [(0, 9), (0, 9)]);
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

#[test]
fn a_utf8_character_cut_between_chunks_loses_nothing() {
    // Every UTF-8 length, a combining mark, invalid and truncated
    // sequences and escapes after them, cut at every byte (as reads from
    // the pty cut them), then fed one byte at a time: the screen of the
    // whole stream each time (vte 0.15.0 alone lost the character after a
    // cut one when more text came with its end).
    let stream: &[u8] =
        b"a\xc3\xa9V\xe4\xb8\xadW\xf0\x9f\x98\x80X\x61\xcc\x81Y\xe4\x96Z\xc3\xc3\xa9\
\xf0\x9f\x98\x1b[1m\xc3\xa9\xe4\xb8\xad\xe6\x96\x87\r\n\xe5\xad\x97\x80\xff!";
    let size = WindowSize { cols: 20, rows: 4 };
    let mut whole = Screen::new(size);
    whole.process(stream);
    let want = whole.parser.screen().contents_formatted();
    assert!(
        whole.lines()[0].starts_with("aéV中W😀X"),
        "{:?}",
        whole.lines()
    );
    for cut in 1..stream.len() {
        let mut s = Screen::new(size);
        s.process(&stream[..cut]);
        s.process(&stream[cut..]);
        assert_eq!(s.parser.screen().contents_formatted(), want, "cut at {cut}");
        assert_eq!(s.cursor(), whole.cursor(), "cut at {cut}");
    }
    let mut s = Screen::new(size);
    for b in stream.chunks(1) {
        s.process(b);
    }
    assert_eq!(s.parser.screen().contents_formatted(), want);
}

#[test]
fn empty_cells_keeping_a_pen_at_the_end_of_the_last_row_survive_a_snapshot() {
    // Row 3 of 4: a wide character with an underline is cut to the left
    // of column 18 by a red `q`, and a wide character that does not fit
    // in column 19 leaves it empty with a bold magenta on blue pen (and
    // wraps to the last row); the rows are then scrolled down one.
    let size = WindowSize { cols: 20, rows: 4 };
    let mut s = Screen::new(size);
    s.process(
        "top\x1b[3;18H\x1b[4m中\x1b[3;18H\x1b[0;31mq\x1b[3;20H\x1b[1;35;44m中\x1b[m\x1b[T"
            .as_bytes(),
    );
    let screen = s.parser.screen();
    let pen_of = |s: &vt100::Screen, col| *s.cell_of(false, 3, col).unwrap().attrs();
    let (red, bold) = (pen_of(screen, 18), pen_of(screen, 19));
    // Neither is a background only (an erase cannot make them).
    assert_ne!(red, red.erase());
    assert_ne!(bold, bold.erase());
    assert!(bold.bold());
    let r = replay(&s.snapshot_live(), size);
    let replayed = r.parser.screen();
    for col in 0..20 {
        let (a, b) = (
            replayed.cell_of(false, 3, col).unwrap(),
            screen.cell_of(false, 3, col).unwrap(),
        );
        assert_eq!(a.contents(), b.contents(), "column {col}");
        assert_eq!(a.attrs(), b.attrs(), "column {col}");
    }
    assert_eq!(r.lines(), s.lines());
    assert_eq!(r.cursor(), s.cursor());
}

#[test]
fn a_wide_character_dropped_at_the_margin_empties_the_right_half_it_ends_on() {
    // Autowrap off: 中 fills the last two columns, then 文 (with another
    // pen) does not fit and is dropped, the run ending on 中's right half,
    // which xterm.js empties with that pen, keeping 中 a wide cell.
    let size = WindowSize { cols: 10, rows: 3 };
    let mut s = Screen::new(size);
    s.process("\x1b[?7labcdefgh中\x1b[4:3;35m文\x1b[m\r\n".as_bytes());
    let screen = s.parser.screen();
    let (wide, half) = (
        screen.cell_of(false, 0, 8).unwrap(),
        screen.cell_of(false, 0, 9).unwrap(),
    );
    assert_eq!(wide.contents(), "中");
    assert!(wide.is_wide());
    assert!(!half.is_wide_continuation());
    assert!(!half.has_contents());
    assert_eq!(half.attrs().fgcolor, vt100::Color::Idx(5));
    assert_eq!(half.attrs().ulstyle, vt100::UnderlineStyle::Curly);
    assert_eq!(s.lines()[0], "abcdefgh中");
    // The snapshot makes the same cells.
    let r = replay(&s.snapshot_live(), size);
    let replayed = r.parser.screen();
    for col in 8..10 {
        let (a, b) = (
            replayed.cell_of(false, 0, col).unwrap(),
            screen.cell_of(false, 0, col).unwrap(),
        );
        assert_eq!(a.contents(), b.contents(), "column {col}");
        assert_eq!(a.is_wide(), b.is_wide(), "column {col}");
        assert_eq!(
            a.is_wide_continuation(),
            b.is_wide_continuation(),
            "column {col}"
        );
        assert_eq!(a.attrs(), b.attrs(), "column {col}");
    }
    assert_eq!(r.lines(), s.lines());
}

#[test]
fn il_and_dl_outside_the_region_end_a_pending_wrap() {
    // Row 6 is below the region (rows 1 to 4): IL and DL leave the rows,
    // but the cursor, past the last column, comes back into it.
    let size = WindowSize { cols: 20, rows: 10 };
    for op in ["\x1b[M", "\x1b[2L"] {
        let mut s = Screen::new(size);
        s.process(format!("\x1b[1;4r\x1b[6;1H{}", "x".repeat(20)).as_bytes());
        assert_eq!(s.cursor(), (5, 20), "{op:?}");
        s.process(op.as_bytes());
        assert_eq!(s.cursor(), (5, 19), "{op:?}");
        assert_eq!(s.lines()[5], "x".repeat(20), "{op:?}");
        // Text goes on in the last column, not on the next row.
        s.process(b"y");
        assert_eq!(s.lines()[5], format!("{}y", "x".repeat(19)), "{op:?}");
        let r = replay(&s.snapshot_live(), size);
        assert_eq!(r.cursor(), s.cursor(), "{op:?}");
        assert_eq!(r.lines(), s.lines(), "{op:?}");
    }
}

#[test]
fn backspace_with_reverse_wraparound_as_xterm_js() {
    let size = WindowSize { cols: 10, rows: 3 };
    // From a pending wrap: to the last column (not the one before).
    let mut s = Screen::new(size);
    s.process(b"\x1b[?45hxxxxxxxxxx\x08A");
    assert_eq!(s.lines()[0], "xxxxxxxxxA");
    assert_eq!(s.cursor(), (0, 10));
    // Without it, the one before.
    let mut s = Screen::new(size);
    s.process(b"xxxxxxxxxx\x08A");
    assert_eq!(s.lines()[0], "xxxxxxxxAx");
    // Back over a soft wrap: to the last cell taken, not the empty one a
    // wide character did not fit in.
    let mut s = Screen::new(size);
    s.process("\x1b[?45hxxxxxxxxx中\r\x08A".as_bytes());
    assert_eq!(s.lines()[0], "xxxxxxxxA");
    assert_eq!(s.lines()[1], "中");
    assert_eq!(s.cursor(), (0, 9));
    let r = replay(&s.snapshot_live(), size);
    assert_eq!(r.lines(), s.lines());
    assert_eq!(r.cursor(), s.cursor());
}

#[test]
fn a_pending_wrap_on_a_blank_row_survives_a_snapshot() {
    // The cursor past the last column of a row left blank: scrolled up
    // (with origin mode too), or erased with a background colour.
    let size = WindowSize { cols: 10, rows: 3 };
    for stream in [
        "xxxxxxxxxx\x1b[S",
        "\x1b[?6hxxxxxxxxxx\x1b[S",
        "\x1b[44mxxxxxxxxxx\x1b[2K\x1b[m",
    ] {
        let mut s = Screen::new(size);
        s.process(stream.as_bytes());
        assert_eq!(s.cursor(), (0, 10), "{stream:?}");
        let r = replay(&s.snapshot_live(), size);
        assert_eq!(r.cursor(), (0, 10), "{stream:?}");
        assert_eq!(r.lines(), s.lines(), "{stream:?}");
        assert_eq!(r.lines()[0], "", "{stream:?}");
        for col in 0..10 {
            let (a, b) = (
                r.parser.screen().cell_of(false, 0, col).unwrap(),
                s.parser.screen().cell_of(false, 0, col).unwrap(),
            );
            assert_eq!(a.attrs(), b.attrs(), "{stream:?} column {col}");
        }
        // The next character wraps.
        let mut s2 = r;
        s2.process(b"y");
        s.process(b"y");
        assert_eq!(s2.lines(), s.lines(), "{stream:?}");
        assert_eq!(s.cursor().0, 1, "{stream:?}");
    }
}

#[test]
fn cells_underlined_with_no_style_survive_a_snapshot() {
    // A DECRC brings back the underline flag of a pen whose style was
    // cleared since (the second time with an underline colour).
    let size = WindowSize { cols: 30, rows: 4 };
    let mut s = Screen::new(size);
    s.process(
        b"\x1b[4;31m\x1b7\x1b[24m\x1b8styleless\x1b[m plain \x1b[4:3;58:5:2m\
\x1b7\x1b[4:0m\x1b[3;5H\x1b8coloured\x1b[m end",
    );
    let screen = s.parser.screen();
    let cell = |s: &vt100::Screen, col| *s.cell_of(false, 0, col).unwrap().attrs();
    let styleless = cell(screen, 0);
    assert!(styleless.underline() && styleless.extended_on());
    assert_eq!(styleless.ulstyle, vt100::UnderlineStyle::None);
    let coloured = cell(screen, 16);
    assert!(coloured.underline() && coloured.extended_on());
    assert_eq!(coloured.ulstyle, vt100::UnderlineStyle::None);
    assert_eq!(coloured.ulcolor, vt100::Color::Idx(2));
    let r = replay(&s.snapshot_live(), size);
    for col in 0..30 {
        assert_eq!(
            cell(r.parser.screen(), col),
            cell(screen, col),
            "column {col}"
        );
    }
    assert_eq!(r.lines(), s.lines());
    assert_eq!(r.cursor(), s.cursor());
    // The saved cursor is the screen's, not the one the snapshot used.
    assert_eq!(
        r.parser.screen().saved_cursor_of(false).0,
        screen.saved_cursor_of(false).0
    );
}

#[test]
fn the_alternate_screen_keeps_its_saved_cursor_across_switches() {
    // Saved on the alternate screen, which is left and entered again: the
    // saved cursor (position, pen, character set) is still there, as in
    // xterm.js, and a snapshot gives it back.
    let size = WindowSize { cols: 20, rows: 5 };
    let mut s = Screen::new(size);
    s.process(
        b"\x1b[?1049h\x1b[3;7H\x1b[1;4:3;35m\x1b(0\x1b7\x1b[m\x1b(B\x1b[?1049lprimary\x1b[?1047hback",
    );
    let screen = s.parser.screen();
    assert!(screen.alternate_screen());
    let ((row, col), attrs, charset) = screen.saved_cursor_of(true);
    assert_eq!((row, col), (2, 6));
    assert!(attrs.bold());
    assert_eq!(attrs.fgcolor, vt100::Color::Idx(5));
    assert_eq!(charset, Some(vt100::Charset::DecGraphics));
    let r = replay(&s.snapshot_live(), size);
    assert_eq!(
        r.parser.screen().saved_cursor_of(true),
        screen.saved_cursor_of(true)
    );
    // A DECRC there brings it back.
    s.process(b"\x1b8q");
    let mut r = r;
    r.process(b"\x1b8q");
    assert_eq!(s.cursor(), (2, 7));
    assert_eq!(r.cursor(), s.cursor());
    assert_eq!(r.lines(), s.lines());
    assert_eq!(s.lines()[2], "      ─");
}

#[test]
fn cells_with_an_underline_style_a_decrc_hid_survive_a_snapshot() {
    // DECRC takes the underline off (the saved pen had none) and leaves
    // the dashed style; closing a link makes it count again: the cells get
    // the underline colour with no underline.
    let size = WindowSize { cols: 30, rows: 3 };
    let mut s = Screen::new(size);
    s.process(b"\x1b7\x1b[4:5;1m\x1b8\x1b]8;;\x07\x1b[58:2::186:210:52mhidden\x1b[m plain");
    let screen = s.parser.screen();
    let hidden = *screen.cell_of(false, 0, 0).unwrap().attrs();
    assert!(!hidden.underline() && !hidden.bold());
    assert!(hidden.extended_on());
    assert_eq!(hidden.ulcolor, vt100::Color::Rgb(186, 210, 52));
    assert!(!hidden.sgr_makeable());
    assert!(screen.hidden_pen_seen());
    let r = replay(&s.snapshot_live(), size);
    for col in 0..30 {
        assert_eq!(
            r.parser.screen().cell_of(false, 0, col).unwrap().attrs(),
            screen.cell_of(false, 0, col).unwrap().attrs(),
            "column {col}"
        );
    }
    assert_eq!(r.lines(), s.lines());
    assert_eq!(r.cursor(), s.cursor());
    assert_eq!(
        r.parser.screen().saved_cursor_of(false).0,
        screen.saved_cursor_of(false).0
    );
}
