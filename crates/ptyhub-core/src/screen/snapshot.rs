//! The snapshot serializer: the bytes that rebuild the model's state in a
//! fresh xterm.js, written from the model's cells and state (vt100's own
//! `state_formatted` carries neither the new attributes nor the state this
//! needs: see the module documentation of `screen`).
//!
//! Order: the primary screen's cells; when the alternate screen is in use,
//! the primary screen's saved cursor (DECSC, what leaving the alternate
//! screen restores) and cursor, the switch (`?47h`, which neither saves
//! nor homes) and the alternate screen's cells; then, for the screen in
//! use, the tab stops, the saved cursor, the scroll region, the character
//! sets, the cursor, the modes and the pen (attributes and hyperlink).

use std::fmt::Write as _;

use vt100::{Attrs, Charset, MouseProtocolEncoding as E, MouseProtocolMode as M};

/// Appends the snapshot of `screen` (title excluded) to `out`.
pub(crate) fn write(screen: &vt100::Screen, out: &mut String) {
    let alternate = screen.alternate_screen();
    // A fresh terminal is in this state already; a reused one is brought
    // there (reset pen, link, charset, region, modes that affect drawing).
    out.push_str("\x1b[0m\x1b]8;;\x07\x1b(B\x0f\x1b[r\x1b[?6l\x1b[?7h\x1b[4l\x1b[H\x1b[2J");
    let mut pen = Attrs::default();
    draw(screen, false, out, &mut pen);
    if alternate {
        saved_cursor(screen, false, out, &mut pen);
        let (row, col) = screen.cursor_of(false);
        cup(out, row, col.min(cols(screen) - 1));
        out.push_str("\x1b[?47h");
        draw(screen, true, out, &mut pen);
    }
    tabs(screen, alternate, out);
    saved_cursor(screen, alternate, out, &mut pen);
    let (top, bottom) = screen.scroll_region_of(alternate);
    if (top, bottom) != (0, rows(screen) - 1) {
        let _ = write!(out, "\x1b[{};{}r", top + 1, bottom + 1);
    }
    cursor(screen, alternate, out, &mut pen);
    charsets(screen, out);
    modes(screen, out);
    set_pen(screen, out, &mut pen, screen.pen());
}

fn rows(screen: &vt100::Screen) -> u16 {
    screen.size().0.get()
}

fn cols(screen: &vt100::Screen) -> u16 {
    screen.size().1.get()
}

fn cup(out: &mut String, row: u16, col: u16) {
    let _ = write!(out, "\x1b[{};{}H", row + 1, col + 1);
}

/// Switches the terminal's pen from `pen` to `to` (SGR and OSC 8).
fn set_pen(screen: &vt100::Screen, out: &mut String, pen: &mut Attrs, to: Attrs) {
    if to.link != pen.link {
        out.push_str("\x1b]8;;");
        out.push_str(screen.link(to.link).unwrap_or_default());
        out.push('\x07');
    }
    let _ = to.write_escape_code_diff_fmt(out, pen);
    *pen = to;
}

/// The cells of one screen, row by row; a row that continues on the next
/// one (soft wrap) is written to its end so the terminal wraps it itself
/// and marks the continuation.
fn draw(screen: &vt100::Screen, alternate: bool, out: &mut String, pen: &mut Attrs) {
    let (rows, cols) = (rows(screen), cols(screen));
    // Where the terminal's cursor is (col == cols: a wrap pending).
    let mut at: Option<(u16, u16)> = None;
    for row in 0..rows {
        let wrapped = row + 1 < rows && screen.row_wrapped_of(alternate, row);
        let next_wide = wrapped
            && screen
                .cell_of(alternate, row + 1, 0)
                .is_some_and(vt100::Cell::is_wide);
        let mut col = 0;
        while col < cols {
            let Some(cell) = screen.cell_of(alternate, row, col) else {
                break;
            };
            if cell.is_wide_continuation() {
                col += 1;
                continue;
            }
            let attrs = *cell.attrs();
            if !cell.has_contents() {
                // A run of empty cells with the same attributes.
                let mut end = col + 1;
                while end < cols
                    && screen
                        .cell_of(alternate, row, end)
                        .is_some_and(|c| !c.has_contents() && !c.is_wide_continuation() && *c.attrs() == attrs)
                {
                    end += 1;
                }
                let at_end = end == cols;
                if wrapped && at_end && !(next_wide && end - col == 1) {
                    // The terminal must reach the margin to wrap: spaces.
                    goto(out, &mut at, row, col);
                    set_pen(screen, out, pen, attrs);
                    for _ in col..end {
                        out.push(' ');
                    }
                    at = Some((row, end));
                } else if attrs.erase() == attrs && attrs != Attrs::default() {
                    // Erased under a background colour: ECH with that pen.
                    goto(out, &mut at, row, col);
                    set_pen(screen, out, pen, attrs);
                    let _ = write!(out, "\x1b[{}X", end - col);
                } else if attrs != Attrs::default() {
                    goto(out, &mut at, row, col);
                    set_pen(screen, out, pen, attrs.erase());
                    let _ = write!(out, "\x1b[{}X", end - col);
                }
                if wrapped && at_end && next_wide && end - col == 1 {
                    goto(out, &mut at, row, col);
                }
                col = end;
                continue;
            }
            goto(out, &mut at, row, col);
            set_pen(screen, out, pen, attrs);
            out.push_str(cell.contents());
            let width = if cell.is_wide() { 2 } else { 1 };
            col += width;
            at = Some((row, col.min(cols)));
        }
        if wrapped {
            // The next row's first character wraps from here.
            if at != Some((row, cols)) && !(next_wide && at == Some((row, cols - 1))) {
                at = None;
            } else {
                at = Some((row + 1, 0));
            }
        }
    }
}

