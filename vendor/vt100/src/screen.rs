use crate::term::BufWrite as _;
use alloc::{string::String, string::ToString as _};
use unicode_width::UnicodeWidthChar as _;

const MODE_APPLICATION_KEYPAD: u16 = 0b0000_0001;
const MODE_APPLICATION_CURSOR: u16 = 0b0000_0010;
const MODE_HIDE_CURSOR: u16 = 0b0000_0100;
const MODE_ALTERNATE_SCREEN: u16 = 0b0000_1000;
const MODE_BRACKETED_PASTE: u16 = 0b0001_0000;
// ptyhub: modes xterm.js has and vt100 0.18 did not.
const MODE_FOCUS_EVENTS: u16 = 0b0010_0000;
const MODE_INSERT: u16 = 0b0100_0000;
const MODE_NO_AUTOWRAP: u16 = 0b1000_0000;
const MODE_REVERSE_WRAP: u16 = 0b1_0000_0000;

/// ptyhub: the character sets a G0–G3 slot can hold (those xterm.js
/// translates; designations of others are taken as ASCII).
#[derive(Copy, Clone, Debug, Eq, PartialEq, Default)]
pub enum Charset {
    /// US ASCII (`B`).
    #[default]
    Ascii,
    /// DEC special graphics, line drawing (`0`).
    DecGraphics,
    /// United Kingdom (`A`): `#` is `£`.
    Uk,
}

impl Charset {
    fn from_final(b: u8) -> Self {
        match b {
            b'0' => Self::DecGraphics,
            b'A' => Self::Uk,
            _ => Self::Ascii,
        }
    }

    /// The designation's final byte.
    pub fn final_byte(self) -> char {
        match self {
            Self::Ascii => 'B',
            Self::DecGraphics => '0',
            Self::Uk => 'A',
        }
    }

    fn translate(self, c: char) -> char {
        match self {
            Self::Ascii => c,
            Self::Uk => {
                if c == '#' {
                    '£'
                } else {
                    c
                }
            }
            Self::DecGraphics => {
                const MAP: [char; 31] = [
                    '◆', '▒', '␉', '␌', '␍', '␊', '°', '±', '␤', '␋', '┘',
                    '┐', '┌', '└', '┼', '⎺', '⎻', '─', '⎼', '⎽', '├', '┤',
                    '┴', '┬', '│', '≤', '≥', 'π', '≠', '£', '·',
                ];
                let i = u32::from(c).wrapping_sub(0x60);
                MAP.get(usize::try_from(i).unwrap_or(usize::MAX))
                    .copied()
                    .unwrap_or(c)
            }
        }
    }
}

/// The xterm mouse handling mode currently in use.
#[derive(Copy, Clone, Debug, Eq, PartialEq, Default)]
pub enum MouseProtocolMode {
    /// Mouse handling is disabled.
    #[default]
    None,

    /// Mouse button events should be reported on button press. Also known as
    /// X10 mouse mode.
    Press,

    /// Mouse button events should be reported on button press and release.
    /// Also known as VT200 mouse mode.
    PressRelease,

    // Highlight,
    /// Mouse button events should be reported on button press and release, as
    /// well as when the mouse moves between cells while a button is held
    /// down.
    ButtonMotion,

    /// Mouse button events should be reported on button press and release,
    /// and mouse motion events should be reported when the mouse moves
    /// between cells regardless of whether a button is held down or not.
    AnyMotion,
    // DecLocator,
}

/// The encoding to use for the enabled [`MouseProtocolMode`].
#[derive(Copy, Clone, Debug, Eq, PartialEq, Default)]
pub enum MouseProtocolEncoding {
    /// Default single-printable-byte encoding.
    #[default]
    Default,

    /// UTF-8-based encoding.
    Utf8,

    /// SGR-like encoding.
    Sgr,
    // Urxvt,
}

/// The cursor's visual style.
#[derive(Copy, Clone, Debug, Eq, PartialEq, Default)]
pub enum CursorStyle {
    /// The cursor should match the terminal's default.
    #[default]
    Default,

    /// The cursor should be a blinking block.
    BlinkBlock,

    /// The cursor should be a steady block.
    SteadyBlock,

    /// The cursor should be a blinking underline.
    BlinkUnderline,

    /// The cursor should be a steady underline.
    SteadyUnderline,

    /// The cursor should be a blinking vertical bar.
    BlinkVerticalBar,

    /// The cursor should be a steady vertical bar.
    SteadyVerticalBar,
}

/// Represents the overall terminal state.
#[derive(Clone, Debug)]
pub struct Screen {
    grid: crate::grid::Grid,
    alternate_grid: crate::grid::Grid,

    attrs: crate::attrs::Attrs,
    saved_attrs: crate::attrs::Attrs,

    modes: u16,
    /// ptyhub: G0–G3, the one shifted into GL, and the set in use (which
    /// DECRC sets directly, as xterm.js does).
    charsets: [Charset; 4],
    gl: u8,
    charset: Charset,
    /// ptyhub: OSC 8 hyperlink URIs; `Attrs::link` is an index + 1.
    links: Vec<String>,
    mouse_protocol_mode: MouseProtocolMode,
    mouse_protocol_encoding: MouseProtocolEncoding,
    cursor_style: CursorStyle,

    pub(crate) last_char: Option<char>,
    /// ptyhub: the last action was printing (a run of text, which xterm.js
    /// prints in one call: see `text`).
    pub(crate) in_run: bool,
    /// ptyhub: a pen SGR cannot make was seen (see `hidden_pen_seen`).
    hidden_pen: bool,
}

impl Screen {
    pub(crate) fn new(
        size: crate::grid::Size,
        scrollback_capacity: usize,
    ) -> Self {
        let mut grid = crate::grid::Grid::new(
            size,
            crate::grid::Scrollback::Enabled {
                capacity: scrollback_capacity,
            },
        );
        grid.allocate_rows();
        Self {
            grid,
            alternate_grid: crate::grid::Grid::new(
                size,
                crate::grid::Scrollback::Disabled,
            ),

            attrs: crate::attrs::Attrs::default(),
            saved_attrs: crate::attrs::Attrs::default(),

            modes: 0,
            charsets: [Charset::Ascii; 4],
            gl: 0,
            charset: Charset::Ascii,
            links: Vec::new(),
            mouse_protocol_mode: MouseProtocolMode::default(),
            mouse_protocol_encoding: MouseProtocolEncoding::default(),
            cursor_style: CursorStyle::default(),

            last_char: None,
            in_run: false,
            hidden_pen: false,
        }
    }

    /// Resizes the screen **without calling** the [`on_scroll`] callback.
    ///
    /// This method behaves the same as [`Parser::set_size`] but does not call
    /// the [`on_scroll`] callback. If you want that, use [`Parser::set_size`].
    ///
    /// [`on_scroll`]: crate::Callbacks::on_scroll
    /// [`Parser::set_size`]: crate::Parser::set_size
    pub fn set_size(
        &mut self,
        rows: core::num::NonZeroU16,
        cols: core::num::NonZeroU16,
    ) {
        self.grid.set_size(crate::grid::Size { rows, cols }, |_| {});
        self.alternate_grid
            .set_size(crate::grid::Size { rows, cols }, |_| {});
    }

    /// Returns the current size of the terminal.
    ///
    /// The return value will be (rows, cols).
    #[must_use]
    pub fn size(&self) -> (core::num::NonZeroU16, core::num::NonZeroU16) {
        let size = self.grid().size();
        (size.rows, size.cols)
    }

    /// Returns the number of lines in the scrollback.
    #[must_use]
    pub fn scrollback_len(&self) -> usize {
        self.grid().scrollback_len()
    }

    /// Returns the maximum capacity of the scrollback.
    #[must_use]
    pub fn scrollback_capacity(&self) -> usize {
        self.grid().scrollback_capacity()
    }

    /// Scrolls to the given position in the scrollback.
    ///
    /// This position indicates the offset from the top of the screen, and
    /// should be `0` to put the normal screen in view.
    ///
    /// This affects the return values of methods called on the screen: for
    /// instance, `screen.cell(0, 0)` will return the top left corner of the
    /// screen after taking the scrollback offset into account.
    ///
    /// The value given will be clamped to the actual size of the scrollback.
    pub fn set_scrollback(&mut self, rows: usize) {
        self.grid_mut().set_scrollback(rows);
    }

    /// Clears the scrollback history for the active screen and returns the
    /// scrollback position to the live viewport.
    ///
    /// This does not erase the visible screen contents, reset terminal
    /// modes, or call the `on_row` callback. To model a terminal action that
    /// clears both the visible display and scrollback history, process both
    /// `CSI 2 J` and `CSI 3 J`.
    pub fn clear_scrollback(&mut self) {
        self.grid_mut().erase_all_scrollback(|_| {});
    }

    /// Returns the current position in the scrollback.
    ///
    /// This position indicates the offset from the top of the screen, and is
    /// `0` when the normal screen is in view.
    #[must_use]
    pub fn scrollback(&self) -> usize {
        self.grid().scrollback()
    }

    /// Returns the text contents of the terminal.
    ///
    /// This will not include any formatting information, and will be in plain
    /// text format.
    #[must_use]
    pub fn contents(&self) -> String {
        let mut contents = String::new();
        self.write_contents(&mut contents);
        contents
    }

    fn write_contents(&self, contents: &mut String) {
        self.grid().write_contents(contents);
    }

