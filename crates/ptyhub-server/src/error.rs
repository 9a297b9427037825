//! The API's errors and the one place that maps them to HTTP: [`ApiError`]
//! carries a class (docs/http-api.md), a snake_case code and a human message;
//! [`ApiError::status`] picks the status, [`ApiError::body`] the
//! `{"error": {"code", "message"}}` body, and [`recover`] turns warp's own
//! rejections into the same shape.
//!
//! Messages never contain the token: they are written here or by the
//! handlers from request fields, never from the server's secrets.

use std::borrow::Cow;
use std::convert::Infallible;

use ptyhub_protocol::api::ErrorBody;
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;
use warp::{Rejection, Reply};

/// A snake_case error code: a literal, or built at run time.
pub type Code = Cow<'static, str>;

/// Every error an API request can end with, one variant per class of
/// docs/http-api.md; the variant decides the status, `code` the detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed or a value is out of range
    /// (`bad_request`, `unknown_provider`, `invalid_size`, ...).
    #[error("{message}")]
    BadRequest {
        /// The snake_case code.
        code: Code,
        /// The human sentence.
        message: String,
    },
    /// 401: no token, or a wrong one.
    #[error("a valid token is required")]
    Unauthorized,
    /// 403: a forbidden origin or host, a read-only client, or a request
    /// refused by policy (`forbidden_origin`, `forbidden_host`,
    /// `read_only`, `arbitrary_command`, ...).
    #[error("{message}")]
    Forbidden {
        /// The snake_case code.
        code: Code,
        /// The human sentence.
        message: String,
    },
    /// 404: no such session (or route).
    #[error("{message}")]
    NotFound {
        /// The human sentence.
        message: String,
    },
    /// 405: the route exists, the method does not.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 408: `/wait` timed out before the screen matched.
    #[error("{message}")]
    Timeout {
        /// The human sentence.
        message: String,
    },
    /// 409: the session is in the wrong state (`not_running`, ...).
    #[error("{message}")]
    Conflict {
        /// The snake_case code.
        code: Code,
        /// The human sentence.
        message: String,
    },
    /// 413: a body or message over `max_message_bytes`.
    #[error("{message}")]
    PayloadTooLarge {
        /// The human sentence.
        message: String,
    },
    /// 415: a body of a content type the route does not take.
    #[error("unsupported content type")]
    UnsupportedMediaType,
    /// 429: a limit was reached (`too_many_sessions`, `too_many_clients`).
    #[error("{message}")]
    TooManyRequests {
        /// The snake_case code.
        code: Code,
        /// The human sentence.
        message: String,
    },
    /// 503: the server is shutting down.
    #[error("the server is shutting down")]
    ShuttingDown,
    /// 503: a resource of the server's own is exhausted for now
    /// (`out_of_descriptors`).
    #[error("{message}")]
    Unavailable {
        /// The snake_case code.
        code: Code,
        /// The human sentence.
        message: String,
    },
    /// 500: a bug. `detail` goes to the log only; the client gets a
    /// generic message.
    #[error("internal error: {detail}")]
    Internal {
        /// What went wrong, for the log.
        detail: String,
    },
}

impl warp::reject::Reject for ApiError {}

