//! The detach keys of `ptyhub attach`, as in tmux: a prefix key (`Ctrl-\`
//! by default) then `d` detaches; the prefix twice sends one prefix
//! through; the prefix then any other key sends both, so nothing typed is
//! lost (as ssh does with its `~` escape).

/// The default prefix, `Ctrl-\` (0x1c).
pub const DEFAULT_PREFIX: &str = "ctrl-\\";

/// The key that detaches after the prefix.
const DETACH_KEY: u8 = b'd';

/// A parsed detach prefix, as clap hands it over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix(pub Option<u8>);

impl Prefix {
    /// [`parse_prefix`], for clap.
    pub fn parse(text: &str) -> Result<Prefix, String> {
        parse_prefix(text).map(Prefix)
    }
}

/// Parses a prefix key: `ctrl-X`, `C-X` or `^X` for X in `@`, `a`..`z`,
/// `[`, `\`, `]`, `^`, `_` (any case); or `none` for no detach keys.
pub fn parse_prefix(text: &str) -> Result<Option<u8>, String> {
    let lower = text.to_ascii_lowercase();
    if lower == "none" {
        return Ok(None);
    }
    let key = lower
        .strip_prefix("ctrl-")
        .or_else(|| lower.strip_prefix("c-"))
        .or_else(|| lower.strip_prefix('^'));
    let control = key.and_then(|k| match k.as_bytes() {
        [c @ b'a'..=b'z'] => Some(c - b'a' + 1),
        [c @ (b'@' | b'[' | b'\\' | b']' | b'^' | b'_')] => Some(c - b'@'),
        _ => None,
    });
    control.map(Some).ok_or_else(|| {
        format!(
            "bad detach prefix {text:?}: use ctrl-X (X a letter or one of @ [ \\ ] ^ _), or none"
        )
    })
}

/// Splits typed bytes into what goes to the session and a detach.
#[derive(Debug, Clone)]
pub struct Detacher {
    prefix: Option<u8>,
    /// The prefix was the last key typed: the next key decides.
    pending: bool,
}

/// What one chunk of typed bytes does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    /// The bytes to send to the session (before a detach, if any).
    pub send: Vec<u8>,
    /// The detach keys were typed: stop after sending `send`.
    pub detach: bool,
}

impl Detacher {
    /// A detacher for `prefix` (`None`: never detaches).
    pub fn new(prefix: Option<u8>) -> Detacher {
        Detacher {
            prefix,
            pending: false,
        }
    }

    /// Feeds typed bytes; the bytes after a detach key are dropped.
    pub fn feed(&mut self, input: &[u8]) -> Keys {
        let mut send = Vec::with_capacity(input.len());
        let Some(prefix) = self.prefix else {
            send.extend_from_slice(input);
            return Keys {
                send,
                detach: false,
            };
        };
        for &byte in input {
            if self.pending {
                self.pending = false;
                if byte == DETACH_KEY {
                    return Keys { send, detach: true };
                }
                send.push(prefix);
                if byte != prefix {
                    send.push(byte);
                }
            } else if byte == prefix {
                self.pending = true;
            } else {
                send.push(byte);
            }
        }
        Keys {
            send,
            detach: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(send: &[u8], detach: bool) -> Keys {
        Keys {
            send: send.to_vec(),
            detach,
        }
    }

    #[test]
    fn prefixes_parse() {
        assert_eq!(parse_prefix(DEFAULT_PREFIX), Ok(Some(0x1c)));
        assert_eq!(parse_prefix("C-b"), Ok(Some(2)));
        assert_eq!(parse_prefix("^A"), Ok(Some(1)));
        assert_eq!(parse_prefix("Ctrl-]"), Ok(Some(0x1d)));
        assert_eq!(parse_prefix("ctrl-@"), Ok(Some(0)));
        assert_eq!(parse_prefix("none"), Ok(None));
        for bad in ["", "ctrl-", "ctrl-ab", "x", "ctrl-1", "alt-x"] {
            assert!(parse_prefix(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn prefix_then_d_detaches() {
        let mut d = Detacher::new(Some(0x1c));
        assert_eq!(d.feed(b"ls\r"), keys(b"ls\r", false));
        assert_eq!(d.feed(b"ab\x1cdzz"), keys(b"ab", true));
        // Split across reads.
        let mut d = Detacher::new(Some(0x1c));
        assert_eq!(d.feed(b"x\x1c"), keys(b"x", false));
        assert_eq!(d.feed(b"d"), keys(b"", true));
    }

    #[test]
    fn prefix_twice_sends_it_once_and_other_keys_pass() {
        let mut d = Detacher::new(Some(0x1c));
        assert_eq!(d.feed(b"\x1c\x1c"), keys(b"\x1c", false));
        assert_eq!(d.feed(b"\x1c\x1c\x1c"), keys(b"\x1c", false));
        assert_eq!(d.feed(b"d"), keys(b"", true));
        let mut d = Detacher::new(Some(0x1c));
        assert_eq!(d.feed(b"\x1cx"), keys(b"\x1cx", false));
        assert_eq!(d.feed(b"D"), keys(b"D", false));
        let mut none = Detacher::new(None);
        assert_eq!(none.feed(b"\x1cd"), keys(b"\x1cd", false));
    }
}
