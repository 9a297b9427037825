//! The snapshot serializer: the bytes that rebuild the model's state in a
//! fresh xterm.js, written from the model's cells and state (vt100's own
//! `state_formatted` carries neither the new attributes nor the state this
//! needs: see the module documentation of `screen`).
//!
//! Order: the primary screen's soft-wrap flags and cells; when the alternate screen is in use,
//! the primary screen's saved cursor (DECSC, what leaving the alternate
//! screen restores) and cursor, the switch (`?47h`, which neither saves
//! nor homes) and the alternate screen's cells; then, for the screen in
//! use, the tab stops, the saved cursor, the scroll region, the character
//! sets, the cursor, the modes and the pen (attributes and hyperlink).

use std::fmt::Write as _;

use vt100::{
    Attrs, Charset, Color, MouseProtocolEncoding as E, MouseProtocolMode as M, UnderlineStyle,
};

/// Appends the snapshot of `screen` (title excluded) to `out`.
pub(crate) fn write(screen: &vt100::Screen, out: &mut String) {
    let alternate = screen.alternate_screen();
    // A fresh terminal is in this state already; a reused one is brought
    // there (reset pen, link, charset, region, modes that affect drawing).
    out.push_str("\x1b[0m\x1b]8;;\x07\x1b(B\x0f\x1b[r\x1b[?6l\x1b[?7h\x1b[4l\x1b[H\x1b[2J");
    let mut pen = Attrs::default();
    draw(screen, false, out, &mut pen);
    if alternate {
        // The primary screen's own state, then its saved cursor and cursor.
        tabs(screen, false, out, &mut pen);
        region(screen, false, out);
        saved_cursor(screen, false, out, &mut pen);
        let (row, col) = screen.cursor_of(false);
        if col >= cols(screen) {
            // Past the last column (autowrap off, or a wrap pending): the
            // alternate screen starts there too.
            final_pending_wrap(screen, false, (row, 0), out, &mut pen);
        } else {
            cup(out, row, col);
        }
        // The switch fills the alternate screen with the pen's background.
        set_pen(screen, out, &mut pen, Attrs::default());
        out.push_str("\x1b[?47h");
        draw(screen, true, out, &mut pen);
    }
    tabs(screen, alternate, out, &mut pen);
    saved_cursor(screen, alternate, out, &mut pen);
    region(screen, alternate, out);
    cursor(screen, alternate, out, &mut pen);
    charsets(screen, out);
    modes(screen, out);
    let target = screen.pen();
    set_pen(screen, out, &mut pen, target.effective());
    // Underlined with no style: only a DECRC makes it (see below).
    let styleless = styleless(target);
    if target == target.effective() && !styleless {
        return;
    }
    if !styleless && target.ulstyle == UnderlineStyle::None && target.link == 0 {
        // Only an underline colour that does not count (set with no
        // underline): SGR 58 leaves xterm.js's pen the same way.
        let _ = write_ulcolor(out, target.ulcolor);
    } else if !alternate {
        hidden_extended(screen, out, target);
        // The DECRC brought the cursor back inside the last column: a
        // pending wrap is made again if it needs no other pen.
        let (row, col) = screen.cursor_of(alternate);
        let pen_fits = last_cell(screen, alternate, row).is_some_and(|(c, cell)| {
            *cell.attrs() == pen
                && c.checked_sub(1)
                    .and_then(|w| screen.cell_of(alternate, row, w))
                    .is_none_or(|w| !w.is_wide() || *w.attrs() == pen)
        });
        if col >= cols(screen) && pen_fits {
            cursor(screen, alternate, out, &mut pen);
            if !screen.autowrap() {
                out.push_str("\x1b[?7l");
            }
        }
    }
}

fn write_ulcolor(out: &mut String, color: Color) -> std::fmt::Result {
    match color {
        Color::Default => write!(out, "\x1b[59m"),
        Color::Idx(i) => write!(out, "\x1b[58:5:{i}m"),
        Color::Rgb(r, g, b) => write!(out, "\x1b[58:2::{r}:{g}:{b}m"),
    }
}

