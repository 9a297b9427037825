//! Raw mode (no subprotocol), for `@xterm/addon-attach` as it is.
//!
//! Every client frame, text or binary, is input bytes; the server sends
//! output as binary frames, unchanged. There are no events: the size comes
//! from the `cols`/`rows` query, the exit is a normal close (1000), and a
//! read-only client's input is dropped. The functions exist so that the
//! three framings read alike at the call site; they copy nothing.

/// Decodes a client frame (the payload of a text or binary frame): it is
/// all input, written to the terminal byte for byte. Never fails.
pub fn decode_client(frame: &[u8]) -> &[u8] {
    frame
}

/// Encodes terminal output as the payload of one binary frame: unchanged.
pub fn encode_output(data: &[u8]) -> &[u8] {
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_bytes_unchanged() {
        let bytes = b"\x00\x1b[A\xff0{\"type\":\"input\"}";
        assert_eq!(decode_client(bytes), bytes);
        assert_eq!(encode_output(bytes), bytes);
        assert_eq!(decode_client(b""), b"");
    }
}