/// Moves the terminal's cursor to (row, col) unless it is there.
fn goto(out: &mut String, at: &mut Option<(u16, u16)>, row: u16, col: u16) {
    match *at {
        Some(p) if p == (row, col) => {}
        Some((r, c)) if r == row && c < col => {
            let _ = write!(out, "\x1b[{}C", col - c);
        }
        _ => cup(out, row, col),
    }
    *at = Some((row, col));
}

fn tabs(screen: &vt100::Screen, alternate: bool, out: &mut String) {
    let stops = screen.tab_stops_of(alternate);
    let default = (0..cols(screen)).step_by(8).collect::<Vec<_>>();
    if stops != default {
        out.push_str("\x1b[3g");
        for c in stops {
            cup(out, 0, c);
            out.push_str("\x1bH");
        }
    }
}

fn designate(out: &mut String, slot: usize, charset: Charset) {
    let i = ['(', ')', '*', '+'][slot];
    let _ = write!(out, "\x1b{i}{}", charset.final_byte());
}

/// DECSC's state: position, pen, character set; written and saved with
/// ESC 7 (the terminal's own pen and sets are set again afterwards).
fn saved_cursor(screen: &vt100::Screen, alternate: bool, out: &mut String, pen: &mut Attrs) {
    let ((row, col), attrs, charset) = screen.saved_cursor_of(alternate);
    if charset.is_none() && (row, col) == (0, 0) {
        return;
    }
    cup(out, row, col.min(cols(screen) - 1));
    set_pen(screen, out, pen, attrs);
    designate(out, 0, charset.unwrap_or_default());
    // Saved; G0 back to ASCII for what is drawn next.
    out.push_str("\x0f\x1b7\x1b(B");
}

fn charsets(screen: &vt100::Screen, out: &mut String) {
    let (sets, gl, _) = screen.charsets();
    for (slot, set) in sets.iter().enumerate() {
        designate(out, slot, *set);
    }
    out.push_str(["\x0f", "\x0e", "\x1bn", "\x1bo"][usize::from(gl & 3)]);
}

/// The cursor, a pending wrap included (the last character is written
/// again to put the terminal in that state).
fn cursor(screen: &vt100::Screen, alternate: bool, out: &mut String, pen: &mut Attrs) {
    let (row, col) = screen.cursor_of(alternate);
    let cols = cols(screen);
    if col >= cols {
        let last = (0..cols).rev().find_map(|c| {
            let cell = screen.cell_of(alternate, row, c)?;
            (!cell.is_wide_continuation()).then_some((c, cell))
        });
        if let Some((c, cell)) = last
            && cell.has_contents()
        {
            cup(out, row, c);
            set_pen(screen, out, pen, *cell.attrs());
            out.push_str(cell.contents());
        } else {
            cup(out, row, cols - 1);
        }
    } else if screen.origin_mode() {
        let (top, _) = screen.scroll_region_of(alternate);
        out.push_str("\x1b[?6h");
        cup(out, row.saturating_sub(top), col);
    } else {
        cup(out, row, col);
    }
    if col >= cols && screen.origin_mode() {
        // Origin mode homes the cursor: the pending wrap cannot be kept.
        let (top, _) = screen.scroll_region_of(alternate);
        out.push_str("\x1b[?6h");
        cup(out, row.saturating_sub(top), cols - 1);
    }
}

fn modes(screen: &vt100::Screen, out: &mut String) {
    let flag = |out: &mut String, on: bool, seq: &str| {
        if on {
            out.push_str(seq);
        }
    };
    flag(out, !screen.autowrap(), "\x1b[?7l");
    flag(out, screen.insert_mode(), "\x1b[4h");
    flag(out, screen.reverse_wrap(), "\x1b[?45h");
    flag(out, screen.focus_events(), "\x1b[?1004h");
    flag(out, screen.application_cursor(), "\x1b[?1h");
    flag(out, screen.application_keypad(), "\x1b=");
    flag(out, screen.bracketed_paste(), "\x1b[?2004h");
    flag(out, screen.hide_cursor(), "\x1b[?25l");
    out.push_str(match screen.mouse_protocol_mode() {
        M::None => "",
        M::Press => "\x1b[?9h",
        M::PressRelease => "\x1b[?1000h",
        M::ButtonMotion => "\x1b[?1002h",
        M::AnyMotion => "\x1b[?1003h",
    });
    out.push_str(match screen.mouse_protocol_encoding() {
        E::Default => "",
        E::Utf8 => "\x1b[?1005h",
        E::Sgr => "\x1b[?1006h",
    });
    let style = match screen.cursor_style() {
        vt100::CursorStyle::Default => None,
        vt100::CursorStyle::BlinkBlock => Some(1),
        vt100::CursorStyle::SteadyBlock => Some(2),
        vt100::CursorStyle::BlinkUnderline => Some(3),
        vt100::CursorStyle::SteadyUnderline => Some(4),
        vt100::CursorStyle::BlinkVerticalBar => Some(5),
        vt100::CursorStyle::SteadyVerticalBar => Some(6),
    };
    if let Some(n) = style {
        let _ = write!(out, "\x1b[{n} q");
    }
}