/// A pen whose underline style, underline colour or link are there but do
/// not count (xterm.js after a DECRC, see `vt100::attrs::EXT_ON`): made the
/// way xterm.js makes it, with a DECSC/DECRC on the alternate screen (whose
/// saved cursor and contents the next switch to it resets), so the primary
/// screen's saved cursor stays. The cursor and character set come back
/// from the DECRC unchanged.
fn hidden_extended(screen: &vt100::Screen, out: &mut String, target: Attrs) {
    let base = target.effective();
    out.push_str("\x1b[?47h");
    let _ = base.write_sgr(out);
    if base.link == 0 {
        out.push_str("\x1b]8;;\x07");
    }
    if target.extended_on() && !base.underline() {
        // Set with a placeholder link, replaced below.
        out.push_str("\x1b]8;;ptyhub:\x07");
    }
    out.push_str("\x1b7");
    out.push_str(match target.ulstyle {
        UnderlineStyle::None => "\x1b[4:0m",
        UnderlineStyle::Single => "\x1b[4:1m",
        UnderlineStyle::Double => "\x1b[4:2m",
        UnderlineStyle::Curly => "\x1b[4:3m",
        UnderlineStyle::Dotted => "\x1b[4:4m",
        UnderlineStyle::Dashed => "\x1b[4:5m",
    });
    let _ = write_ulcolor(out, target.ulcolor);
    out.push_str("\x1b]8;;");
    out.push_str(screen.link(target.link).unwrap_or_default());
    out.push_str("\x07\x1b8\x1b[?47l");
}

/// DECSTBM, unless the whole screen (it homes the cursor: written before
/// the cursor is placed).
fn region(screen: &vt100::Screen, alternate: bool, out: &mut String) {
    let (top, bottom) = screen.scroll_region_of(alternate);
    if (top, bottom) != (0, rows(screen) - 1) {
        let _ = write!(out, "\x1b[{};{}r", top + 1, bottom + 1);
    }
}

fn rows(screen: &vt100::Screen) -> u16 {
    screen.size().0.get()
}

fn cols(screen: &vt100::Screen) -> u16 {
    screen.size().1.get()
}

/// A number in decimal (without `core::fmt`, which was most of the time of
/// a snapshot that moves and erases per cell).
fn num(out: &mut String, v: u16) {
    let mut digits = [0u8; 5];
    let mut i = digits.len();
    let mut v = v;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}

