//! The asciicast v2 encoding: the header line, one line per event, and the
//! output's text cut only at UTF-8 character boundaries. Pure functions, no
//! I/O.

use std::fmt::Write as _;

/// What the header says about the session (the first line of the file).
#[derive(Clone, Debug)]
pub struct Header {
    /// The terminal's size at the start.
    pub cols: u16,
    /// The terminal's height at the start.
    pub rows: u16,
    /// The session's creation time, in seconds since the Unix epoch.
    pub timestamp: i64,
    /// The title: the session's name, else its command line.
    pub title: String,
    /// `$SHELL` of the session, if set.
    pub shell: Option<String>,
    /// The session's id, name and provider, for the listing (an extra key
    /// `ptyhub` that players ignore).
    pub id: String,
    /// The session's name.
    pub name: Option<String>,
    /// The session's provider.
    pub provider: Option<String>,
}

/// The kinds of event lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `"o"`: output.
    Output,
    /// `"i"`: input (only with `record_input`).
    Input,
    /// `"r"`: a size change, `"COLSxROWS"`.
    Resize,
    /// `"m"`: a marker (status, agent state, exit, recording notes).
    Marker,
}

impl Kind {
    fn code(self) -> &'static str {
        match self {
            Kind::Output => "o",
            Kind::Input => "i",
            Kind::Resize => "r",
            Kind::Marker => "m",
        }
    }
}

/// The header line, `\n` included.
pub fn header_line(h: &Header) -> Vec<u8> {
    let mut env = serde_json::Map::new();
    env.insert("TERM".into(), "xterm-256color".into());
    if let Some(shell) = &h.shell {
        env.insert("SHELL".into(), shell.clone().into());
    }
    let value = serde_json::json!({
        "version": 2,
        "width": h.cols,
        "height": h.rows,
        "timestamp": h.timestamp,
        "title": h.title,
        "env": env,
        "ptyhub": {"id": h.id, "name": h.name, "provider": h.provider},
    });
    let mut line = value.to_string().into_bytes();
    line.push(b'\n');
    line
}

/// Appends one event line (`[t, "o", "text"]\n`) to `out`.
pub fn event_line(out: &mut Vec<u8>, t: f64, kind: Kind, text: &str) {
    let mut head = String::with_capacity(24);
    // Microseconds, as asciinema writes them.
    let _ = write!(head, "[{t:.6}, \"{}\", ", kind.code());
    out.extend_from_slice(head.as_bytes());
    // A `Vec` cannot fail to take bytes, and a `str` always serializes.
    let _ = serde_json::to_writer(&mut *out, text);
    out.extend_from_slice(b"]\n");
}

/// Decodes `data` after the `carry` of the previous call: valid UTF-8 as
/// is, invalid bytes as U+FFFD, and an incomplete character at the end
/// kept in `carry` for the next call (so text is cut only between
/// characters).
pub fn decode(carry: &mut Vec<u8>, data: &[u8]) -> String {
    let joined;
    let bytes: &[u8] = if carry.is_empty() {
        data
    } else {
        carry.extend_from_slice(data);
        joined = std::mem::take(carry);
        &joined
    };
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                return out;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                match e.error_len() {
                    Some(n) => {
                        out.push(char::REPLACEMENT_CHARACTER);
                        rest = &after[n..];
                    }
                    None => {
                        // The start of a character whose rest is still to
                        // come.
                        carry.extend_from_slice(after);
                        return out;
                    }
                }
            }
        }
    }
}

/// What is left in `carry` at the end of the output, as text: one U+FFFD
/// for a character that never completed, nothing when none is pending.
pub fn flush(carry: &mut Vec<u8>) -> String {
    let n = carry.len();
    carry.clear();
    std::iter::repeat_n(char::REPLACEMENT_CHARACTER, n.min(1)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_are_never_cut() {
        let text = "héllo wörld €𝄞";
        let bytes = text.as_bytes();
        for cut in 0..=bytes.len() {
            let mut carry = Vec::new();
            let mut out = decode(&mut carry, &bytes[..cut]);
            out += &decode(&mut carry, &bytes[cut..]);
            assert_eq!(out, text, "cut at {cut}");
            assert!(carry.is_empty());
        }
    }

    #[test]
    fn invalid_bytes_are_replaced() {
        let mut carry = Vec::new();
        assert_eq!(decode(&mut carry, b"a\xffb\xc3(c"), "a\u{fffd}b\u{fffd}(c");
        assert_eq!(decode(&mut carry, b"x\xe2\x82"), "x");
        assert_eq!(carry, b"\xe2\x82");
        assert_eq!(flush(&mut carry), "\u{fffd}");
        assert!(carry.is_empty());
    }

    #[test]
    fn event_lines_are_json_arrays() {
        let mut out = Vec::new();
        event_line(&mut out, 1.5, Kind::Output, "a\x1b[1m\"\n");
        event_line(&mut out, 2.0, Kind::Marker, "exit:0");
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0], serde_json::json!([1.5, "o", "a\x1b[1m\"\n"]));
        assert_eq!(lines[1], serde_json::json!([2.0, "m", "exit:0"]));
    }

    #[test]
    fn the_header_has_the_asciicast_keys() {
        let line = header_line(&Header {
            cols: 80,
            rows: 24,
            timestamp: 1_700_000_000,
            title: "t".into(),
            shell: Some("/bin/bash".into()),
            id: "x".into(),
            name: None,
            provider: Some("shell".into()),
        });
        assert!(line.ends_with(b"\n"));
        let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["version"], 2);
        assert_eq!(v["width"], 80);
        assert_eq!(v["height"], 24);
        assert_eq!(v["env"]["TERM"], "xterm-256color");
        assert_eq!(v["env"]["SHELL"], "/bin/bash");
        assert_eq!(v["ptyhub"]["provider"], "shell");
    }
}