    /// Returns the text contents of the terminal by row, restricted to the
    /// given subset of columns.
    ///
    /// This will not include any formatting information, and will be in plain
    /// text format.
    ///
    /// Newlines will not be included.
    pub fn rows(
        &self,
        start: u16,
        width: u16,
    ) -> impl Iterator<Item = String> + '_ {
        self.grid().visible_rows().map(move |row| {
            let mut contents = String::new();
            row.write_contents(&mut contents, start, width, false);
            contents
        })
    }

    /// Returns the text contents of the terminal logically between two cells.
    /// This will include the remainder of the starting row after `start_col`,
    /// followed by the entire contents of the rows between `start_row` and
    /// `end_row`, followed by the beginning of the `end_row` up until
    /// `end_col`. This is useful for things like determining the contents of
    /// a clipboard selection.
    #[must_use]
    pub fn contents_between(
        &self,
        start_row: u16,
        start_col: u16,
        end_row: u16,
        end_col: u16,
    ) -> String {
        match start_row.cmp(&end_row) {
            core::cmp::Ordering::Less => {
                let (_, cols) = self.size();
                let cols = cols.get();
                let mut contents = String::new();
                for (i, row) in self
                    .grid()
                    .visible_rows()
                    .enumerate()
                    .skip(usize::from(start_row))
                    .take(usize::from(end_row) - usize::from(start_row) + 1)
                {
                    if i == usize::from(start_row) {
                        row.write_contents(
                            &mut contents,
                            start_col,
                            cols - start_col,
                            false,
                        );
                        if !row.wrapped() {
                            contents.push('\n');
                        }
                    } else if i == usize::from(end_row) {
                        row.write_contents(&mut contents, 0, end_col, false);
                    } else {
                        row.write_contents(&mut contents, 0, cols, false);
                        if !row.wrapped() {
                            contents.push('\n');
                        }
                    }
                }
                contents
            }
            core::cmp::Ordering::Equal => {
                if start_col < end_col {
                    self.rows(start_col, end_col - start_col)
                        .nth(usize::from(start_row))
                        .unwrap_or_default()
                } else {
                    String::new()
                }
            }
            core::cmp::Ordering::Greater => String::new(),
        }
    }

    /// Return escape codes sufficient to reproduce the entire contents of the
    /// current terminal state. This is a convenience wrapper around
    /// [`contents_formatted`](Self::contents_formatted) and
    /// [`input_mode_formatted`](Self::input_mode_formatted).
    #[must_use]
    pub fn state_formatted(&self) -> String {
        let mut contents = String::new();
        self.write_contents_formatted(&mut contents);
        self.write_input_mode_formatted(&mut contents);
        contents
    }

    /// Return escape codes sufficient to turn the terminal state of the
    /// screen `prev` into the current terminal state. This is a convenience
    /// wrapper around [`contents_diff`](Self::contents_diff) and
    /// [`input_mode_diff`](Self::input_mode_diff).
    #[must_use]
    pub fn state_diff(&self, prev: &Self) -> String {
        let mut contents = String::new();
        self.write_contents_diff(&mut contents, prev);
        self.write_input_mode_diff(&mut contents, prev);
        contents
    }

    /// Returns the formatted visible contents of the terminal.
    ///
    /// Formatting information will be included inline as terminal escape
    /// codes. The result will be suitable for feeding directly to a raw
    /// terminal parser, and will result in the same visual output.
    #[must_use]
    pub fn contents_formatted(&self) -> String {
        let mut contents = String::new();
        self.write_contents_formatted(&mut contents);
        contents
    }

    fn write_contents_formatted(&self, contents: &mut String) {
        crate::term::HideCursor::new(self.hide_cursor()).write_buf(contents);
        let prev_attrs = self.grid().write_contents_formatted(contents);
        self.attrs.write_escape_code_diff(contents, &prev_attrs);
    }

    /// Returns the formatted visible contents of the terminal in a "basic"
    /// format.
    ///
    /// The contents will contain no escape sequences except SGR sequences,
    /// and no control characters except `'\n'`.
    ///
    /// A newline will be inserted after each row that does not wrap onto the
    /// next line, except the last. Trailing whitespace will not be trimmed
    /// from the string; a blank terminal *n* rows tall will result in a string
    /// with *n* - 1 newlines.
    ///
    /// Terminal attributes should be reset before and after displaying the
    /// returned string; it will not begin or end with a reset sequence.
    #[must_use]
    pub fn contents_formatted_basic(&self) -> String {
        let mut contents = String::new();
        // Writing to a `String` cannot fail.
        #[allow(clippy::missing_panics_doc)]
        self.write_contents_formatted_basic(
            &mut contents,
            crate::capture::BasicFormattedCaptureRange::Visible,
        )
        .unwrap();
        contents
    }

    /// Like [`Self::contents_formatted_basic`] but writes into the provided
    /// writer.
    ///
    /// For the `range` parameter, if you used the callback to write terminal
    /// data into this writer in a streaming fashion, pass
    /// [`BasicFormattedCaptureRange::Full`][full] with your existing
    /// [`BasicFormattedCaptureState`][state]. Otherwise, if you want the same
    /// result as [`Self::contents_formatted_basic`], pass
    /// [`BasicFormattedCaptureRange::Visible`][visible].
    ///
    /// [`on_scroll`]: crate::Callbacks::on_scroll
    /// [full]: crate::capture::BasicFormattedCaptureRange::Full
    /// [state]: crate::capture::BasicFormattedCaptureState
    /// [visible]: crate::capture::BasicFormattedCaptureRange::Visible
    ///
    /// # Errors
    ///
    /// If the writer returns an error, this method will forward that error.
    /// Otherwise, this method will not return any errors of its own.
    pub fn write_contents_formatted_basic(
        &self,
        writer: &mut impl alloc::fmt::Write,
        range: crate::capture::BasicFormattedCaptureRange<'_>,
    ) -> alloc::fmt::Result {
        self.grid().write_contents_formatted_basic(writer, range)
    }

    /// Returns the formatted visible contents of the terminal by row,
    /// restricted to the given subset of columns.
    ///
    /// Formatting information will be included inline as terminal escape
    /// codes. The result will be suitable for feeding directly to a raw
    /// terminal parser, and will result in the same visual output.
    ///
    /// You are responsible for positioning the cursor before printing each
    /// row, and the final cursor position after displaying each row is
    /// unspecified.
    // the unwraps in this method shouldn't be reachable
    #[allow(clippy::missing_panics_doc)]
    pub fn rows_formatted(
        &self,
        start: u16,
        width: u16,
    ) -> impl Iterator<Item = String> + '_ {
        let mut wrapping = false;
        self.grid().visible_rows().enumerate().map(move |(i, row)| {
            // number of rows in a grid is stored in a u16 (see Size), so
            // visible_rows can never return enough rows to overflow here
            let i = i.try_into().unwrap();
            let mut contents = String::new();
            row.write_contents_formatted(
                &mut contents,
                start,
                width,
                i,
                wrapping,
                None,
                None,
            );
            if start == 0 && width == self.grid.size().cols() {
                wrapping = row.wrapped();
            }
            contents
        })
    }

    /// Returns a string containing escape sequences sufficient to turn the
    /// visible contents of the screen described by `prev` into the visible
    /// contents of the screen described by `self`.
    ///
    /// The result of rendering `prev.contents_formatted()` followed by
    /// `self.contents_diff(prev)` should be equivalent to the result of
    /// rendering `self.contents_formatted()`. This is primarily useful when
    /// you already have a terminal parser whose state is described by `prev`,
    /// since the diff will likely require less memory and cause less
    /// flickering than redrawing the entire screen contents.
    #[must_use]
    pub fn contents_diff(&self, prev: &Self) -> String {
        let mut contents = String::new();
        self.write_contents_diff(&mut contents, prev);
        contents
    }

    fn write_contents_diff(&self, contents: &mut String, prev: &Self) {
        if self.hide_cursor() != prev.hide_cursor() {
            crate::term::HideCursor::new(self.hide_cursor())
                .write_buf(contents);
        }
        let prev_attrs = self.grid().write_contents_diff(
            contents,
            prev.grid(),
            prev.attrs,
        );
        self.attrs.write_escape_code_diff(contents, &prev_attrs);
    }

    /// Returns a sequence of strings containing escape sequences sufficient to
    /// turn the visible contents of the subset of each row from `prev` (as
    /// described by `start` and `width`) into the visible contents of the
    /// corresponding row subset in `self`.
    ///
    /// You are responsible for positioning the cursor before printing each
    /// row, and the final cursor position after displaying each row is
    /// unspecified.
    // the unwraps in this method shouldn't be reachable
    #[allow(clippy::missing_panics_doc)]
    pub fn rows_diff<'a>(
        &'a self,
        prev: &'a Self,
        start: u16,
        width: u16,
    ) -> impl Iterator<Item = String> + 'a {
        self.grid()
            .visible_rows()
            .zip(prev.grid().visible_rows())
            .enumerate()
            .map(move |(i, (row, prev_row))| {
                // number of rows in a grid is stored in a u16 (see Size), so
                // visible_rows can never return enough rows to overflow here
                let i = i.try_into().unwrap();
                let mut contents = String::new();
                row.write_contents_diff(
                    &mut contents,
                    prev_row,
                    start,
                    width,
                    i,
                    false,
                    false,
                    crate::grid::Pos { row: i, col: start },
                    crate::attrs::Attrs::default(),
                );
                contents
            })
    }

    /// Returns terminal escape sequences sufficient to set the current
    /// terminal's input modes.
    ///
    /// Supported modes are:
    /// * application keypad
    /// * application cursor
    /// * bracketed paste
    /// * xterm mouse support
    #[must_use]
    pub fn input_mode_formatted(&self) -> String {
        let mut contents = String::new();
        self.write_input_mode_formatted(&mut contents);
        contents
    }

    fn write_input_mode_formatted(&self, contents: &mut String) {
        crate::term::ApplicationKeypad::new(
            self.mode(MODE_APPLICATION_KEYPAD),
        )
        .write_buf(contents);
        crate::term::ApplicationCursor::new(
            self.mode(MODE_APPLICATION_CURSOR),
        )
        .write_buf(contents);
        crate::term::BracketedPaste::new(self.mode(MODE_BRACKETED_PASTE))
            .write_buf(contents);
        crate::term::MouseProtocolMode::new(
            self.mouse_protocol_mode,
            MouseProtocolMode::None,
        )
        .write_buf(contents);
        crate::term::MouseProtocolEncoding::new(
            self.mouse_protocol_encoding,
            MouseProtocolEncoding::Default,
        )
        .write_buf(contents);
        crate::term::CursorStyle::new(
            self.cursor_style,
            CursorStyle::Default,
        )
        .write_buf(contents);
    }

    /// Returns terminal escape sequences sufficient to change the previous
    /// terminal's input modes to the input modes enabled in the current
    /// terminal.
    #[must_use]
    pub fn input_mode_diff(&self, prev: &Self) -> String {
        let mut contents = String::new();
        self.write_input_mode_diff(&mut contents, prev);
        contents
    }

    fn write_input_mode_diff(&self, contents: &mut String, prev: &Self) {
        if self.mode(MODE_APPLICATION_KEYPAD)
            != prev.mode(MODE_APPLICATION_KEYPAD)
        {
            crate::term::ApplicationKeypad::new(
                self.mode(MODE_APPLICATION_KEYPAD),
            )
            .write_buf(contents);
        }
        if self.mode(MODE_APPLICATION_CURSOR)
            != prev.mode(MODE_APPLICATION_CURSOR)
        {
            crate::term::ApplicationCursor::new(
                self.mode(MODE_APPLICATION_CURSOR),
            )
            .write_buf(contents);
        }
        if self.mode(MODE_BRACKETED_PASTE) != prev.mode(MODE_BRACKETED_PASTE)
        {
            crate::term::BracketedPaste::new(self.mode(MODE_BRACKETED_PASTE))
                .write_buf(contents);
        }
        crate::term::MouseProtocolMode::new(
            self.mouse_protocol_mode,
            prev.mouse_protocol_mode,
        )
        .write_buf(contents);
        crate::term::MouseProtocolEncoding::new(
            self.mouse_protocol_encoding,
            prev.mouse_protocol_encoding,
        )
        .write_buf(contents);
        crate::term::CursorStyle::new(self.cursor_style, prev.cursor_style)
            .write_buf(contents);
    }

    /// Returns terminal escape sequences sufficient to set the current
    /// terminal's drawing attributes.
    ///
    /// Supported drawing attributes are:
    /// * fgcolor
    /// * bgcolor
    /// * bold
    /// * dim
    /// * italic
    /// * underline
    /// * inverse
    ///
    /// This is not typically necessary, since
    /// [`contents_formatted`](Self::contents_formatted) will leave
    /// the current active drawing attributes in the correct state, but this
    /// can be useful in the case of drawing additional things on top of a
    /// terminal output, since you will need to restore the terminal state
    /// without the terminal contents necessarily being the same.
    #[must_use]
    pub fn attributes_formatted(&self) -> String {
        let mut contents = String::new();
        self.write_attributes_formatted(&mut contents);
        contents
    }

    fn write_attributes_formatted(&self, contents: &mut String) {
        crate::term::ClearAttrs.write_buf(contents);
        self.attrs.write_escape_code_diff(
            contents,
            &crate::attrs::Attrs::default(),
        );
    }

    /// Returns the current cursor position of the terminal.
    ///
    /// The return value will be (row, col).
    #[must_use]
    pub fn cursor_position(&self) -> (u16, u16) {
        let pos = self.grid().pos();
        (pos.row, pos.col)
    }

    /// Returns terminal escape sequences sufficient to set the current
    /// cursor state of the terminal.
    ///
    /// This is not typically necessary, since
    /// [`contents_formatted`](Self::contents_formatted) will leave
    /// the cursor in the correct state, but this can be useful in the case of
    /// drawing additional things on top of a terminal output, since you will
    /// need to restore the terminal state without the terminal contents
    /// necessarily being the same.
    ///
    /// Note that the string returned by this function may alter the active
    /// drawing attributes, because it may require redrawing existing cells in
    /// order to position the cursor correctly (for instance, in the case
    /// where the cursor is past the end of a row). Therefore, you should
    /// ensure to reset the active drawing attributes if necessary after
    /// processing this data, for instance by using
    /// [`attributes_formatted`](Self::attributes_formatted).
    #[must_use]
    pub fn cursor_state_formatted(&self) -> String {
        let mut contents = String::new();
        self.write_cursor_state_formatted(&mut contents);
        contents
    }

    fn write_cursor_state_formatted(&self, contents: &mut String) {
        crate::term::HideCursor::new(self.hide_cursor()).write_buf(contents);
        self.grid()
            .write_cursor_position_formatted(contents, None, None);

        // we don't just call write_attributes_formatted here, because that
        // would still be confusing - consider the case where the user sets
        // their own unrelated drawing attributes (on a different parser
        // instance) and then calls cursor_state_formatted. just documenting
        // it and letting the user handle it on their own is more
        // straightforward.
    }

    /// Returns the [`Cell`](crate::Cell) object at the given location in the
    /// terminal, if it exists.
    #[must_use]
    pub fn cell(&self, row: u16, col: u16) -> Option<&crate::Cell> {
        self.grid().visible_cell(crate::grid::Pos { row, col })
    }

    /// Returns whether the text in row `row` should wrap to the next line.
    #[must_use]
    pub fn row_wrapped(&self, row: u16) -> bool {
        self.grid()
            .visible_row(row)
            .is_some_and(crate::row::Row::wrapped)
    }

    /// ptyhub: the grid of the primary (`false`) or alternate screen.
    fn grid_of(&self, alternate: bool) -> &crate::grid::Grid {
        if alternate {
            &self.alternate_grid
        } else {
            &self.grid
        }
    }

    /// ptyhub: a cell of the primary or alternate screen.
    #[must_use]
    pub fn cell_of(
        &self,
        alternate: bool,
        row: u16,
        col: u16,
    ) -> Option<&crate::Cell> {
        self.grid_of(alternate)
            .drawing_cell(crate::grid::Pos { row, col })
    }

    /// ptyhub: whether a row of the primary or alternate screen continues
    /// the one above it (xterm.js's `isWrapped`; for row 0, a row scrolled
    /// away).
    #[must_use]
    pub fn row_continued_of(&self, alternate: bool, row: u16) -> bool {
        self.grid_of(alternate).continued(row)
    }

    /// ptyhub: whether a row of the primary or alternate screen continues
    /// on the next one (soft wrap).
    #[must_use]
    pub fn row_wrapped_of(&self, alternate: bool, row: u16) -> bool {
        self.grid_of(alternate)
            .drawing_row(row)
            .is_some_and(crate::row::Row::wrapped)
    }

    /// ptyhub: the cursor (row, col) of the primary or alternate screen;
    /// col is the number of columns when a wrap is pending.
    #[must_use]
    pub fn cursor_of(&self, alternate: bool) -> (u16, u16) {
        let pos = self.grid_of(alternate).pos();
        (pos.row, pos.col)
    }

    /// ptyhub: DECSC's saved state of the primary or alternate screen:
    /// (row, col), pen, character set (`None`: never saved).
    #[must_use]
    pub fn saved_cursor_of(
        &self,
        alternate: bool,
    ) -> ((u16, u16), crate::attrs::Attrs, Option<Charset>) {
        let grid = self.grid_of(alternate);
        let pos = grid.saved_pos();
        ((pos.row, pos.col), grid.saved_attrs, grid.saved_charset)
    }

    /// ptyhub: the scroll region (top, bottom), rows from 0, inclusive.
    #[must_use]
    pub fn scroll_region_of(&self, alternate: bool) -> (u16, u16) {
        self.grid_of(alternate).scroll_region()
    }

    /// ptyhub: the tab stops (columns) of the primary or alternate screen.
    #[must_use]
    pub fn tab_stops_of(&self, alternate: bool) -> Vec<u16> {
        (0..)
            .zip(self.grid_of(alternate).tabs.iter())
            .filter_map(|(c, on)| on.then_some(c))
            .collect()
    }

    /// ptyhub: origin mode (DECOM, `?6`).
    #[must_use]
    pub fn origin_mode(&self) -> bool {
        self.grid().origin_mode()
    }

    /// ptyhub: the pen, what the next character is drawn with.
    #[must_use]
    pub fn pen(&self) -> crate::attrs::Attrs {
        self.attrs
    }

    /// ptyhub: G0–G3, the slot shifted into GL, and the set in use.
    #[must_use]
    pub fn charsets(&self) -> ([Charset; 4], u8, Charset) {
        (self.charsets, self.gl, self.charset)
    }

    /// ptyhub: the URI of a hyperlink (`Attrs::link`).
    #[must_use]
    pub fn link(&self, link: u16) -> Option<&str> {
        let i = usize::from(link).checked_sub(1)?;
        self.links.get(i).map(String::as_str)
    }

    /// ptyhub: focus event reporting (`?1004`).
    #[must_use]
    pub fn focus_events(&self) -> bool {
        self.mode(MODE_FOCUS_EVENTS)
    }

    /// ptyhub: whether a pen SGR and OSC 8 alone cannot make (see
    /// `Attrs::sgr_makeable`; a DECRC leaves one) was seen since the last
    /// reset: only then can cells have one (the serializer needs to look
    /// for them then only).
    #[must_use]
    pub fn hidden_pen_seen(&self) -> bool {
        self.hidden_pen
    }

    /// ptyhub: insert mode (IRM, `4`).
    #[must_use]
    pub fn insert_mode(&self) -> bool {
        self.mode(MODE_INSERT)
    }

    /// ptyhub: autowrap (DECAWM, `?7`), on by default.
    #[must_use]
    pub fn autowrap(&self) -> bool {
        !self.mode(MODE_NO_AUTOWRAP)
    }

    /// ptyhub: reverse wraparound (`?45`).
    #[must_use]
    pub fn reverse_wrap(&self) -> bool {
        self.mode(MODE_REVERSE_WRAP)
    }

    /// Returns whether the alternate screen is currently in use.
    #[must_use]
    pub fn alternate_screen(&self) -> bool {
        self.mode(MODE_ALTERNATE_SCREEN)
    }

    /// Returns whether the terminal should be in application keypad mode.
    #[must_use]
    pub fn application_keypad(&self) -> bool {
        self.mode(MODE_APPLICATION_KEYPAD)
    }

    /// Returns whether the terminal should be in application cursor mode.
    #[must_use]
    pub fn application_cursor(&self) -> bool {
        self.mode(MODE_APPLICATION_CURSOR)
    }

    /// Returns whether the terminal should be in hide cursor mode.
    #[must_use]
    pub fn hide_cursor(&self) -> bool {
        self.mode(MODE_HIDE_CURSOR)
    }

    /// Returns whether the terminal should be in bracketed paste mode.
    #[must_use]
    pub fn bracketed_paste(&self) -> bool {
        self.mode(MODE_BRACKETED_PASTE)
    }

    /// Returns the currently active [`MouseProtocolMode`].
    #[must_use]
    pub fn mouse_protocol_mode(&self) -> MouseProtocolMode {
        self.mouse_protocol_mode
    }

    /// Returns the currently active [`MouseProtocolEncoding`].
    #[must_use]
    pub fn mouse_protocol_encoding(&self) -> MouseProtocolEncoding {
        self.mouse_protocol_encoding
    }

    /// Returns the currently active [`CursorStyle`].
    #[must_use]
    pub fn cursor_style(&self) -> CursorStyle {
        self.cursor_style
    }

    /// Returns the currently active foreground color.
    #[must_use]
    pub fn fgcolor(&self) -> crate::Color {
        self.attrs.fgcolor
    }

    /// Returns the currently active background color.
    #[must_use]
    pub fn bgcolor(&self) -> crate::Color {
        self.attrs.bgcolor
    }

    /// Returns whether newly drawn text should be rendered with the bold text
    /// attribute.
    #[must_use]
    pub fn bold(&self) -> bool {
        self.attrs.bold()
    }

    /// Returns whether newly drawn text should be rendered with the dim text
    /// attribute.
    #[must_use]
    pub fn dim(&self) -> bool {
        self.attrs.dim()
    }

    /// Returns whether newly drawn text should be rendered with the italic
    /// text attribute.
    #[must_use]
    pub fn italic(&self) -> bool {
        self.attrs.italic()
    }

    /// Returns whether newly drawn text should be rendered with the
    /// underlined text attribute.
    #[must_use]
    pub fn underline(&self) -> bool {
        self.attrs.underline()
    }

    /// Returns whether newly drawn text should be rendered with the inverse
    /// text attribute.
    #[must_use]
    pub fn inverse(&self) -> bool {
        self.attrs.inverse()
    }

    pub(crate) fn grid(&self) -> &crate::grid::Grid {
        if self.mode(MODE_ALTERNATE_SCREEN) {
            &self.alternate_grid
        } else {
            &self.grid
        }
    }

    fn grid_mut(&mut self) -> &mut crate::grid::Grid {
        if self.mode(MODE_ALTERNATE_SCREEN) {
            &mut self.alternate_grid
        } else {
            &mut self.grid
        }
    }

    fn enter_alternate_grid(&mut self) {
        self.grid_mut().set_scrollback(0);
        // ptyhub: as xterm.js, for 47, 1047 and 1049 alike: the alternate
        // screen starts afresh (region, tab stops), filled with the pen's
        // background, the cursor where it was; its saved cursor (DECSC) is
        // the one it had (xterm.js keeps it across switches).
        if !self.mode(MODE_ALTERNATE_SCREEN) {
            let pos = self.grid.pos();
            let erase = self.attrs.erase();
            self.alternate_grid.allocate_rows();
            let saved = self.alternate_grid.saved_pos();
            self.alternate_grid.clear();
            self.alternate_grid.set_saved_pos(saved);
            self.alternate_grid.erase_all(erase);
            self.alternate_grid.reset_tabs();
            // (a pending wrap included)
            self.alternate_grid.set_pos_raw(pos);
            // ptyhub: origin mode is one for both screens (xterm.js).
            let origin = self.grid.origin_mode();
            self.alternate_grid.set_origin_flag(origin);
        }
        self.set_mode(MODE_ALTERNATE_SCREEN);
    }

    fn exit_alternate_grid(&mut self) {
        // ptyhub: the primary screen's cursor takes the alternate one's
        // place (xterm.js); 1049 then restores the saved one.
        if self.mode(MODE_ALTERNATE_SCREEN) {
            let pos = self.alternate_grid.pos();
            self.grid.set_pos_abs(pos);
            let origin = self.alternate_grid.origin_mode();
            self.grid.set_origin_flag(origin);
        }
        self.clear_mode(MODE_ALTERNATE_SCREEN);
    }

    fn save_cursor(&mut self) {
        let attrs = self.attrs;
        let charset = self.charset;
        let grid = self.grid_mut();
        grid.save_cursor();
        grid.saved_attrs = attrs;
        grid.saved_charset = Some(charset);
        self.saved_attrs = attrs;
    }

    // ptyhub: as xterm.js: the colours and flags come back, the underline
    // style and colour and the link stay as they are (xterm.js keeps them
    // outside what DECSC saves), and the character set in use is the saved
    // one (ASCII if none was saved).
    fn restore_cursor(&mut self) {
        let grid = self.grid_mut();
        grid.restore_cursor();
        let saved = grid.saved_attrs;
        let charset = grid.saved_charset.unwrap_or_default();
        self.attrs.fgcolor = saved.fgcolor;
        self.attrs.bgcolor = saved.bgcolor;
        self.attrs.mode = saved.mode;
        // (xterm.js keeps the underline style and colour and the link
        // outside what DECSC saves; `EXT_ON`, in `mode`, comes back.)
        self.charset = charset;
        self.pen_changed();
        self.hidden_pen |= !self.attrs.sgr_makeable();
    }

    /// ptyhub: rows scrolled in take the pen's background.
    pub(crate) fn pen_changed(&mut self) {
        let bce = self.attrs.erase();
        self.grid.bce = bce;
        self.alternate_grid.bce = bce;
    }

    fn designate(&mut self, slot: u8, charset: Charset) {
        self.charsets[usize::from(slot & 3)] = charset;
        if self.gl == slot {
            self.charset = charset;
        }
    }

    fn shift(&mut self, slot: u8) {
        self.gl = slot & 3;
        self.charset = self.charsets[usize::from(self.gl)];
    }

    fn set_link(&mut self, uri: &[u8]) {
        self.set_link_id(uri);
        self.attrs.update_extended();
        // ptyhub: an underline style a DECRC hid counts again.
        self.hidden_pen |= !self.attrs.sgr_makeable();
    }

    fn set_link_id(&mut self, uri: &[u8]) {
        if uri.is_empty() {
            self.attrs.link = 0;
            return;
        }
        let uri = String::from_utf8_lossy(uri);
        let i = match self.links.iter().position(|l| *l == uri) {
            Some(i) => i,
            // Bounded: past the table's size, new links are not kept.
            None if self.links.len() < 4096 => {
                self.links.push(uri.into_owned());
                self.links.len() - 1
            }
            None => {
                self.attrs.link = 0;
                return;
            }
        };
        self.attrs.link = u16::try_from(i + 1).unwrap_or(0);
    }

    fn set_mode(&mut self, mode: u16) {
        self.modes |= mode;
    }

    fn clear_mode(&mut self, mode: u16) {
        self.modes &= !mode;
    }

    fn mode(&self, mode: u16) -> bool {
        self.modes & mode != 0
    }

    fn set_mouse_mode(&mut self, mode: MouseProtocolMode) {
        self.mouse_protocol_mode = mode;
    }

    // ptyhub: as xterm.js, resetting any mouse mode ends tracking.
    fn clear_mouse_mode(&mut self, _mode: MouseProtocolMode) {
        self.mouse_protocol_mode = MouseProtocolMode::default();
    }

    fn set_mouse_encoding(&mut self, encoding: MouseProtocolEncoding) {
        self.mouse_protocol_encoding = encoding;
    }

    // ptyhub: as xterm.js, resetting an encoding goes back to the default.
    fn clear_mouse_encoding(&mut self, _encoding: MouseProtocolEncoding) {
        self.mouse_protocol_encoding = MouseProtocolEncoding::default();
    }

    fn set_cursor_style(&mut self, style: CursorStyle) {
        self.cursor_style = style;
    }

    // determine the width of the character we're about to draw, and whether
    // it makes sense to even attempt to draw a character of that width.
    fn calculate_width(&self, c: char) -> Option<u16> {
        let pos = self.grid().pos();
        let size = self.grid().size();

        let width = c.width();
        if width.is_none() && (u32::from(c)) < 256 {
            // don't even try to draw control characters
            return None;
        }
        let width = u16::try_from(width.unwrap_or(1))
            // char::width() can only return 0, 1, 2, or 3
            .unwrap();
        // TODO: this is invalid for U+17D8 which has a width of 3 for some
        // reason, but adding triple width characters is going to be a
        // massive pain just for this one character
        let width = width.min(2);

        // if the character is wider than the screen, we can't draw it, so
        // just ignore it
        if width > size.cols() {
            return None;
        }

        // a continuation character without a base character before it is
        // meaningless
        if width == 0 && pos.col == 0 {
            return None;
        }

        Some(width)
    }

    // if this is the initial codepoint in a new cell, we need to determine
    // whether wrapping that character to the next row should set the row's
    // wrapping flag
    fn new_character_should_wrap(&self, width: u16) -> bool {
        let pos = self.grid().pos();
        let size = self.grid().size();

        // it doesn't make any sense to wrap if the last column in a row
        // didn't already have contents. don't try to handle the case
        // where a character wraps because there was only one column left
        // in the previous row - literally everything handles this case
        // differently, and this is tmux behavior (and also the
        // simplest). i'm open to reconsidering this behavior, but only
        // with a really good reason (xterm handles this by introducing
        // the concept of triple width cells, which i really don't want
        // to do).
        let mut wrap = false;
        // ptyhub: xterm.js marks the row wrapped also when a wide
        // character does not fit in the last column.
        if pos.col + width > size.cols() && width > 1 {
            return true;
        }
        if pos.col + width > size.cols() {
            let last_cell = self
                .grid()
                .drawing_cell(crate::grid::Pos {
                    row: pos.row,
                    col: size.cols() - 1,
                })
                // pos.row is valid, since it comes directly from
                // self.grid().pos() which we assume to always have a
                // valid row value. size.cols - 1 is also always a valid
                // column.
                .unwrap();
            if last_cell.has_contents() || last_cell.is_wide_continuation() {
                wrap = true;
            }
        }

        wrap
    }

    // if we already have a character in a cell, but adding a continuation
    // character widened the cell off the end of the row, we need to move the
    // base character to the beginning of the next row
    fn wrap_widened_cell(
        &mut self,
        old_pos: crate::grid::Pos,
        new_pos: crate::grid::Pos,
    ) {
        if new_pos.col == 0 {
            let attrs = self.attrs.effective();
            let contents = self
                .grid()
                .drawing_cell(old_pos)
                .unwrap()
                .contents()
                .to_string();
            self.grid_mut()
                .drawing_cell_mut(new_pos)
                .unwrap()
                .set_contents(&contents, attrs);
            self.grid_mut()
                .drawing_cell_mut(old_pos)
                .unwrap()
                .clear(attrs);
            self.grid_mut().col_inc(2);
        } else {
            self.grid_mut().col_inc(1);
        }
    }

    // once we have drawn a character, clean up the wide character state of
    // nearby cells that may have been disrupted.
    fn text_cleanup(
        &mut self,
        base_pos: crate::grid::Pos,
        cell_was_wide: bool,
        cell_is_wide: bool,
        drawn: bool,
    ) {
        let size = self.grid().size();
        let attrs = self.attrs.effective();

        // ptyhub: only a character drawn (not one combined with the cell)
        // clears a wide character before it.
        if base_pos.col > 0 && drawn {
            let prev_cell = self
                .grid_mut()
                .drawing_cell_mut(crate::grid::Pos {
                    row: base_pos.row,
                    col: base_pos.col - 1,
                })
                // pos.row is assumed valid, and pos.col was just
                // checked to be greater than 0.
                .unwrap();
            if prev_cell.is_wide() {
                // ptyhub: left empty with the pen (xterm.js).
                prev_cell.clear(attrs);
            }
        }

        if cell_was_wide && !cell_is_wide {
            let next_cell = self
                .grid_mut()
                .drawing_cell_mut(crate::grid::Pos {
                    row: base_pos.row,
                    col: base_pos.col + 1,
                })
                // base_pos.row is assumed valid, and this cell previously
                // was wide, so there must have been a continuation cell
                // after it.
                .unwrap();
            // ptyhub: the other half of a wide character overwritten by a
            // narrow one is left empty with the pen (xterm.js).
            next_cell.clear(attrs);
        }

        if !cell_was_wide && cell_is_wide {
            let next_cell = self
                .grid_mut()
                .drawing_cell_mut(crate::grid::Pos {
                    row: base_pos.row,
                    col: base_pos.col + 1,
                })
                // base_pos.row is assumed valid, and the cell at base_pos
                // has become wide, so it must have a cell after it (if it
                // didn't, we would have wrapped earlier when widening the
                // cell).
                .unwrap();
            let next_cell_was_wide = next_cell.is_wide();
            next_cell.clear(crate::attrs::Attrs::default());
            next_cell.set_wide_continuation(true);
            if next_cell_was_wide {
                let next_next_cell = self
                    .grid_mut()
                    .drawing_cell_mut(crate::grid::Pos {
                        row: base_pos.row,
                        col: base_pos.col + 2,
                    })
                    // the cell at base_pos.col + 1 was previously wide, so
                    // it must have had a continuation cell after it.
                    .unwrap();
                next_next_cell.clear(attrs);
                if base_pos.col + 2 == size.cols() - 1 {
                    self.grid_mut()
                        .drawing_row_mut(base_pos.row)
                        .unwrap()
                        .wrap(false);
                }
            }
        }
    }
}

