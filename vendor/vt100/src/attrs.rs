// ptyhub: the pen and cell attributes, public for the snapshot serializer.
#![allow(missing_docs)]

use alloc::string::String;

/// Represents a foreground or background color for cells.
#[derive(Eq, PartialEq, Debug, Copy, Clone, Default)]
pub enum Color {
    /// The default terminal color.
    #[default]
    Default,

    /// An indexed terminal color.
    Idx(u8),

    /// An RGB terminal color. The parameters are (red, green, blue).
    Rgb(u8, u8, u8),
}

const TEXT_MODE_BOLD: u16 = 0b0000_0000_0001;
const TEXT_MODE_DIM: u16 = 0b0000_0000_0010;
const TEXT_MODE_ITALIC: u16 = 0b0000_0000_0100;
const TEXT_MODE_UNDERLINE: u16 = 0b0000_0000_1000;
const TEXT_MODE_INVERSE: u16 = 0b0000_0001_0000;
// ptyhub: the attributes xterm.js has and vt100 0.18 did not.
const TEXT_MODE_BLINK: u16 = 0b0000_0010_0000;
const TEXT_MODE_INVISIBLE: u16 = 0b0000_0100_0000;
const TEXT_MODE_STRIKE: u16 = 0b0000_1000_0000;
const TEXT_MODE_OVERLINE: u16 = 0b0001_0000_0000;
/// An indexed colour set with `38;5;N` / `48;5;N` (xterm.js's 256-colour
/// mode, which bold does not brighten) rather than `30`–`37`, `90`–`97`.
pub const FG_256: u16 = 0b0010_0000_0000;
pub const BG_256: u16 = 0b0100_0000_0000;
/// xterm.js's "has extended attributes" flag: the underline style and
/// colour and the link count only while it is set. SGR 0, 4, 21, 24, 59 and
/// OSC 8 set it from them (an underline colour alone does not); DECRC sets
/// it from the saved pen and leaves them as they are.
pub const EXT_ON: u16 = 0b1000_0000_0000;

/// The underline styles of `SGR 4:N` (and `SGR 21`, double).
#[derive(Eq, PartialEq, Debug, Copy, Clone, Default)]
pub enum UnderlineStyle {
    /// No underline.
    #[default]
    None,
    /// `4`, `4:1`.
    Single,
    /// `21`, `4:2`.
    Double,
    /// `4:3`.
    Curly,
    /// `4:4`.
    Dotted,
    /// `4:5`.
    Dashed,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Attrs {
    pub fgcolor: Color,
    pub bgcolor: Color,
    /// ptyhub: the underline colour (`SGR 58`), `Default` when unset.
    pub ulcolor: Color,
    pub mode: u16,
    /// ptyhub: the underline style, meaningful when underlined.
    pub ulstyle: UnderlineStyle,
    /// ptyhub: the OSC 8 hyperlink (an index into the screen's link table
    /// plus one; 0: none).
    pub link: u16,
}

impl Default for Attrs {
    fn default() -> Self {
        Self::new()
    }
}

macro_rules! flag {
    ($get:ident, $set:ident, $bit:ident) => {
        pub fn $get(&self) -> bool {
            self.mode & $bit != 0
        }

        pub fn $set(&mut self, on: bool) {
            if on {
                self.mode |= $bit;
            } else {
                self.mode &= !$bit;
            }
        }
    };
}

impl Attrs {
    pub const fn new() -> Self {
        Self {
            fgcolor: Color::Default,
            bgcolor: Color::Default,
            ulcolor: Color::Default,
            mode: 0,
            ulstyle: UnderlineStyle::None,
            link: 0,
        }
    }

    /// The attributes erased cells get (xterm's BCE): the background
    /// colour only.
    pub fn erase(&self) -> Self {
        Self {
            bgcolor: self.bgcolor,
            mode: self.mode & BG_256,
            ..Self::new()
        }
    }