impl ApiError {
    /// A 400 with this code and message.
    pub fn bad_request(code: impl Into<Code>, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code: code.into(),
            message: message.into(),
        }
    }

    /// A 403 with this code and message.
    pub fn forbidden(code: impl Into<Code>, message: impl Into<String>) -> Self {
        ApiError::Forbidden {
            code: code.into(),
            message: message.into(),
        }
    }

    /// A 404 with this message.
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::NotFound {
            message: message.into(),
        }
    }

    /// A 409 with this code and message.
    pub fn conflict(code: impl Into<Code>, message: impl Into<String>) -> Self {
        ApiError::Conflict {
            code: code.into(),
            message: message.into(),
        }
    }

    /// A 429 with this code and message.
    pub fn too_many(code: impl Into<Code>, message: impl Into<String>) -> Self {
        ApiError::TooManyRequests {
            code: code.into(),
            message: message.into(),
        }
    }

    /// A 503 with this code and message.
    pub fn unavailable(code: impl Into<Code>, message: impl Into<String>) -> Self {
        ApiError::Unavailable {
            code: code.into(),
            message: message.into(),
        }
    }

    /// A 500; `detail` is logged, not sent.
    pub fn internal(detail: impl Into<String>) -> Self {
        ApiError::Internal {
            detail: detail.into(),
        }
    }

    /// The HTTP status: the one mapping from error class to status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Timeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::ShuttingDown | ApiError::Unavailable { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The snake_case code of the body.
    pub fn code(&self) -> &str {
        match self {
            ApiError::BadRequest { code, .. }
            | ApiError::Forbidden { code, .. }
            | ApiError::Conflict { code, .. }
            | ApiError::TooManyRequests { code, .. }
            | ApiError::Unavailable { code, .. } => code,
            ApiError::Unauthorized => "unauthorized",
            ApiError::NotFound { .. } => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Timeout { .. } => "timeout",
            ApiError::PayloadTooLarge { .. } => "too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::ShuttingDown => "shutting_down",
            ApiError::Internal { .. } => "internal",
        }
    }

    /// The human message of the body.
    pub fn message(&self) -> String {
        match self {
            ApiError::Unauthorized => {
                "A valid token is required: send it as \"Authorization: Bearer <token>\" or \"?token=<token>\" \
                 (the server printed it at start, and wrote it to its runtime file)."
                    .to_owned()
            }
            ApiError::MethodNotAllowed => "This method is not allowed here.".to_owned(),
            ApiError::UnsupportedMediaType => {
                "This content type is not supported here: send JSON (application/json).".to_owned()
            }
            ApiError::ShuttingDown => "The server is shutting down.".to_owned(),
            ApiError::Internal { .. } => "An internal error occurred; the server log has the details.".to_owned(),
            ApiError::BadRequest { message, .. }
            | ApiError::Forbidden { message, .. }
            | ApiError::NotFound { message }
            | ApiError::Timeout { message }
            | ApiError::Conflict { message, .. }
            | ApiError::PayloadTooLarge { message }
            | ApiError::TooManyRequests { message, .. }
            | ApiError::Unavailable { message, .. } => message.clone(),
        }
    }

    /// The JSON body: `{"error": {"code": ..., "message": ...}}`.
    pub fn body(&self) -> ErrorBody {
        ErrorBody::new(self.code(), self.message())
    }
}

impl Reply for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal { detail } = &self {
            tracing::error!(%detail, "internal error answered with 500");
        }
        let status = self.status();
        let body = serde_json::to_vec(&self.body()).unwrap_or_else(|_| {
            // ErrorBody is two strings: this cannot fail, but a reply must
            // not panic.
            br#"{"error":{"code":"internal","message":"internal error"}}"#.to_vec()
        });
        let mut response = Response::new(body.into());
        *response.status_mut() = status;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The [`ApiError`] a warp rejection stands for: ours as they are, warp's
/// own mapped to their class, anything else a 500 (logged).
pub fn rejection_to_error(rejection: &Rejection) -> ApiError {
    if let Some(err) = rejection.find::<ApiError>() {
        return err.clone();
    }
    if rejection.is_not_found() {
        return ApiError::not_found("There is nothing at this path.");
    }
    // Routes are tried in turn, so a rejection carries what every route
    // said: the specific reasons (a body too large, a bad query) come
    // before "method not allowed", which any other route of the path adds.
    if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
        return ApiError::PayloadTooLarge {
            message: "The request body is too large.".to_owned(),
        };
    }
    if rejection.find::<warp::reject::LengthRequired>().is_some() {
        return ApiError::bad_request(
            "length_required",
            "The request needs a Content-Length header.",
        );
    }
    if rejection
        .find::<warp::reject::UnsupportedMediaType>()
        .is_some()
    {
        return ApiError::UnsupportedMediaType;
    }
    if let Some(err) = rejection.find::<warp::filters::body::BodyDeserializeError>() {
        return ApiError::bad_request(
            "bad_body",
            format!("The request body is not valid: {}", body_cause(err)),
        );
    }
    if rejection.find::<warp::reject::InvalidQuery>().is_some() {
        return ApiError::bad_request("bad_query", "The query string is not valid.");
    }
    if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        return ApiError::MethodNotAllowed;
    }
    if let Some(err) = rejection.find::<warp::reject::MissingHeader>() {
        return ApiError::bad_request(
            "bad_request",
            format!("The header \"{}\" is missing.", err.name()),
        );
    }
    if let Some(err) = rejection.find::<warp::reject::InvalidHeader>() {
        return ApiError::bad_request(
            "bad_request",
            format!("The header \"{}\" is not valid.", err.name()),
        );
    }
    if let Some(err) = rejection.find::<warp::reject::MissingCookie>() {
        return ApiError::bad_request(
            "bad_request",
            format!("The cookie \"{}\" is missing.", err.name()),
        );
    }
    if rejection
        .find::<warp::ws::MissingConnectionUpgrade>()
        .is_some()
    {
        return ApiError::bad_request("not_websocket", "This path takes a WebSocket upgrade only.");
    }
    ApiError::internal(format!("unhandled rejection: {rejection:?}"))
}

/// The serde message inside warp's body error, without warp's prefix.
fn body_cause(err: &warp::filters::body::BodyDeserializeError) -> String {
    match std::error::Error::source(err) {
        Some(cause) => cause.to_string(),
        None => err.to_string(),
    }
}