pub struct WrappedScreen<CB: crate::Callbacks> {
    pub screen: Screen,
    pub callbacks: CB,
}

impl<CB: crate::Callbacks> WrappedScreen<CB> {
    /// Gets the `on_row` callback for methods like
    /// [`crate::grid::Grid::scroll_up`].
    fn on_row<'cb>(
        screen: &Screen,
        callbacks: &'cb mut CB,
    ) -> impl FnMut(&crate::row::Row) + 'cb {
        let is_alternate = screen.mode(MODE_ALTERNATE_SCREEN);
        move |row| {
            callbacks
                .on_scroll(crate::capture::RowContents(row), is_alternate);
        }
    }

    /// Resizes the screen, calling [`on_scroll`] for each row that is pushed
    /// off the top of the screen's scrollback.
    ///
    /// [`on_scroll`]: crate::Callbacks::on_scroll
    pub fn set_size_with_cb(
        &mut self,
        rows: core::num::NonZeroU16,
        cols: core::num::NonZeroU16,
    ) {
        let callbacks = &mut self.callbacks;
        self.screen
            .grid
            .set_size(crate::grid::Size { rows, cols }, |row| {
                callbacks.on_scroll(crate::capture::RowContents(row), false);
            });
        self.screen.alternate_grid.set_size(
            crate::grid::Size { rows, cols },
            |row| {
                callbacks.on_scroll(crate::capture::RowContents(row), true);
            },
        );
    }

    pub fn text(&mut self, c: char) {
        let screen = &mut self.screen;
        let c = if c.is_ascii() {
            screen.charset.translate(c)
        } else {
            c
        };
        // ptyhub: cells get what shows (see `Attrs::effective`).
        let attrs = screen.attrs.effective();
        // ptyhub: without autowrap, text at the margin overwrites the last
        // column (a wide character that does not fit is dropped), as in
        // xterm.js.
        // (xterm.js moves back to the last column after checking for the
        // right half of a wide character there: one stays whole.)
        // Within a run of text (one xterm.js print call), the cursor is on
        // the right half of a wide character only when it was moved back
        // to the last column (a wide character dropped there): that one
        // stays whole too, as xterm.js checks only where a run starts.
        let mut keep_wide = false;
        if screen.mode(MODE_NO_AUTOWRAP) {
            let cols = screen.grid().size().cols();
            let w = screen.calculate_width(c).unwrap_or(0);
            let col = screen.grid().pos().col;
            keep_wide = w > 0 && screen.in_run && col + 1 == cols;
            if w > 0 && col + w > cols {
                keep_wide = keep_wide || col >= cols;
                screen.grid_mut().col_set(cols - 1);
                if w > 1 {
                    // ptyhub: xterm.js ends the run there, on the right
                    // half of a wide character, by emptying that half with
                    // the pen and leaving the wide character as it is (a
                    // wide cell with no right half): done at once, which
                    // gives the same cells whatever follows in the run
                    // (more dropped wide characters, or text written over
                    // that cell).
                    let pos = screen.grid().pos();
                    if let Some(cell) =
                        screen.grid_mut().drawing_cell_mut(pos)
                        && cell.is_wide_continuation()
                    {
                        cell.clear(attrs);
                    }
                    return;
                }
            }
        }
        let pos = screen.grid().pos();

        let Some(width) = screen.calculate_width(c) else {
            return;
        };

        // base_pos will always be set to a valid cell, so
        // .drawing_cell(base_pos).unwrap() will always be valid
        let mut base_pos;
        let cell_was_wide;

        if width > 0 {
            let wrap = screen.new_character_should_wrap(width);
            // ptyhub: a wide character that does not fit in the last
            // column leaves it empty, with the pen's attributes (xterm.js).
            let cols = screen.grid().size().cols();
            if width > 1 && pos.col + 1 == cols {
                if let Some(cell) = screen.grid_mut().drawing_cell_mut(pos) {
                    cell.clear(attrs);
                }
            }
            let on_row = Self::on_row(screen, &mut self.callbacks);
            screen.grid_mut().col_wrap(width, wrap, on_row);
            // col_wrap always sets self.grid().pos() to a valid cell
            base_pos = screen.grid().pos();
            if screen.mode(MODE_INSERT) {
                // ptyhub: a wide character pushed into the last column is
                // left empty with the pen (xterm.js), not its own attributes.
                let last = crate::grid::Pos {
                    row: base_pos.row,
                    col: cols - 1,
                };
                let pushed = (cols - 1)
                    .checked_sub(width)
                    .filter(|&c| c >= base_pos.col)
                    .and_then(|col| {
                        screen.grid().drawing_cell(crate::grid::Pos {
                            row: base_pos.row,
                            col,
                        })
                    })
                    .is_some_and(crate::Cell::is_wide);
                let erase = attrs.erase();
                screen.grid_mut().insert_cells(width, erase);
                if pushed {
                    if let Some(cell) =
                        screen.grid_mut().drawing_cell_mut(last)
                    {
                        cell.clear(attrs);
                    }
                }
            }
            cell_was_wide =
                screen.grid().drawing_cell(base_pos).unwrap().is_wide();

            screen
                .grid_mut()
                .drawing_cell_mut(base_pos)
                .unwrap()
                .set(c, attrs);
            screen.last_char = Some(c);
            screen.grid_mut().col_inc(width);
        } else {
            // pos.row is valid, since it comes directly from
            // self.grid().pos() which we assume to always have a
            // valid row value. pos.col - 1 is valid because we just
            // returned early if pos.col == 0.
            base_pos = crate::grid::Pos {
                row: pos.row,
                col: pos.col - 1,
            };
            if screen
                .grid_mut()
                .drawing_cell_mut(base_pos)
                .unwrap()
                .is_wide_continuation()
            {
                // pos.row is valid, since it comes directly from
                // self.grid().pos() which we assume to always have a
                // valid row value. we know pos.col - 2 is valid
                // because the cell at pos.col - 1 is a wide
                // continuation character, which means there must be
                // the first half of the wide character before it.
                base_pos = crate::grid::Pos {
                    row: pos.row,
                    col: pos.col - 2,
                };
            }
            cell_was_wide =
                screen.grid().drawing_cell(base_pos).unwrap().is_wide();

            screen
                .grid_mut()
                .drawing_cell_mut(base_pos)
                .unwrap()
                .append(c);
            let cell_is_wide =
                screen.grid().drawing_cell(base_pos).unwrap().is_wide();
            if !cell_was_wide && cell_is_wide {
                let on_row = Self::on_row(screen, &mut self.callbacks);
                screen.grid_mut().col_wrap(1, false, on_row);
                // col_wrap always leaves self.grid().pos() on a valid cell,
                // so .drawing_cell(new_pos).unwrap() will always be valid.
                let new_pos = screen.grid().pos();
                screen.wrap_widened_cell(base_pos, new_pos);
                if new_pos.col == 0 {
                    base_pos = new_pos;
                }
            }
        }

        let cell_is_wide =
            screen.grid().drawing_cell(base_pos).unwrap().is_wide();

        if keep_wide {
            // The wide character before stays whole: only this cell's own
            // state is cleaned up.
            if let Some(cell) = screen.grid_mut().drawing_cell_mut(base_pos) {
                cell.set_wide_continuation(false);
            }
        } else {
            screen.text_cleanup(
                base_pos,
                cell_was_wide,
                cell_is_wide,
                width > 0,
            );
        }
    }

    // control codes

    pub fn bs(&mut self) {
        // ptyhub: reverse wraparound (xterm.js): at column 0, back to the
        // end of the previous row if this one is its continuation.
        let screen = &mut self.screen;
        let pos = screen.grid().pos();
        let (top, _) = screen.grid().scroll_region();
        let (_, bottom) = screen.grid().scroll_region();
        if screen.mode(MODE_REVERSE_WRAP)
            && pos.col == 0
            && pos.row > top
            && pos.row <= bottom
            && screen.grid().continued(pos.row)
        {
            screen.grid_mut().end_continuation();
            let cols = screen.grid().size().cols();
            // The last cell taken: not an empty one left by a wide
            // character that did not fit.
            let last = crate::grid::Pos {
                row: pos.row - 1,
                col: cols - 1,
            };
            let col = match screen.grid().drawing_cell(last) {
                Some(c) if !c.is_wide_continuation() && !c.has_contents() => {
                    cols.saturating_sub(2)
                }
                _ => cols - 1,
            };
            screen.grid_mut().set_pos_abs(crate::grid::Pos {
                row: pos.row - 1,
                col,
            });
            return;
        }
        let cols = screen.grid().size().cols();
        if pos.col >= cols {
            screen.grid_mut().col_set(cols - 1);
            // ptyhub: with reverse wraparound, a pending wrap counts as a
            // column past the last: BS goes back to the last (xterm.js).
            if screen.mode(MODE_REVERSE_WRAP) {
                return;
            }
        }
        screen.grid_mut().col_dec(1);
    }

    pub fn tab(&mut self) {
        self.screen.grid_mut().col_tab_n(1);
    }

    // ptyhub: SO / SI, LS2 / LS3
    pub(crate) fn shift(&mut self, slot: u8) {
        self.screen.shift(slot);
    }

    // ptyhub: ESC ( ) * + - . / F
    pub(crate) fn designate(&mut self, intermediate: u8, b: u8) {
        let slot = match intermediate {
            b'(' => 0,
            b')' | b'-' => 1,
            b'*' | b'.' => 2,
            _ => 3,
        };
        self.screen.designate(slot, Charset::from_final(b));
    }

    // ptyhub: ESC H
    pub(crate) fn hts(&mut self) {
        self.screen.grid_mut().set_tab();
    }

    // ptyhub: CSI g
    pub(crate) fn tbc(&mut self, mode: u16) {
        match mode {
            0 => self.screen.grid_mut().clear_tab(false),
            3 => self.screen.grid_mut().clear_tab(true),
            _ => {}
        }
    }

    // ptyhub: CSI I, CSI Z
    pub(crate) fn cht(&mut self, n: u16) {
        self.screen.grid_mut().col_tab_n(n);
    }

    pub(crate) fn cbt(&mut self, n: u16) {
        self.screen.grid_mut().col_back_tab(n);
    }

    // ptyhub: CSI 4 h / l (IRM); other ANSI modes are not modelled.
    pub(crate) fn sm(&mut self, params: &vte::Params, on: bool) {
        for param in params {
            if param == [4] {
                if on {
                    self.screen.set_mode(MODE_INSERT);
                } else {
                    self.screen.clear_mode(MODE_INSERT);
                }
            }
        }
    }

    // ptyhub: OSC 8 ; params ; URI
    pub(crate) fn hyperlink(&mut self, uri: &[u8]) {
        self.screen.set_link(uri);
    }

    // ptyhub: ESC D, ESC E
    // (unlike LF, they leave the continuation flags alone in xterm.js)
    pub(crate) fn ind(&mut self) {
        self.end_pending_wrap();
        let on_row = Self::on_row(&self.screen, &mut self.callbacks);
        self.screen.grid_mut().row_inc_scroll(1, on_row);
    }

    pub(crate) fn nel(&mut self) {
        self.cr();
        self.ind();
    }

    pub fn lf(&mut self) {
        self.end_pending_wrap();
        let on_row = Self::on_row(&self.screen, &mut self.callbacks);
        let row = self.screen.grid().pos().row;
        self.screen.grid_mut().row_inc_scroll(1, on_row);
        // ptyhub: a line feed that moves to another row ends that row's
        // continuation (xterm.js).
        if self.screen.grid().pos().row != row {
            self.screen.grid_mut().end_continuation();
        }
    }

    pub fn vt(&mut self) {
        self.lf();
    }

    pub fn ff(&mut self) {
        self.lf();
    }

    pub fn cr(&mut self) {
        self.screen.grid_mut().col_set(0);
    }

    // escape codes

    // ESC 7
    pub fn decsc(&mut self) {
        self.screen.save_cursor();
    }

    // ESC 8
    pub fn decrc(&mut self) {
        self.screen.restore_cursor();
    }

    // ESC =
    pub fn deckpam(&mut self) {
        self.screen.set_mode(MODE_APPLICATION_KEYPAD);
    }

    // ESC >
    pub fn deckpnm(&mut self) {
        self.screen.clear_mode(MODE_APPLICATION_KEYPAD);
    }

    // ESC M
    pub fn ri(&mut self) {
        // ptyhub: as xterm.js: at the region's top, the region scrolls
        // down (the new row with the pen's background); elsewhere the
        // cursor moves up, row 0 being the limit.
        self.restrict_cursor();
        let erase = self.screen.attrs.erase();
        let grid = self.screen.grid_mut();
        let pos = grid.pos();
        let (top, _) = grid.scroll_region();
        if pos.row == top {
            grid.scroll_down(1, erase);
        } else if pos.row > 0 {
            grid.set_pos_raw(crate::grid::Pos {
                row: pos.row - 1,
                col: pos.col,
            });
        }
    }

    // ESC c
    pub fn ris(&mut self) {
        self.screen = Screen::new(
            self.screen.grid.size(),
            self.screen.grid.scrollback_capacity(),
        );
    }

    // csi codes

    // CSI SP
    pub(crate) fn decscusr(
        &mut self,
        cursor_style: u16,
        mut unhandled: impl FnMut(&mut Self),
    ) {
        match cursor_style {
            0 => self.screen.set_cursor_style(CursorStyle::Default),
            1 => self.screen.set_cursor_style(CursorStyle::BlinkBlock),
            2 => self.screen.set_cursor_style(CursorStyle::SteadyBlock),
            3 => self.screen.set_cursor_style(CursorStyle::BlinkUnderline),
            4 => self.screen.set_cursor_style(CursorStyle::SteadyUnderline),
            5 => self.screen.set_cursor_style(CursorStyle::BlinkVerticalBar),
            6 => self.screen.set_cursor_style(CursorStyle::SteadyVerticalBar),
            _ => unhandled(self),
        }
    }

    // CSI @
    pub fn ich(&mut self, count: u16) {
        self.restrict_cursor();
        let erase = self.screen.attrs.erase();
        self.screen.grid_mut().insert_cells(count, erase);
    }

    // CSI A
    pub fn cuu(&mut self, offset: u16) {
        self.screen.grid_mut().row_dec_clamp(offset);
        self.origin_relative_move();
    }

    // CSI B
    pub fn cud(&mut self, offset: u16) {
        self.screen.grid_mut().row_inc_clamp(offset);
        self.origin_relative_move();
    }

    // CSI C
    pub fn cuf(&mut self, offset: u16) {
        self.screen.grid_mut().col_inc_clamp(offset);
        self.origin_relative_move();
    }

    // CSI D
    pub fn cub(&mut self, offset: u16) {
        self.restrict_cursor();
        self.screen.grid_mut().col_dec(offset);
        self.origin_relative_move();
    }

    // CSI E
    pub fn cnl(&mut self, offset: u16) {
        self.screen.grid_mut().col_set(0);
        self.screen.grid_mut().row_inc_clamp(offset);
        self.origin_relative_move();
    }

    // CSI F
    pub fn cpl(&mut self, offset: u16) {
        self.screen.grid_mut().col_set(0);
        self.screen.grid_mut().row_dec_clamp(offset);
        self.origin_relative_move();
    }

    // CSI G
    pub fn cha(&mut self, col: u16) {
        self.screen.grid_mut().col_set(col - 1);
        self.origin_relative_move();
    }

    // ptyhub: xterm.js (6) in origin mode adds the region's top again to
    // the row after a relative move or CHA/HPA (its `_setCursor` takes the
    // absolute row as relative): modelled, since it is where xterm.js
    // clients put the cursor.
    fn origin_relative_move(&mut self) {
        let grid = self.screen.grid_mut();
        if grid.origin_mode() {
            let (top, bottom) = grid.scroll_region();
            let pos = grid.pos();
            grid.set_pos_raw(crate::grid::Pos {
                row: top.saturating_add(pos.row).min(bottom),
                col: pos.col,
            });
        }
    }

    // CSI `  (HPA - Horizontal Position Absolute, equivalent to CHA)
    pub(crate) fn hpa(&mut self, col: u16) {
        self.cha(col);
    }

    // CSI b (REP - Repeat last printed character)
    pub(crate) fn rep(&mut self, count: u16) {
        // ptyhub: xterm.js repeats the preceding cell's whole text
        // (combining marks included).
        if self.screen.last_char.is_none() {
            return;
        }
        let pos = self.screen.grid().pos();
        let cols = self.screen.grid().size().cols();
        let mut col = pos.col.min(cols).saturating_sub(1);
        let cell = |s: &Self, col| {
            s.screen
                .grid()
                .drawing_cell(crate::grid::Pos { row: pos.row, col })
                .cloned()
        };
        if col > 0
            && cell(self, col).is_some_and(|c| c.is_wide_continuation())
        {
            col -= 1;
        }
        let Some(text) = cell(self, col).map(|c| c.contents().to_string())
        else {
            return;
        };
        for _ in 0..count {
            for c in text.chars() {
                self.text(c);
            }
        }
    }

    // CSI H
    pub fn cup(&mut self, (row, col): (u16, u16)) {
        self.screen.grid_mut().set_pos(crate::grid::Pos {
            row: row - 1,
            col: col - 1,
        });
    }

    // CSI J
    pub fn ed(&mut self, mode: u16, mut unhandled: impl FnMut(&mut Self)) {
        let attrs = self.screen.attrs.erase();
        match mode {
            0 => self.screen.grid_mut().erase_all_forward(attrs),
            1 => self.screen.grid_mut().erase_all_backward(attrs),
            2 => self.screen.grid_mut().erase_all(attrs),
            3 => {
                let on_row = Self::on_row(&self.screen, &mut self.callbacks);
                self.screen.grid_mut().erase_all_scrollback(on_row);
            }
            _ => unhandled(self),
        }
    }

    // CSI ? J
    pub fn decsed(&mut self, mode: u16, unhandled: impl FnMut(&mut Self)) {
        self.ed(mode, unhandled);
    }

    // CSI K
    pub fn el(&mut self, mode: u16, mut unhandled: impl FnMut(&mut Self)) {
        let attrs = self.screen.attrs.erase();
        match mode {
            0 => self.screen.grid_mut().erase_row_forward(attrs),
            1 => self.screen.grid_mut().erase_row_backward(attrs),
            2 => self.screen.grid_mut().erase_row(attrs),
            _ => unhandled(self),
        }
    }

    // CSI ? K
    pub fn decsel(&mut self, mode: u16, unhandled: impl FnMut(&mut Self)) {
        self.el(mode, unhandled);
    }

    // CSI L
    pub fn il(&mut self, count: u16) {
        // ptyhub: a pending wrap ends in the last column, outside the
        // region too (xterm.js).
        self.restrict_cursor();
        let erase = self.screen.attrs.erase();
        if self.in_region() {
            self.screen.grid_mut().insert_lines(count, erase);
            // ptyhub: xterm.js leaves the cursor in column 0.
            self.screen.grid_mut().col_set(0);
        }
    }

    // CSI M
    pub fn dl(&mut self, count: u16) {
        // ptyhub: see `il`.
        self.restrict_cursor();
        let erase = self.screen.attrs.erase();
        if self.in_region() {
            self.screen.grid_mut().delete_lines(count, erase);
            self.screen.grid_mut().col_set(0);
        }
    }

    fn in_region(&self) -> bool {
        let (top, bottom) = self.screen.grid().scroll_region();
        (top..=bottom).contains(&self.screen.grid().pos().row)
    }

    // CSI P
    pub fn dch(&mut self, count: u16) {
        self.restrict_cursor();
        let erase = self.screen.attrs.erase();
        self.screen.grid_mut().delete_cells(count, erase);
    }

    // CSI S
    pub fn su(&mut self, count: u16) {
        let on_row = Self::on_row(&self.screen, &mut self.callbacks);
        // ptyhub: SU scrolls within the screen in xterm.js, not into its
        // history: the saved cursor's row stays.
        let saved = self.screen.grid().saved_pos();
        self.screen.grid_mut().scroll_up(count, on_row);
        self.screen.grid_mut().set_saved_pos(saved);
    }

    // CSI T
    pub fn sd(&mut self, count: u16) {
        // xterm.js: rows scrolled in from the top are blank (no BCE).
        let erase = crate::attrs::Attrs::new();
        self.screen.grid_mut().scroll_down(count, erase);
    }

    // CSI X
    // ptyhub: a line feed (LF, IND, NEL) past the last column comes back
    // to it (xterm.js).
    fn end_pending_wrap(&mut self) {
        self.restrict_cursor();
    }

    // ptyhub: ICH, DCH and ECH end a pending wrap first (xterm.js).
    fn restrict_cursor(&mut self) {
        let cols = self.screen.grid().size().cols();
        if self.screen.grid().pos().col >= cols {
            self.screen.grid_mut().col_set(cols - 1);
        }
    }

    pub fn ech(&mut self, count: u16) {
        self.restrict_cursor();
        let attrs = self.screen.attrs.erase();
        self.screen.grid_mut().erase_cells(count, attrs);
    }

    // CSI d
    pub fn vpa(&mut self, row: u16) {
        // ptyhub: relative to the region in origin mode (xterm.js).
        let grid = self.screen.grid_mut();
        if grid.origin_mode() {
            let (top, bottom) = grid.scroll_region();
            let pos = grid.pos();
            grid.set_pos_raw(crate::grid::Pos {
                row: top.saturating_add(row - 1).min(bottom),
                col: pos.col,
            });
        } else {
            grid.row_set(row - 1);
        }
    }

    // CSI ? h
    pub fn decset(
        &mut self,
        params: &vte::Params,
        mut unhandled: impl FnMut(&mut Self),
    ) {
        for param in params {
            let screen = &mut self.screen;
            match param {
                [1] => screen.set_mode(MODE_APPLICATION_CURSOR),
                [6] => screen.grid_mut().set_origin_mode(true),
                [7] => screen.clear_mode(MODE_NO_AUTOWRAP),
                [45] => screen.set_mode(MODE_REVERSE_WRAP),
                [1004] => screen.set_mode(MODE_FOCUS_EVENTS),
                [1047] => screen.enter_alternate_grid(),
                [1048] => self.decsc(),
                [9] => screen.set_mouse_mode(MouseProtocolMode::Press),
                [25] => screen.clear_mode(MODE_HIDE_CURSOR),
                [47] => screen.enter_alternate_grid(),
                [1000] => {
                    screen.set_mouse_mode(MouseProtocolMode::PressRelease);
                }
                [1002] => {
                    screen.set_mouse_mode(MouseProtocolMode::ButtonMotion);
                }
                [1003] => screen.set_mouse_mode(MouseProtocolMode::AnyMotion),
                [1005] => {
                    screen.set_mouse_encoding(MouseProtocolEncoding::Utf8);
                }
                [1006] => {
                    screen.set_mouse_encoding(MouseProtocolEncoding::Sgr);
                }
                [1049] => {
                    self.decsc();
                    self.screen.enter_alternate_grid();
                }
                [2004] => screen.set_mode(MODE_BRACKETED_PASTE),
                _ => unhandled(self),
            }
        }
    }

    // CSI ? l
    pub fn decrst(
        &mut self,
        params: &vte::Params,
        mut unhandled: impl FnMut(&mut Self),
    ) {
        for param in params {
            let screen = &mut self.screen;
            match param {
                [1] => screen.clear_mode(MODE_APPLICATION_CURSOR),
                [6] => screen.grid_mut().set_origin_mode(false),
                [7] => screen.set_mode(MODE_NO_AUTOWRAP),
                [45] => screen.clear_mode(MODE_REVERSE_WRAP),
                [1004] => screen.clear_mode(MODE_FOCUS_EVENTS),
                [1047] => screen.exit_alternate_grid(),
                [1048] => self.decrc(),
                [9] => screen.clear_mouse_mode(MouseProtocolMode::Press),
                [25] => screen.set_mode(MODE_HIDE_CURSOR),
                [47] => {
                    screen.exit_alternate_grid();
                }
                [1000] => {
                    screen.clear_mouse_mode(MouseProtocolMode::PressRelease);
                }
                [1002] => {
                    screen.clear_mouse_mode(MouseProtocolMode::ButtonMotion);
                }
                [1003] => {
                    screen.clear_mouse_mode(MouseProtocolMode::AnyMotion);
                }
                [1005] => {
                    screen.clear_mouse_encoding(MouseProtocolEncoding::Utf8);
                }
                [1006] => {
                    screen.clear_mouse_encoding(MouseProtocolEncoding::Sgr);
                }
                [1049] => {
                    screen.exit_alternate_grid();
                    self.decrc();
                }
                [2004] => screen.clear_mode(MODE_BRACKETED_PASTE),
                _ => unhandled(self),
            }
        }
    }

    // CSI m
    // ptyhub: the SGR of xterm.js: colon sub-parameters (`38:2::r:g:b`,
    // `4:3`), underline styles and colour (58/59), blink, invisible,
    // strikethrough, overline, bold and dim together.
    pub fn sgr(
        &mut self,
        params: &vte::Params,
        mut unhandled: impl FnMut(&mut Self),
    ) {
        if params.is_empty() {
            self.sgr0();
            return;
        }
        let list: Vec<&[u16]> = params.iter().collect();
        let mut k = 0;
        while k < list.len() {
            let p = list[k];
            k += 1;
            let a = &mut self.screen.attrs;
            match p {
                [0] => self.sgr0(),
                [1] => a.set_bold(),
                [2] => a.set_dim(),
                [3] => a.set_italic(true),
                [4] => a.set_underline(true),
                [4, n, ..] => a.set_underline_style(match n {
                    0 => crate::attrs::UnderlineStyle::None,
                    2 => crate::attrs::UnderlineStyle::Double,
                    3 => crate::attrs::UnderlineStyle::Curly,
                    4 => crate::attrs::UnderlineStyle::Dotted,
                    5 => crate::attrs::UnderlineStyle::Dashed,
                    _ => crate::attrs::UnderlineStyle::Single,
                }),
                [5] => a.set_blink(true),
                [7] => a.set_inverse(true),
                [8] => a.set_invisible(true),
                [9] => a.set_strikethrough(true),
                [21] => a.set_underline_style(
                    crate::attrs::UnderlineStyle::Double,
                ),
                [22] => a.set_normal_intensity(),
                [23] => a.set_italic(false),
                [24] => a.set_underline(false),
                [25] => a.set_blink(false),
                [27] => a.set_inverse(false),
                [28] => a.set_invisible(false),
                [29] => a.set_strikethrough(false),
                [53] => a.set_overline(true),
                [55] => a.set_overline(false),
                [59] => {
                    a.ulcolor = crate::Color::Default;
                    a.update_extended();
                }
                [39] => {
                    a.fgcolor = crate::Color::Default;
                    a.mode &= !crate::attrs::FG_256;
                }
                [49] => {
                    a.bgcolor = crate::Color::Default;
                    a.mode &= !crate::attrs::BG_256;
                }
                [n] if (30..=37).contains(n) => {
                    a.fgcolor = crate::Color::Idx(low(*n - 30));
                    a.mode &= !crate::attrs::FG_256;
                }
                [n] if (40..=47).contains(n) => {
                    a.bgcolor = crate::Color::Idx(low(*n - 40));
                    a.mode &= !crate::attrs::BG_256;
                }
                [n] if (90..=97).contains(n) => {
                    a.fgcolor = crate::Color::Idx(low(*n - 82));
                    a.mode &= !crate::attrs::FG_256;
                }
                [n] if (100..=107).contains(n) => {
                    a.bgcolor = crate::Color::Idx(low(*n - 92));
                    a.mode &= !crate::attrs::BG_256;
                }
                [which @ (38 | 48 | 58), rest @ ..] => {
                    let which = *which;
                    // Colon form: everything is in this parameter;
                    // semicolon form: the next ones.
                    let color = if rest.is_empty() {
                        let (color, used) = extended_color(&list[k..], false);
                        k += used;
                        color
                    } else {
                        extended_color(&[rest], true).0
                    };
                    if let Some(color) = color {
                        let indexed = matches!(color, crate::Color::Idx(_));
                        let flag = match which {
                            38 => {
                                a.fgcolor = color;
                                crate::attrs::FG_256
                            }
                            48 => {
                                a.bgcolor = color;
                                crate::attrs::BG_256
                            }
                            _ => {
                                a.ulcolor = color;
                                0
                            }
                        };
                        if indexed {
                            a.mode |= flag;
                        } else {
                            a.mode &= !flag;
                        }
                    }
                }
                _ => unhandled(self),
            }
        }
        self.screen.pen_changed();
    }

    // ptyhub: SGR 0 as xterm.js does it: the link stays.
    fn sgr0(&mut self) {
        let a = &mut self.screen.attrs;
        let link = a.link;
        *a = crate::attrs::Attrs::default();
        a.link = link;
        a.update_extended();
        self.screen.pen_changed();
    }

    // CSI r
    pub fn decstbm(&mut self, (top, bottom): (u16, u16)) {
        self.screen
            .grid_mut()
            .set_scroll_region(top - 1, bottom - 1);
    }
}

