//! ptyhub's wire types: the JSON shapes of the HTTP API and the WebSocket
//! framings (`ptyhub.v1`, raw, `tty`) as pure encode/decode functions, with
//! no I/O, so that they can be property-tested and fuzzed.
//!
//! - [`api`]: the request and response bodies of `/api` (docs/http-api.md) and
//!   [`api::decode_body`], the strict body decoder;
//! - [`v1`]: the native `ptyhub.v1` JSON events and commands;
//! - [`tty`]: the ttyd-compatible one-byte-prefix framing;
//! - [`raw`]: no subprotocol, every client frame is input;
//! - [`Framing`]: which of the three a `Sec-WebSocket-Protocol` header picks;
//! - [`close`]: the WebSocket close codes the server uses.
//!
//! Every decoder returns an error instead of panicking on any input.

pub mod api;
mod error;
#[cfg(test)]
mod fixtures;
mod json;
pub mod raw;
pub mod tty;
pub mod v1;

pub use error::DecodeError;

/// The `Sec-WebSocket-Protocol` name of the native protocol ([`v1`]).
pub const SUBPROTOCOL_V1: &str = "ptyhub.v1";

/// The `Sec-WebSocket-Protocol` name of the ttyd-compatible framing ([`tty`]).
pub const SUBPROTOCOL_TTY: &str = "tty";

/// WebSocket close codes (RFC 6455 section 7.4.1) that ptyhub sends.
pub mod close {
    /// The session ended (after the `exit` event) or the server shut down.
    pub const NORMAL: u16 = 1000;
    /// A text frame that is not valid UTF-8.
    pub const INVALID_DATA: u16 = 1007;
    /// Policy violation: a missing or bad `tty` auth message, or no auth
    /// message in time.
    pub const POLICY: u16 = 1008;
    /// A message larger than `max_message_bytes`.
    pub const TOO_BIG: u16 = 1009;
}

/// The framing of one WebSocket connection, picked by its subprotocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Framing {
    /// `ptyhub.v1`: binary output and input, JSON events and commands.
    V1,
    /// `tty`: ttyd's one-byte command prefixes after a JSON auth message.
    Tty,
    /// No subprotocol: every frame is terminal bytes, no events.
    Raw,
}

impl Framing {
    /// Picks the framing from the values of the client's
    /// `Sec-WebSocket-Protocol` header lines (each a comma-separated list).
    ///
    /// The first name the server knows wins, in the client's order of
    /// preference (RFC 6455 section 4.2.2). No header, or only unknown names,
    /// gives [`Framing::Raw`], for which the server answers no subprotocol.
    pub fn negotiate<'a>(offered: impl IntoIterator<Item = &'a str>) -> Framing {
        offered
            .into_iter()
            .flat_map(|line| line.split(','))
            .find_map(|name| match name.trim() {
                SUBPROTOCOL_V1 => Some(Framing::V1),
                SUBPROTOCOL_TTY => Some(Framing::Tty),
                _ => None,
            })
            .unwrap_or(Framing::Raw)
    }

    /// The subprotocol name the server answers with, `None` for raw.
    pub fn subprotocol(self) -> Option<&'static str> {
        match self {
            Framing::V1 => Some(SUBPROTOCOL_V1),
            Framing::Tty => Some(SUBPROTOCOL_TTY),
            Framing::Raw => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiate_picks_the_first_known_name() {
        assert_eq!(Framing::negotiate(["ptyhub.v1"]), Framing::V1);
        assert_eq!(Framing::negotiate(["tty"]), Framing::Tty);
        assert_eq!(Framing::negotiate(["foo, tty, ptyhub.v1"]), Framing::Tty);
        assert_eq!(Framing::negotiate(["foo", "ptyhub.v1,tty"]), Framing::V1);
        assert_eq!(Framing::negotiate(["foo", "TTY"]), Framing::Raw);
        assert_eq!(Framing::negotiate([]), Framing::Raw);
    }

    #[test]
    fn subprotocol_names_round_trip() {
        for framing in [Framing::V1, Framing::Tty, Framing::Raw] {
            let offered: Vec<&str> = framing.subprotocol().into_iter().collect();
            assert_eq!(Framing::negotiate(offered), framing);
        }
    }
}