/// For `.recover(recover)` at the top of the routes: every rejection
/// becomes the JSON error body with its status.
pub async fn recover(rejection: Rejection) -> Result<Response, Infallible> {
    Ok(rejection_to_error(&rejection).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use warp::Filter;

    #[test]
    fn every_class_has_its_status_and_code() {
        let cases: Vec<(ApiError, u16, &str)> = vec![
            (
                ApiError::bad_request("unknown_provider", "x"),
                400,
                "unknown_provider",
            ),
            (ApiError::Unauthorized, 401, "unauthorized"),
            (
                ApiError::forbidden("forbidden_origin", "x"),
                403,
                "forbidden_origin",
            ),
            (ApiError::not_found("x"), 404, "not_found"),
            (ApiError::MethodNotAllowed, 405, "method_not_allowed"),
            (
                ApiError::Timeout {
                    message: "x".into(),
                },
                408,
                "timeout",
            ),
            (ApiError::conflict("not_running", "x"), 409, "not_running"),
            (
                ApiError::PayloadTooLarge {
                    message: "x".into(),
                },
                413,
                "too_large",
            ),
            (
                ApiError::UnsupportedMediaType,
                415,
                "unsupported_media_type",
            ),
            (
                ApiError::too_many("too_many_sessions", "x"),
                429,
                "too_many_sessions",
            ),
            (ApiError::ShuttingDown, 503, "shutting_down"),
            (ApiError::internal("boom"), 500, "internal"),
        ];
        for (err, status, code) in cases {
            assert_eq!(err.status().as_u16(), status, "{err:?}");
            assert_eq!(err.code(), code);
            assert_eq!(err.body().error.code, code);
            assert!(!err.message().is_empty());
        }
    }

    #[test]
    fn internal_details_stay_in_the_log() {
        let err = ApiError::internal("lock poisoned at registry.rs:42");
        assert!(!err.message().contains("registry.rs"));
        assert!(err.to_string().contains("registry.rs"));
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        cols: u16,
    }

    fn routes() -> impl Filter<Extract = (Response,), Error = Infallible> + Clone {
        let json = warp::path!("json")
            .and(warp::post())
            .and(warp::body::content_length_limit(64))
            .and(warp::body::json::<Body>())
            .map(|_| warp::reply().into_response());
        let ours = warp::path!("ours").and(warp::get()).and_then(|| async {
            Err::<Response, _>(warp::reject::custom(ApiError::conflict(
                "not_running",
                "It ended.",
            )))
        });
        let ws = warp::path!("ws")
            .and(warp::ws())
            .map(|ws: warp::ws::Ws| ws.on_upgrade(|_| async {}).into_response());
        json.or(ours)
            .unify()
            .or(ws)
            .unify()
            .recover(recover)
            .unify()
    }

    async fn call(request: warp::test::RequestBuilder) -> (u16, serde_json::Value, String) {
        let response = request.reply(&routes()).await;
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = serde_json::from_slice(response.body()).unwrap_or(serde_json::Value::Null);
        (response.status().as_u16(), body, content_type)
    }

    #[tokio::test]
    async fn recover_gives_the_json_shape_for_every_rejection() {
        let (status, body, content_type) = call(warp::test::request().path("/nowhere")).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (404, Some("not_found"))
        );
        assert_eq!(content_type, "application/json");

        let (status, body, _) = call(warp::test::request().method("GET").path("/json")).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (405, Some("method_not_allowed"))
        );

        let big = warp::test::request()
            .method("POST")
            .path("/json")
            .body(vec![b' '; 100]);
        let (status, body, _) = call(big).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (413, Some("too_large"))
        );

        let unknown_field = warp::test::request()
            .method("POST")
            .path("/json")
            .header("content-type", "application/json")
            .body(r#"{"cols": 80, "evil": 1}"#);
        let (status, body, _) = call(unknown_field).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("bad_body"))
        );
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("unknown field `evil`"), "{message}");

        let not_json = warp::test::request()
            .method("POST")
            .path("/json")
            .header("content-type", "text/plain")
            .body(r#"{"cols": 80}"#);
        let (status, _, _) = call(not_json).await;
        assert_eq!(status, 415);

        let (status, body, _) = call(warp::test::request().path("/ours")).await;
        assert_eq!(status, 409);
        assert_eq!(body["error"]["code"], "not_running");
        assert_eq!(body["error"]["message"], "It ended.");

        let (status, body, _) = call(warp::test::request().path("/ws")).await;
        assert_eq!(status, 400, "{body}");
    }

    #[test]
    fn unauthorized_asks_for_a_bearer_token() {
        let response = ApiError::Unauthorized.into_response();
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
    }
}
