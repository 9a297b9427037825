//! Clients' own replies to queries the server already answered: found in
//! input and dropped within the window.

use std::time::Instant;

use super::{BEL, CLIENT_REPLY_WINDOW, ESC, KINDS, Kind, MAX_SEQ};

/// When the server last answered each kind of query (per session).
#[derive(Debug, Default)]
pub(crate) struct Answered {
    at: [Option<Instant>; KINDS],
}

impl Answered {
    pub fn mark(&mut self, kind: Kind, now: Instant) {
        self.at[kind.index()] = Some(now);
    }

    /// Kinds answered within the window before `now`.
    fn recent(&self, now: Instant) -> [bool; KINDS] {
        self.at
            .map(|at| at.is_some_and(|t| now.saturating_duration_since(t) < CLIENT_REPLY_WINDOW))
    }
}

/// The kind and length of a reply-shaped sequence at the start of `bytes`.
fn reply_at(bytes: &[u8]) -> Option<(Kind, usize)> {
    match bytes.get(1)? {
        b'[' => {
            let body = &bytes[2..];
            let end = body.iter().position(|b| (0x40..=0x7e).contains(b))?;
            let (inner, final_byte) = (&body[..end], body[end]);
            if inner.len() > MAX_SEQ {
                return None;
            }
            let (marker, rest) = match inner.first() {
                Some(m @ (b'?' | b'>')) => (Some(*m), &inner[1..]),
                _ => (None, inner),
            };
            let digits = |s: &[u8]| s.iter().all(|b| b.is_ascii_digit() || *b == b';');
            let kind = match (marker, final_byte) {
                (Some(b'?'), b'c') if digits(rest) => Kind::PrimaryDa,
                (Some(b'>'), b'c') if digits(rest) => Kind::SecondaryDa,
                (None, b'n') if rest == b"0" => Kind::Status,
                (None | Some(b'?'), b'R') if digits(rest) && rest.contains(&b';') => {
                    Kind::CursorPosition
                }
                (None | Some(b'?'), b'y')
                    if rest.ends_with(b"$") && digits(&rest[..rest.len() - 1]) =>
                {
                    Kind::Mode
                }
                (Some(b'?'), b'u') if digits(rest) => Kind::KittyKeyboard,
                _ => return None,
            };
            Some((kind, 2 + end + 1))
        }
        b']' => {
            let body = &bytes[2..];
            let is_colour = [b"10;", b"11;", b"12;"]
                .iter()
                .any(|p| body.starts_with(*p) && !body[3..].starts_with(b"?"));
            if !is_colour {
                return None;
            }
            let end = terminator(body)?;
            Some((Kind::Color, 2 + end))
        }
        b'P' if bytes[2..].starts_with(b">|") => {
            let end = terminator(&bytes[2..])?;
            Some((Kind::Version, 2 + end))
        }
        _ => None,
    }
}

/// The length up to and including the BEL or ST that ends a string.
fn terminator(body: &[u8]) -> Option<usize> {
    let at = memchr::memchr2(BEL, ESC, body)?;
    match body[at] {
        BEL => Some(at + 1),
        _ if body.get(at + 1) == Some(&b'\\') => Some(at + 2),
        _ => None,
    }
}

/// `input` without the replies of kinds the server answered within the
/// window (see the module doc); `None` when nothing is dropped.
pub(crate) fn filter_client_replies(
    input: &[u8],
    answered: &Answered,
    now: Instant,
) -> Option<Vec<u8>> {
    let recent = answered.recent(now);
    if !recent.contains(&true) {
        return None;
    }
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut i = 0;
    while let Some(at) = memchr::memchr(ESC, &input[i..]) {
        let at = i + at;
        match reply_at(&input[at..]) {
            Some((kind, len)) if recent[kind.index()] => {
                let out = out.get_or_insert_with(|| Vec::with_capacity(input.len()));
                out.extend_from_slice(&input[copied..at]);
                copied = at + len;
                i = copied;
            }
            _ => i = at + 1,
        }
    }
    let mut out = out?;
    out.extend_from_slice(&input[copied..]);
    Some(out)
}

/// Whether `input` holds anything that looks like a reply (of any kind):
/// such input waits until the screen has seen every query sent so far.
pub(crate) fn has_reply(input: &[u8]) -> bool {
    memchr::memchr_iter(ESC, input).any(|at| reply_at(&input[at..]).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_replies_are_dropped_only_within_the_window_and_kind() {
        let now = Instant::now();
        let mut answered = Answered::default();
        let input: &[u8] = b"a\x1b[12;1Rb\x1b[?1;2c\x1b]11;rgb:0000/0000/0000\x1b\\c\x1b[?2026;2$y\x1bP>|xterm.js(6)\x1b\\d\x1b[?0u";
        assert_eq!(filter_client_replies(input, &answered, now), None);
        answered.mark(Kind::CursorPosition, now);
        assert_eq!(
            filter_client_replies(input, &answered, now).unwrap(),
            &input[..1]
                .iter()
                .chain(&input[8..])
                .copied()
                .collect::<Vec<u8>>()[..]
        );
        for kind in [
            Kind::PrimaryDa,
            Kind::Color,
            Kind::Mode,
            Kind::Version,
            Kind::KittyKeyboard,
        ] {
            answered.mark(kind, now);
        }
        assert_eq!(
            filter_client_replies(input, &answered, now).unwrap(),
            b"abcd"
        );
        let later = now + CLIENT_REPLY_WINDOW;
        assert_eq!(filter_client_replies(input, &answered, later), None);
        // Keys are never replies (but Ctrl+F3, see the module doc).
        let keys: &[u8] = b"\x1b[A\x1b[1;5A\x1bOP\x1b[15~\x1b[200~paste\x1b[201~\x1b[I\x1b";
        assert_eq!(filter_client_replies(keys, &answered, now), None);
        assert!(!has_reply(keys));
        assert!(has_reply(b"\x1b[1;5R"));
        assert_eq!(
            filter_client_replies(b"\x1b[1;5R", &answered, now).unwrap(),
            b""
        );
        // The DA2 and status replies.
        answered.mark(Kind::SecondaryDa, now);
        answered.mark(Kind::Status, now);
        assert_eq!(
            filter_client_replies(b"\x1b[>0;276;0cx\x1b[0n", &answered, now).unwrap(),
            b"x"
        );
    }
}
