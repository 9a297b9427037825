//! [`decode_body`]: the strict request-body decoder, and [`BodyError`].

use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::json::{Start, start};

/// Why a request body could not be decoded; the `Display` text is the
/// human sentence for the error response's `message` (the server answers
/// 400, code of its choosing, e.g. `invalid_body`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// No body, or only whitespace.
    #[error("the request body is empty; a JSON object was expected")]
    Empty,
    /// The bytes are not UTF-8.
    #[error("the request body is not valid UTF-8 (at line {line} column {column})")]
    InvalidUtf8 {
        /// 1-based line of the first invalid byte.
        line: usize,
        /// 1-based byte column of the first invalid byte.
        column: usize,
    },
    /// Valid JSON, maybe, but not an object.
    #[error("the request body must be a JSON object")]
    NotAnObject,
    /// Not valid JSON (including a body that ends too early).
    #[error("the request body is not valid JSON: {message}")]
    Syntax {
        /// serde_json's description, ending with the line and column.
        message: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
    },
    /// Valid JSON of the wrong shape: an unknown field (named), a missing
    /// field, a value of the wrong type or out of the type's range.
    #[error("the request body does not fit: {message}")]
    Invalid {
        /// serde_json's description, ending with the line and column.
        message: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
    },
}

/// Decodes a JSON request body (which must be one JSON object) as a `T`.
///
/// Meant for the request types of [`crate::api`], which reject unknown
/// fields; the error says which field or byte is wrong.
pub fn decode_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BodyError> {
    let text = std::str::from_utf8(bytes).map_err(|err| {
        let (line, column) = line_column(&bytes[..err.valid_up_to()]);
        BodyError::InvalidUtf8 { line, column }
    })?;
    match start(bytes) {
        Start::Empty => return Err(BodyError::Empty),
        Start::Other => return Err(BodyError::NotAnObject),
        Start::Object => {}
    }
    serde_json::from_str(text).map_err(|err| {
        let (message, line, column) = (err.to_string(), err.line(), err.column());
        match err.classify() {
            Category::Data => BodyError::Invalid {
                message,
                line,
                column,
            },
            Category::Syntax | Category::Eof | Category::Io => BodyError::Syntax {
                message,
                line,
                column,
            },
        }
    })
}

/// The 1-based line and byte column just after `prefix`.
fn line_column(prefix: &[u8]) -> (usize, usize) {
    let line = 1 + prefix.iter().filter(|&&b| b == b'\n').count();
    let line_start = prefix
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |newline| newline + 1);
    (line, prefix.len() - line_start + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{CreateSessionRequest, InputRequest, ResizeRequest};

    #[test]
    fn names_the_unknown_field() {
        let err = decode_body::<InputRequest>(br#"{"data": "x", "extra": 1}"#).unwrap_err();
        assert!(matches!(err, BodyError::Invalid { line: 1, .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("unknown field `extra`"), "{text}");
        assert!(text.contains("expected `data`"), "{text}");
    }

    #[test]
    fn names_the_wrong_type() {
        let err = decode_body::<ResizeRequest>(br#"{"cols": "80", "rows": 24}"#).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("invalid type: string \"80\", expected u32"),
            "{text}"
        );
        let err = decode_body::<ResizeRequest>(br#"{"cols": -3, "rows": 24}"#).unwrap_err();
        assert!(err.to_string().contains("-3"), "{err}");
        let err = decode_body::<InputRequest>(b"{}").unwrap_err();
        assert!(err.to_string().contains("missing field `data`"), "{err}");
    }

    #[test]
    fn invalid_json_has_a_position() {
        let err = decode_body::<InputRequest>(b"{\n  \"data\": \"x\",\n}").unwrap_err();
        assert!(matches!(err, BodyError::Syntax { line: 3, .. }), "{err:?}");
        assert!(err.to_string().contains("line 3"), "{err}");
        let err = decode_body::<InputRequest>(br#"{"data": "#).unwrap_err();
        assert!(matches!(err, BodyError::Syntax { .. }), "{err:?}");
        let err = decode_body::<InputRequest>(br#"{"data": "x"} {}"#).unwrap_err();
        assert!(err.to_string().contains("trailing characters"), "{err}");
    }

    #[test]
    fn invalid_utf8_has_a_position() {
        let err = decode_body::<InputRequest>(b"{\n\"data\": \"\xff\"}").unwrap_err();
        assert_eq!(
            err,
            BodyError::InvalidUtf8 {
                line: 2,
                column: 10
            }
        );
        assert!(err.to_string().contains("not valid UTF-8"), "{err}");
    }

    #[test]
    fn wants_an_object() {
        assert_eq!(
            decode_body::<CreateSessionRequest>(b"  \n").unwrap_err(),
            BodyError::Empty
        );
        assert_eq!(
            decode_body::<InputRequest>(b"").unwrap_err(),
            BodyError::Empty
        );
        // serde would take a struct as an array; the API does not.
        assert_eq!(
            decode_body::<InputRequest>(br#"["x"]"#).unwrap_err(),
            BodyError::NotAnObject
        );
        assert_eq!(
            decode_body::<InputRequest>(b"null").unwrap_err(),
            BodyError::NotAnObject
        );
    }
}
