//! Terminal queries, answered once, by the server.
//!
//! Full-screen programs ask the terminal questions (device attributes, the
//! cursor position, the default colours, mode states) and wait for the
//! answers on their input. A session may have no client (started through
//! the API) or several (each browser's xterm.js would answer), so the
//! server answers from its own screen model, as tmux does:
//!
//! - The screen thread runs a [`Scanner`] over the output it parses. The
//!   scanner is a small state machine that survives sequences split across
//!   batches, and it also reports the sequences the screen itself cares
//!   about (alternate screen, synchronized output).
//! - At each query, the screen has parsed every byte before it, so the
//!   cursor position and modes are the program's own; [`answer`] builds the
//!   reply, which goes to the program's input.
//! - Clients answer the same queries. [`Answered`] remembers when the
//!   server last answered each kind, and [`filter_client_replies`] drops
//!   reply-shaped sequences of that kind from input for
//!   [`CLIENT_REPLY_WINDOW`] afterwards.
//!
//! Accepted ambiguity: Ctrl+F3 (`CSI 1;5R`) and other modified F3 keys are
//! byte for byte a cursor position report; one pressed within the window
//! after a cursor position query is dropped. A client reply split across two
//! input messages is not recognised (xterm.js sends each reply whole).
//!
//! The kitty keyboard query (`CSI ? u`) is not answered: programs send it
//! followed by a primary DA query and take "the DA answer came alone" as
//! "not supported", which is the truth for the server's model (crossterm
//! in Codex, Gemini CLI). Clients' answers to it are dropped likewise, so
//! a browser that supports the protocol cannot switch it on behind the
//! model's back.

use std::time::Duration;

mod answers;
mod client;
mod filter;
mod scanner;

pub(crate) use answers::answer;
pub(crate) use client::{Answered, filter_client_replies, has_reply};
pub(crate) use filter::ReplyFilter;
pub(crate) use scanner::Scanner;

/// How long after the server answered a query of some kind client replies
/// of that kind are dropped. A client answers as soon as the query reaches
/// it: well under a second unless its connection is badly backed up.
pub const CLIENT_REPLY_WINDOW: Duration = Duration::from_secs(2);

/// The kinds of query, which are also the kinds of reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    PrimaryDa,
    SecondaryDa,
    Status,
    CursorPosition,
    Color,
    Mode,
    Version,
    KittyKeyboard,
}

const KINDS: usize = 8;

impl Kind {
    fn index(self) -> usize {
        self as usize
    }
}

/// A query found in the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Query {
    /// `CSI c`, `CSI 0 c`.
    PrimaryDa,
    /// `CSI > c`, `CSI > 0 c`.
    SecondaryDa,
    /// `CSI 5 n`.
    Status,
    /// `CSI 6 n`, or with `dec` `CSI ? 6 n`.
    CursorPosition { dec: bool },
    /// `OSC 10/11/12 ; ?`, ended by ST (`bel` false) or BEL.
    Color { code: u8, bel: bool },
    /// DECRQM: `CSI ? Pm $ p` (`private`) or `CSI Pm $ p`.
    Mode { mode: u16, private: bool },
    /// XTVERSION: `CSI > q`, `CSI > 0 q`.
    Version,
    /// `CSI ? u`.
    KittyKeyboard,
}

impl Query {
    pub fn kind(self) -> Kind {
        match self {
            Query::PrimaryDa => Kind::PrimaryDa,
            Query::SecondaryDa => Kind::SecondaryDa,
            Query::Status => Kind::Status,
            Query::CursorPosition { .. } => Kind::CursorPosition,
            Query::Color { .. } => Kind::Color,
            Query::Mode { .. } => Kind::Mode,
            Query::Version => Kind::Version,
            Query::KittyKeyboard => Kind::KittyKeyboard,
        }
    }
}

/// What the scanner reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    Query(Query),
    /// `CSI ? 1049 h`, `? 1047 h`, `? 47 h`.
    AltScreenOn,
    /// BSU, `CSI ? 2026 h`.
    SyncBegin,
    /// ESU, `CSI ? 2026 l`.
    SyncEnd,
    /// DECSTBM, `CSI Pt ; Pb r`: the parameters (0 when absent), or `None`
    /// when they are not plain numbers.
    ScrollRegion(Option<(u16, u16)>),
    /// RIS, `ESC c`: everything back to the start.
    Reset,
}

/// One event and where its sequence is: `end` is the index just after its
/// final byte in the chunk given to [`Scanner::scan`], `len` the length of
/// the whole sequence (which may have begun in an earlier chunk).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Found {
    pub end: usize,
    pub len: u64,
    pub event: Event,
}

/// Bytes the scanner and the reply filter look for.
const ESC: u8 = 0x1b;
const BEL: u8 = 0x07;
const CAN: u8 = 0x18;
const SUB: u8 = 0x1a;

/// The longest parameter string kept; longer sequences are not queries.
const MAX_SEQ: usize = 24;