fn cup(out: &mut String, row: u16, col: u16) {
    out.push_str("\x1b[");
    num(out, row + 1);
    out.push(';');
    num(out, col + 1);
    out.push('H');
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

/// One screen (see `draw_cells`), its cells looked at for a pen SGR
/// cannot make only if the model has seen one (a loop of its own: the
/// common one stays as fast).
fn draw(screen: &vt100::Screen, alternate: bool, out: &mut String, pen: &mut Attrs) {
    if screen.hidden_pen_seen() {
        draw_cells::<true>(screen, alternate, out, pen);
    } else {
        draw_cells::<false>(screen, alternate, out, pen);
    }
}

/// One screen: first the rows that continue the row above them (soft
/// wrap, xterm.js's `isWrapped`, which only its own autowrap sets: two
/// characters written at the margin above; for the first row, one row
/// further down and a scroll up), then every cell, the cells those
/// characters dirtied included; with `HIDDEN`, a cell whose pen SGR
/// cannot make is drawn with a pen made for it (`set_cell_pen`).
fn draw_cells<const HIDDEN: bool>(
    screen: &vt100::Screen,
    alternate: bool,
    out: &mut String,
    pen: &mut Attrs,
) {
    let (rows, cols) = (rows(screen), cols(screen));
    let width = usize::from(cols);
    // Cells written here for the flags: to draw again (`dirty`), or
    // already right (`done`).
    let mut dirty = vec![false; usize::from(rows) * width];
    let mut done = vec![false; usize::from(rows) * width];
    if rows > 1 && screen.row_continued_of(alternate, 0) {
        set_pen(screen, out, pen, Attrs::default());
        cup(out, 0, cols - 1);
        out.push_str("xx\x1b[S");
        dirty[0] = true;
    }
    for row in 1..rows {
        if !screen.row_continued_of(alternate, row) {
            continue;
        }
        let last = usize::from(row - 1) * width + width - 1;
        cup(out, row - 1, cols - 1);
        match screen.cell_of(alternate, row - 1, cols - 1) {
            // Left empty with the pen's attributes by a wide character
            // that did not fit: the same again (ECH would keep the
            // background only).
            Some(c)
                if !c.has_contents()
                    && !c.is_wide_continuation()
                    && *c.attrs() != c.attrs().erase() =>
            {
                set_pen(screen, out, pen, *c.attrs());
                out.push('中');
                done[last] = true;
                dirty[usize::from(row) * width + 1] = true;
            }
            _ => {
                set_pen(screen, out, pen, Attrs::default());
                out.push_str("xx");
                dirty[last] = true;
            }
        }
        dirty[usize::from(row) * width] = true;
    }
    last_row_pens(screen, alternate, out, pen, &mut dirty, &mut done);
    // Where the terminal's cursor is (col == cols: a wrap pending).
    let mut at: Option<(u16, u16)> = None;
    // A DECSC was written (`set_cell_pen`).
    let mut saved_used = false;
    for row in 0..rows {
        let base = usize::from(row) * width;
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
            if done[base + usize::from(col)] {
                col += 1;
                continue;
            }
            if !cell.has_contents() {
                // A run of empty cells with the same attributes: erased
                // with that background (ECH), unless blank and untouched.
                let mut end = col + 1;
                while end < cols
                    && !done[base + usize::from(end)]
                    && screen.cell_of(alternate, row, end).is_some_and(|c| {
                        !c.has_contents() && !c.is_wide_continuation() && *c.attrs() == attrs
                    })
                {
                    end += 1;
                }
                let touched =
                    dirty[base + usize::from(col)..base + usize::from(end)].contains(&true);
                // Made by `last_row_pens` already: a cell to the right
                // cannot be written over to make this one.
                let right_done = col + 1 < cols && done[base + usize::from(col) + 1];
                if attrs != attrs.erase() && !right_done {
                    // More than a background (the pen of a wide character
                    // written over, or that did not fit): made the way
                    // xterm.js makes it, one cell at a time.
                    empty_with_pen(screen, alternate, out, pen, (row, col), &mut dirty);
                    at = None;
                    col += 1;
                    continue;
                }
                if attrs != Attrs::default() || touched {
                    goto(out, &mut at, row, col);
                    set_pen(screen, out, pen, attrs.erase());
                    out.push_str("\x1b[");
                    num(out, end - col);
                    out.push('X');
                }
                col = end;
                continue;
            }
            if at == Some((row, cols)) && col + 1 == cols {
                // The right half of a wide character written over with
                // autowrap off, which xterm.js leaves the wide character
                // whole for: the same way.
                set_pen(screen, out, pen, attrs);
                out.push_str("\x1b[?7l");
                out.push_str(cell.contents());
                out.push_str("\x1b[?7h");
                col += 1;
                continue;
            }
            goto(out, &mut at, row, col);
            if HIDDEN {
                saved_used |= set_cell_pen(screen, out, pen, attrs);
            } else {
                set_pen(screen, out, pen, attrs);
            }
            out.push_str(cell.contents());
            let whole = cell.is_wide()
                && screen
                    .cell_of(alternate, row, col + 1)
                    .is_some_and(vt100::Cell::is_wide_continuation);
            col += if whole { 2 } else { 1 };
            at = Some((row, (col + u16::from(cell.is_wide() && !whole)).min(cols)));
            if cell.is_wide() && !whole && col + 1 == cols && !done[base + usize::from(col)] {
                col += dropped_wide_end(screen, alternate, out, pen, (row, col), &mut at);
            }
        }
    }
    if saved_used {
        // The saved cursor back to a fresh terminal's (the screen's own is
        // written later, unless it is that).
        cup(out, 0, 0);
        set_pen(screen, out, pen, Attrs::default());
        out.push_str("\x1b7");
    }
}

/// Underlined with no underline style (`EXT_ON`): only a DECRC makes such
/// a pen (the underline flag saved, the style cleared since).
fn styleless(attrs: Attrs) -> bool {
    attrs.ulstyle == UnderlineStyle::None && attrs.underline() && attrs.extended_on()
}

