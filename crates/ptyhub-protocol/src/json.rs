//! Shared JSON helpers: decode a value that must be a JSON object.
//!
//! serde's derived structs and internally tagged enums also accept JSON
//! arrays (`["x"]` for `{"data":"x"}`); the protocol only has objects, so
//! every decoder checks the first significant byte before handing the text
//! to serde.

use serde::de::DeserializeOwned;

use crate::DecodeError;

/// What the first significant byte of a JSON text says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// Only whitespace, or nothing.
    Empty,
    /// It opens an object.
    Object,
    /// Anything else (another JSON value, or not JSON at all).
    Other,
}

/// Classifies a JSON text by its first non-whitespace byte.
pub(crate) fn start(text: &[u8]) -> Start {
    match text
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        None => Start::Empty,
        Some(b'{') => Start::Object,
        Some(_) => Start::Other,
    }
}

/// Decodes `text` as a `T` that must be written as a JSON object.
pub(crate) fn decode_object<T: DeserializeOwned>(text: &str) -> Result<T, DecodeError> {
    match start(text.as_bytes()) {
        Start::Empty => Err(DecodeError::Empty),
        Start::Other => Err(DecodeError::NotAnObject),
        Start::Object => Ok(serde_json::from_str(text)?),
    }
}

/// [`decode_object`] for bytes that must first be UTF-8.
pub(crate) fn decode_object_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    let text = std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8)?;
    decode_object(text)
}