fn low(n: u16) -> u8 {
    u8::try_from(n).unwrap_or(u8::MAX)
}

/// ptyhub: the colour after `38`/`48`/`58`: `5;i`, `2;r;g;b` in separate
/// parameters (`colon` false: `params` are the following parameters, and
/// the count used is returned), or `5:i`, `2:r:g:b`, `2::r:g:b`,
/// `2:cs:r:g:b` as sub-parameters of one (`colon` true).
fn extended_color(
    params: &[&[u16]],
    colon: bool,
) -> (Option<crate::Color>, usize) {
    if colon {
        let p = params[0];
        return match p {
            [5, i, ..] => (u8::try_from(*i).ok().map(crate::Color::Idx), 0),
            [2, _, r, g, b, ..] | [2, r, g, b] => (
                match (u8::try_from(*r), u8::try_from(*g), u8::try_from(*b)) {
                    (Ok(r), Ok(g), Ok(b)) => Some(crate::Color::Rgb(r, g, b)),
                    _ => None,
                },
                0,
            ),
            _ => (None, 0),
        };
    }
    let one = |i: usize| params.get(i).and_then(|p| p.first()).copied();
    match one(0) {
        Some(5) => (
            one(1)
                .and_then(|i| u8::try_from(i).ok())
                .map(crate::Color::Idx),
            2,
        ),
        Some(2) => {
            let c = |i| one(i).and_then(|v| u8::try_from(v).ok());
            match (c(1), c(2), c(3)) {
                (Some(r), Some(g), Some(b)) => {
                    (Some(crate::Color::Rgb(r, g, b)), 4)
                }
                _ => (None, 4),
            }
        }
        _ => (None, 0),
    }
}