/// `set_pen` for the text of a cell; a pen SGR cannot make
/// (`Attrs::sgr_makeable`) is made with a DECSC: whether it was is returned.
#[inline(never)]
fn set_cell_pen(screen: &vt100::Screen, out: &mut String, pen: &mut Attrs, to: Attrs) -> bool {
    if to.link != pen.link {
        out.push_str("\x1b]8;;");
        out.push_str(screen.link(to.link).unwrap_or_default());
        out.push('\x07');
        pen.link = to.link;
    }
    if *pen == to {
        return false;
    }
    if !to.sgr_makeable() {
        hidden_pen(screen, out, pen, to);
        return true;
    }
    let _ = to.write_sgr(out);
    *pen = to;
    false
}

/// A pen SGR cannot make, as xterm.js has it after a DECRC (which brings
/// back the saved colours and flags, `EXT_ON` with them, and leaves the
/// underline style and colour and the link): saved with `to`'s colours and
/// flags, underlined or linked as needed for `EXT_ON`, then the underline
/// style and colour and link set to `to`'s, and restored, at the cursor
/// (the caller sets the saved cursor again).
#[cold]
fn hidden_pen(screen: &vt100::Screen, out: &mut String, pen: &mut Attrs, to: Attrs) {
    if to.underline() {
        set_pen(
            screen,
            out,
            pen,
            Attrs {
                ulstyle: UnderlineStyle::Single,
                ..to
            },
        );
    } else {
        set_pen(screen, out, pen, Attrs { link: 0, ..to });
        // A placeholder link for `EXT_ON`, replaced below.
        out.push_str("\x1b]8;;ptyhub:\x07");
    }
    out.push_str("\x1b7");
    out.push_str(match to.ulstyle {
        UnderlineStyle::None => "\x1b[4:0m",
        UnderlineStyle::Single => "\x1b[4:1m",
        UnderlineStyle::Double => "\x1b[4:2m",
        UnderlineStyle::Curly => "\x1b[4:3m",
        UnderlineStyle::Dotted => "\x1b[4:4m",
        UnderlineStyle::Dashed => "\x1b[4:5m",
    });
    let _ = write_ulcolor(out, to.ulcolor);
    out.push_str("\x1b]8;;");
    out.push_str(screen.link(to.link).unwrap_or_default());
    out.push_str("\x07\x1b8");
    *pen = to;
}

/// After a wide character drawn in the last two columns with no right
/// half: that half empty, as xterm.js leaves it when a run of text ends
/// there with a wide character dropped at the margin (autowrap off), with
/// the run's pen: made the same way (an erase or a character written there
/// would empty the wide character's left half instead). Returns the cells
/// done (1, or 0 if the last column has text: see `draw`).
#[cold]
fn dropped_wide_end(
    screen: &vt100::Screen,
    alternate: bool,
    out: &mut String,
    pen: &mut Attrs,
    (row, col): (u16, u16),
    at: &mut Option<(u16, u16)>,
) -> u16 {
    match screen.cell_of(alternate, row, col) {
        Some(cell) if !cell.has_contents() => {
            set_pen(screen, out, pen, *cell.attrs());
            out.push_str("\x1b[?7l中\x1b[?7h");
            *at = None;
            1
        }
        _ => 0,
    }
}

/// An empty cell keeping more than a background (a wide character's pen)
/// whose colours and attributes an erase cannot give.
fn pen_only(cell: &vt100::Cell) -> bool {
    !cell.has_contents() && !cell.is_wide_continuation() && *cell.attrs() != cell.attrs().erase()
}

/// The last row's trailing empty cells that keep a pen (`pen_only`), from
/// the right, on the blank screen: a wide character written with the
/// cell's pen in the column to its left, and a character written over that
/// wide character's left half, with the same pen (xterm.js then empties the
/// right half with it); the cell to the left is drawn again later. On the
/// other rows `empty_with_pen` makes them while drawing (in the last
/// column, with a wide character that does not fit, which wraps to the
/// next row: on the last row, a scroll). Not the first column (a row of
/// such cells only: that one is erased with its background).
fn last_row_pens(
    screen: &vt100::Screen,
    alternate: bool,
    out: &mut String,
    pen: &mut Attrs,
    dirty: &mut [bool],
    done: &mut [bool],
) {
    let (row, cols) = (rows(screen) - 1, cols(screen));
    let base = usize::from(row) * usize::from(cols);
    let mut col = cols - 1;
    while col > 0
        && let Some(cell) = screen.cell_of(alternate, row, col)
        && pen_only(cell)
        // Not the right half of a wide character (see `draw`).
        && screen
            .cell_of(alternate, row, col - 1)
            .is_some_and(|c| !c.is_wide())
    {
        cup(out, row, col - 1);
        set_pen(screen, out, pen, *cell.attrs());
        out.push('中');
        cup(out, row, col - 1);
        out.push('x');
        done[base + usize::from(col)] = true;
        dirty[base + usize::from(col) - 1] = true;
        col -= 1;
    }
}