    pub fn bold(&self) -> bool {
        self.mode & TEXT_MODE_BOLD != 0
    }

    pub fn dim(&self) -> bool {
        self.mode & TEXT_MODE_DIM != 0
    }

    // ptyhub: bold and dim are independent (as in xterm): SGR 1 does not
    // clear dim, nor 2 bold; 22 clears both.
    pub fn set_bold(&mut self) {
        self.mode |= TEXT_MODE_BOLD;
    }

    pub fn set_dim(&mut self) {
        self.mode |= TEXT_MODE_DIM;
    }

    pub fn set_normal_intensity(&mut self) {
        self.mode &= !(TEXT_MODE_BOLD | TEXT_MODE_DIM);
    }

    flag!(italic, set_italic, TEXT_MODE_ITALIC);
    flag!(inverse, set_inverse, TEXT_MODE_INVERSE);
    flag!(blink, set_blink, TEXT_MODE_BLINK);
    flag!(invisible, set_invisible, TEXT_MODE_INVISIBLE);
    flag!(strikethrough, set_strikethrough, TEXT_MODE_STRIKE);
    flag!(overline, set_overline, TEXT_MODE_OVERLINE);

    pub fn underline(&self) -> bool {
        self.mode & TEXT_MODE_UNDERLINE != 0
    }

    pub fn set_underline(&mut self, underline: bool) {
        self.set_underline_style(if underline {
            UnderlineStyle::Single
        } else {
            UnderlineStyle::None
        });
    }

    pub fn set_underline_style(&mut self, style: UnderlineStyle) {
        self.ulstyle = style;
        if style == UnderlineStyle::None {
            self.mode &= !TEXT_MODE_UNDERLINE;
        } else {
            self.mode |= TEXT_MODE_UNDERLINE;
        }
        self.update_extended();
    }

    /// Sets `EXT_ON` from the underline style and the link.
    pub fn update_extended(&mut self) {
        if self.ulstyle != UnderlineStyle::None || self.link != 0 {
            self.mode |= EXT_ON;
        } else {
            self.mode &= !EXT_ON;
        }
    }

    /// Whether the extended attributes count (`EXT_ON`).
    pub fn extended_on(&self) -> bool {
        self.mode & EXT_ON != 0
    }

    /// ptyhub: whether SGR and OSC 8 alone make this pen: not when
    /// `EXT_ON` disagrees with the underline and link, as only a DECRC
    /// leaves it (underlined with no style, or counting an underline style
    /// or colour with neither an underline nor a link).
    pub fn sgr_makeable(&self) -> bool {
        !self.extended_on()
            || if self.underline() {
                self.ulstyle != UnderlineStyle::None
            } else {
                self.link != 0
            }
    }

    /// What a cell drawn with this pen gets: without `EXT_ON`, no
    /// underline style (a plain underline), colour or link.
    #[must_use]
    pub fn effective(&self) -> Self {
        if self.extended_on() {
            return *self;
        }
        Self {
            ulstyle: if self.underline() {
                UnderlineStyle::Single
            } else {
                UnderlineStyle::None
            },
            ulcolor: Color::Default,
            link: 0,
            ..*self
        }
    }

    pub fn underline_style(&self) -> UnderlineStyle {
        self.ulstyle
    }

    pub fn write_escape_code_diff(
        &self,
        contents: &mut String,
        other: &Self,
    ) {
        self.write_escape_code_diff_fmt(contents, other)
            .expect("writing to a String cannot fail");
    }

    pub fn write_escape_code_diff_fmt(
        &self,
        writer: &mut impl alloc::fmt::Write,
        other: &Self,
    ) -> alloc::fmt::Result {
        // ptyhub: a change is written as a reset and every attribute set
        // (simple and exact; links are written by the caller, OSC 8).
        if self.fgcolor == other.fgcolor
            && self.bgcolor == other.bgcolor
            && self.ulcolor == other.ulcolor
            && self.mode == other.mode
            && self.ulstyle == other.ulstyle
        {
            return Ok(());
        }
        self.write_sgr(writer)
    }

