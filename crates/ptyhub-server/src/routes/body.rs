//! Request bodies: the one reader of every JSON route's body and the hook
//! route's, with its size limit, its time limit, and the drain of a refused
//! body.

use std::pin::Pin;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use futures::StreamExt;
use warp::http::{HeaderMap, header};
use warp::{Filter, Rejection};

use crate::error::ApiError;

/// How long a request's body may take to arrive, once its head has.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// The most of a refused body read and dropped before the answer. A client
/// still writing a body the server will not read gets a broken pipe, often
/// before it reads the answer (hyper's client does); up to this much, the
/// body is read to its end first so that the client sees the answer. Past
/// it, the answer goes at once (and the connection is not kept).
const DRAIN_BYTES: u64 = 8 << 20;

/// How long the drain of a refused body waits for its next piece: a client
/// that sent a head announcing a large body and waits for the answer before
/// writing it gets the answer after this, not after [`BODY_TIMEOUT`].
const DRAIN_IDLE: Duration = Duration::from_secs(1);

/// The request body, at most `limit` bytes (413 past it), as [`read_body`]
/// reads it.
pub(super) fn body(limit: usize) -> impl Filter<Extract = (Bytes,), Error = Rejection> + Clone {
    warp::header::headers_cloned()
        .and(warp::body::stream())
        .and_then(move |headers: HeaderMap, stream| async move {
            read_body(&headers, stream, limit, || too_large(limit))
                .await
                .map_err(warp::reject::custom)
        })
}

fn too_large(limit: usize) -> ApiError {
    ApiError::PayloadTooLarge {
        message: format!("The request body is larger than {limit} bytes."),
    }
}

/// Reads a request body of at most `limit` bytes, with or without
/// `Content-Length` (chunked bodies are read too), within [`BODY_TIMEOUT`]
/// (408 past it).
///
/// A body over the limit, by its `Content-Length` before reading or while
/// reading, is answered with `refused()`, once the rest of it (up to
/// [`DRAIN_BYTES`], for as long as it keeps coming within the time limit)
/// has been read and dropped; a client that asked for `100-continue` is
/// answered at once (it sends nothing until told to).
pub(crate) async fn read_body<S, B>(
    headers: &HeaderMap,
    stream: S,
    limit: usize,
    refused: impl FnOnce() -> ApiError,
) -> Result<Bytes, ApiError>
where
    S: futures::Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let deadline = tokio::time::Instant::now() + BODY_TIMEOUT;
    let mut stream = std::pin::pin!(stream);
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // What is left to drain once the body is refused.
    let left = match length.filter(|&n| n > limit as u64) {
        Some(n) => n,
        None => {
            match tokio::time::timeout_at(deadline, read_to_limit(stream.as_mut(), limit)).await {
                Ok(Ok(Some(body))) => return Ok(body),
                Ok(Ok(None)) => DRAIN_BYTES,
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    return Err(ApiError::Timeout {
                        message: format!(
                            "The request body did not arrive within {} s.",
                            BODY_TIMEOUT.as_secs()
                        ),
                    });
                }
            }
        }
    };
    let expects_continue = headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    if left <= DRAIN_BYTES && !expects_continue {
        // Cut short by the time limit, it is still this answer (not a 408).
        let _ = tokio::time::timeout_at(deadline, drain(stream, left)).await;
    }
    Err(refused())
}

/// Reads `stream` to its end (`Some`), or up to the first piece that would
/// take it past `limit` (`None`).
async fn read_to_limit<S, B>(
    mut stream: Pin<&mut S>,
    limit: usize,
) -> Result<Option<Bytes>, ApiError>
where
    S: futures::Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let mut body = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let mut chunk = chunk.map_err(|e| {
            ApiError::bad_request(
                "bad_body",
                format!("The request body could not be read: {e}"),
            )
        })?;
        if body.len() + chunk.remaining() > limit {
            return Ok(None);
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            let n = part.len();
            body.extend_from_slice(part);
            chunk.advance(n);
        }
    }
    Ok(Some(body.freeze()))
}

/// Reads and drops what is left of `stream`, up to a little past `budget`
/// bytes, until it ends, fails or pauses for [`DRAIN_IDLE`].
async fn drain<S, B>(mut stream: Pin<&mut S>, budget: u64)
where
    S: futures::Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let mut seen = 0u64;
    while seen <= budget {
        match tokio::time::timeout(DRAIN_IDLE, stream.next()).await {
            Ok(Some(Ok(mut chunk))) => {
                let n = chunk.remaining();
                seen += n as u64;
                chunk.advance(n);
            }
            _ => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(*name, value.parse().unwrap());
        }
        h
    }

    fn chunks(n: usize, size: usize) -> impl futures::Stream<Item = Result<Bytes, warp::Error>> {
        futures::stream::iter((0..n).map(move |_| Ok(Bytes::from(vec![b'x'; size]))))
    }

    fn refused() -> ApiError {
        ApiError::bad_request("refused", "refused")
    }

    #[tokio::test]
    async fn a_body_within_the_limit_is_read_whole() {
        let body = read_body(&headers(&[]), chunks(4, 10), 40, refused).await;
        assert_eq!(body.unwrap().len(), 40);
    }

    #[tokio::test]
    async fn a_refused_body_is_drained_unless_too_large_or_waiting_for_100_continue() {
        // (the request's head, how many of its 30 pieces are left unread)
        let cases = [
            // Past the limit, while reading or by its length: the rest is read.
            (headers(&[]), 0),
            (headers(&[("content-length", "300")]), 0),
            // Announced past what is drained: nothing more is read.
            (headers(&[("content-length", "9999999999")]), 30),
            // The client sends nothing until told to.
            (
                headers(&[("content-length", "300"), ("expect", "100-continue")]),
                30,
            ),
        ];
        for (head, left) in cases {
            let mut stream = chunks(30, 10);
            let read = read_body(&head, stream.by_ref(), 40, refused).await;
            assert!(matches!(read, Err(ApiError::BadRequest { .. })), "{head:?}");
            assert_eq!(stream.count().await, left, "{head:?}");
        }
    }

    #[tokio::test]
    async fn a_refused_body_that_does_not_come_is_answered_after_a_pause() {
        let started = tokio::time::Instant::now();
        let read = read_body(
            &headers(&[("content-length", "300")]),
            futures::stream::pending::<Result<Bytes, warp::Error>>(),
            40,
            refused,
        )
        .await;
        assert!(matches!(read, Err(ApiError::BadRequest { .. })));
        assert!(started.elapsed() < BODY_TIMEOUT, "{:?}", started.elapsed());
    }
}