/// Leaves the cell at `at` empty with its attributes: a wide character
/// written there with them and its right half overwritten (the left half
/// is left empty with the pen); in the last column, a wide character that
/// does not fit (which wraps to the next row: drawn again later, and its
/// continuation flag ended by a line feed if it has none).
fn empty_with_pen(
    screen: &vt100::Screen,
    alternate: bool,
    out: &mut String,
    pen: &mut Attrs,
    (row, col): (u16, u16),
    dirty: &mut [bool],
) {
    let Some(cell) = screen.cell_of(alternate, row, col) else {
        return;
    };
    let width = usize::from(cols(screen));
    cup(out, row, col);
    set_pen(screen, out, pen, *cell.attrs());
    out.push('中');
    if col + 1 < cols(screen) {
        cup(out, row, col + 1);
        out.push('x');
        dirty[usize::from(row) * width + usize::from(col) + 1] = true;
    } else {
        let next = usize::from(row + 1) * width;
        dirty[next] = true;
        dirty[next + 1] = true;
        if !screen.row_continued_of(alternate, row + 1) {
            cup(out, row, 0);
            out.push('\n');
        }
    }
}

/// Moves the terminal's cursor to (row, col) unless it is there.
fn goto(out: &mut String, at: &mut Option<(u16, u16)>, row: u16, col: u16) {
    match *at {
        Some(p) if p == (row, col) => {}
        Some((r, c)) if r == row && c < col => {
            out.push_str("\x1b[");
            num(out, col - c);
            out.push('C');
        }
        _ => cup(out, row, col),
    }
    *at = Some((row, col));
}

/// The tab stops: HTS at each, the one past the last column (xterm.js
/// sets it with a wrap pending) from there, as `pending_wrap` leaves the
/// cursor on the first row (its last cell, if empty, erased again after).
fn tabs(screen: &vt100::Screen, alternate: bool, out: &mut String, pen: &mut Attrs) {
    let stops = screen.tab_stops_of(alternate);
    let default = (0..cols(screen)).step_by(8).collect::<Vec<_>>();
    if stops != default {
        out.push_str("\x1b[3g");
        for c in stops {
            if c < cols(screen) {
                cup(out, 0, c);
                out.push_str("\x1bH");
                continue;
            }
            let repair = pending_wrap(screen, alternate, (0, 0), out, pen);
            out.push_str("\x1bH");
            if let Some((c, attrs)) = repair {
                cup(out, 0, c);
                set_pen(screen, out, pen, attrs.erase());
                out.push_str("\x1b[X");
            }
        }
    }
}

fn designate(out: &mut String, slot: usize, charset: Charset) {
    let i = ['(', ')', '*', '+'][slot];
    let _ = write!(out, "\x1b{i}{}", charset.final_byte());
}

/// DECSC's state: position (a pending wrap included), pen, character
/// set; written and saved with ESC 7 (the terminal's own pen and sets are
/// set again afterwards).
fn saved_cursor(screen: &vt100::Screen, alternate: bool, out: &mut String, pen: &mut Attrs) {
    let ((row, col), attrs, charset) = screen.saved_cursor_of(alternate);
    if charset.is_none() && (row, col) == (0, 0) {
        return;
    }
    let repair = if col >= cols(screen) {
        pending_wrap(screen, alternate, (row, 0), out, pen)
    } else {
        cup(out, row, col);
        None
    };
    set_pen(screen, out, pen, attrs);
    designate(out, 0, charset.unwrap_or_default());
    // Saved; G0 back to ASCII for what is drawn next.
    out.push_str("\x0f\x1b7\x1b(B");
    if let Some((c, attrs)) = repair {
        cup(out, row, c);
        set_pen(screen, out, pen, attrs.erase());
        out.push_str("\x1b[X");
    }
}