    /// `CSI 0 ; ... m` setting exactly these attributes (not the link).
    // ptyhub: built in a stack buffer without `core::fmt` (a snapshot
    // writes one per cell in the worst case: formatting was most of it).
    #[inline]
    pub fn write_sgr(
        &self,
        w: &mut impl alloc::fmt::Write,
    ) -> alloc::fmt::Result {
        let mut b = SgrBuf::new();
        b.push(b"\x1b[0");
        for (on, code) in [
            (self.bold(), &b";1"[..]),
            (self.dim(), b";2"),
            (self.italic(), b";3"),
            (self.blink(), b";5"),
            (self.inverse(), b";7"),
            (self.invisible(), b";8"),
            (self.strikethrough(), b";9"),
            (self.overline(), b";53"),
        ] {
            if on {
                b.push(code);
            }
        }
        if self.underline() {
            b.push(match self.ulstyle {
                UnderlineStyle::None | UnderlineStyle::Single => b";4",
                UnderlineStyle::Double => b";4:2",
                UnderlineStyle::Curly => b";4:3",
                UnderlineStyle::Dotted => b";4:4",
                UnderlineStyle::Dashed => b";4:5",
            });
        }
        write_color(
            &mut b,
            self.fgcolor,
            30,
            90,
            b"38",
            self.mode & FG_256 != 0,
        );
        write_color(
            &mut b,
            self.bgcolor,
            40,
            100,
            b"48",
            self.mode & BG_256 != 0,
        );
        match self.ulcolor {
            Color::Default => {}
            Color::Idx(i) => {
                b.push(b";58:5:");
                b.num(i);
            }
            Color::Rgb(r, g, bl) => {
                b.push(b";58:2::");
                b.num(r);
                b.push(b":");
                b.num(g);
                b.push(b":");
                b.num(bl);
            }
        }
        b.push(b"m");
        w.write_str(b.as_str())
    }
}

/// The longest SGR `write_sgr` writes is under 100 bytes.
struct SgrBuf {
    b: [u8; 128],
    n: usize,
}

impl SgrBuf {
    fn new() -> Self {
        Self { b: [0; 128], n: 0 }
    }

    // Byte by byte: the pieces are 1 to 7 bytes, shorter than a call to
    // memcpy is worth.
    #[inline]
    fn push(&mut self, s: &[u8]) {
        for &c in s {
            self.byte(c);
        }
    }

    #[inline]
    fn byte(&mut self, c: u8) {
        if let Some(slot) = self.b.get_mut(self.n) {
            *slot = c;
            self.n += 1;
        }
    }

    #[inline]
    fn num(&mut self, v: u8) {
        if v >= 100 {
            self.byte(b'0' + v / 100);
        }
        if v >= 10 {
            self.byte(b'0' + v / 10 % 10);
        }
        self.byte(b'0' + v % 10);
    }

    fn as_str(&self) -> &str {
        // Only ASCII is pushed.
        core::str::from_utf8(&self.b[..self.n]).unwrap_or_default()
    }
}

#[inline]
fn write_color(
    b: &mut SgrBuf,
    color: Color,
    base: u8,
    bright: u8,
    extended: &[u8],
    palette256: bool,
) {
    match color {
        Color::Default => {}
        Color::Idx(i) if palette256 || i >= 16 => {
            b.push(b";");
            b.push(extended);
            b.push(b";5;");
            b.num(i);
        }
        Color::Idx(i) if i < 8 => {
            b.push(b";");
            b.num(base + i);
        }
        Color::Idx(i) => {
            b.push(b";");
            b.num(bright + i - 8);
        }
        Color::Rgb(r, g, bl) => {
            b.push(b";");
            b.push(extended);
            b.push(b";2;");
            b.num(r);
            b.push(b";");
            b.num(g);
            b.push(b";");
            b.num(bl);
        }
    }
}