/// The last cell of `row` that is not the right half of a wide character.
fn last_cell(screen: &vt100::Screen, alternate: bool, row: u16) -> Option<(u16, &vt100::Cell)> {
    (0..cols(screen)).rev().find_map(|c| {
        let cell = screen.cell_of(alternate, row, c)?;
        (!cell.is_wide_continuation()).then_some((c, cell))
    })
}

/// Puts the terminal's cursor past the end of `row` (a wrap pending) by
/// writing the row's last character again (rows counted from `top`, the
/// region's top in origin mode); an empty last cell gets a space,
/// and its column and attributes are returned for the caller to erase it
/// again once the cursor may move.
fn pending_wrap(
    screen: &vt100::Screen,
    alternate: bool,
    (row, top): (u16, u16),
    out: &mut String,
    pen: &mut Attrs,
) -> Option<(u16, Attrs)> {
    let (c, cell) = last_cell(screen, alternate, row)?;
    // Rows count from `top` (origin mode).
    let at = row.saturating_sub(top);
    if let Some(wide) = c
        .checked_sub(1)
        .and_then(|w| screen.cell_of(alternate, row, w))
        .filter(|w| w.is_wide() && cell.has_contents())
    {
        // A wide character whole before a last column written over with
        // autowrap off: moving onto that column would clear it (xterm.js
        // clears the left half when a run of text starts on a right
        // half), so both are written again, the last one without
        // autowrap, as they were made.
        cup(out, at, c - 1);
        set_pen(screen, out, pen, *wide.attrs());
        out.push_str(wide.contents());
        set_pen(screen, out, pen, *cell.attrs());
        out.push_str("\x1b[?7l");
        out.push_str(cell.contents());
        out.push_str("\x1b[?7h");
        return None;
    }
    cup(out, at, c);
    set_pen(screen, out, pen, *cell.attrs());
    if cell.has_contents() {
        out.push_str(cell.contents());
        None
    } else {
        out.push(' ');
        Some((c, *cell.attrs()))
    }
}

/// The attributes of `row` if all its cells are empty with the same ones,
/// and those an erase gives.
fn blank(screen: &vt100::Screen, alternate: bool, row: u16) -> Option<Attrs> {
    let attrs = *screen.cell_of(alternate, row, 0)?.attrs();
    (0..cols(screen))
        .all(|c| {
            screen
                .cell_of(alternate, row, c)
                .is_some_and(|cell| !cell.has_contents() && *cell.attrs() == attrs)
        })
        .then_some(attrs)
        .filter(|a| *a == a.erase())
}

/// `pending_wrap` where the cursor stays: an empty last cell becomes a
/// space (the cursor cannot move again to erase it: see the README's list
/// of what a snapshot cannot restore), unless the whole row is blank: then
/// EL 1 erases it all again, which keeps the cursor past the last column.
fn final_pending_wrap(
    screen: &vt100::Screen,
    alternate: bool,
    (row, top): (u16, u16),
    out: &mut String,
    pen: &mut Attrs,
) {
    let blank = blank(screen, alternate, row);
    if pending_wrap(screen, alternate, (row, top), out, pen).is_some()
        && let Some(attrs) = blank
    {
        set_pen(screen, out, pen, attrs);
        out.push_str("\x1b[1K");
    }
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
    let (top, _) = screen.scroll_region_of(alternate);
    if screen.origin_mode() {
        // Origin mode homes the cursor, and positions are relative to the
        // region: a pending wrap is made by writing the last character
        // again from there.
        out.push_str("\x1b[?6h");
        if col >= cols
            && let Some((_, cell)) = last_cell(screen, alternate, row)
            && (cell.has_contents() || blank(screen, alternate, row).is_some())
        {
            final_pending_wrap(screen, alternate, (row, top), out, pen);
            return;
        }
        cup(out, row.saturating_sub(top), col.min(cols - 1));
    } else if col >= cols {
        final_pending_wrap(screen, alternate, (row, 0), out, pen);
    } else {
        cup(out, row, col);
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
