//! [`Api`]: the HTTP calls of the client commands, with the server's
//! answers mapped to [`Error`]s that say what to do.

use std::time::Duration;

use ptyhub_protocol::api::{CreateSessionRequest, ErrorBody, SessionInfo, SessionList};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;

use super::connect;
use super::endpoint::{Endpoint, Target};
use super::error::{Error, Result};

/// How long a connection may take: the server is usually local.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one request may take (none of the calls here waits long).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// An HTTP client for one server.
pub struct Api {
    http: reqwest::Client,
    endpoint: Endpoint,
}

/// A decoded answer and its JSON text (printed as is by `--json`).
pub struct Answer<T> {
    /// The decoded body.
    pub value: T,
    /// The body as the server sent it.
    pub text: String,
}

impl Api {
    /// A client for `endpoint`.
    pub fn new(endpoint: Endpoint) -> Result<Api> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT);
        match endpoint.target() {
            Target::Unix { socket, .. } => builder = builder.unix_socket(socket),
            Target::Tcp { tls: true, .. } => {
                // The same roots as the WebSocket's (see `connect`).
                let config = connect::client_config(endpoint.ca.as_deref())?;
                builder = builder.use_preconfigured_tls(config);
            }
            Target::Tcp { tls: false, .. } => {}
        }
        let http = builder
            .build()
            .map_err(|e| Error::other(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Api { http, endpoint })
    }

    /// The server and token in use.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// `GET /api/sessions`.
    pub async fn list(&self) -> Result<Answer<Vec<SessionInfo>>> {
        let answer: Answer<SessionList> =
            self.json(self.http.get(self.url("/api/sessions"))).await?;
        Ok(Answer {
            value: answer.value.sessions,
            text: answer.text,
        })
    }

    /// `POST /api/sessions`.
    pub async fn create(&self, req: &CreateSessionRequest) -> Result<Answer<SessionInfo>> {
        self.json(self.http.post(self.url("/api/sessions")).json(req))
            .await
    }

    /// `DELETE /api/sessions/{id}`.
    pub async fn delete(&self, id: &str) -> Result<Answer<SessionInfo>> {
        self.json(self.http.delete(self.url(&format!("/api/sessions/{id}"))))
            .await
    }

    /// `POST /api/sessions/{id}/input` with the bytes as they are.
    pub async fn input(&self, id: &str, bytes: Vec<u8>) -> Result<()> {
        let req = self
            .http
            .post(self.url(&format!("/api/sessions/{id}/input")))
            .header("content-type", "application/octet-stream")
            .body(bytes);
        self.json::<serde_json::Value>(req).await.map(|_| ())
    }

    /// `GET /api/sessions/{id}/screen`, as text or (`ansi`) escape codes.
    pub async fn screen(
        &self,
        id: &str,
        ansi: bool,
    ) -> Result<Answer<ptyhub_protocol::api::ScreenResponse>> {
        let format = if ansi { "ansi" } else { "text" };
        let url = self.url(&format!("/api/sessions/{id}/screen?format={format}"));
        self.json(self.http.get(url)).await
    }

    /// `POST path` with a JSON body, waiting at most `timeout`.
    pub async fn post_json<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
        timeout: Duration,
    ) -> Result<Answer<T>> {
        let req = self.http.post(self.url(path)).json(body).timeout(timeout);
        self.json(req).await
    }

    /// `GET /api/recordings`.
    pub async fn recordings(&self) -> Result<Answer<ptyhub_protocol::api::RecordingList>> {
        self.json(self.http.get(self.url("/api/recordings"))).await
    }

    /// `GET /api/recordings/{id}`: the asciicast file.
    pub async fn recording(&self, id: &str) -> Result<Vec<u8>> {
        let url = self.url(&format!("/api/recordings/{id}"));
        let response = self.send(self.http.get(url)).await?;
        let bytes = response.bytes().await.map_err(|e| self.lost(&e))?;
        Ok(bytes.to_vec())
    }

    fn url(&self, path: &str) -> String {
        self.endpoint.http(path)
    }

    /// Sends `req` with the token and decodes a successful JSON answer.
    async fn json<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<Answer<T>> {
        let response = self.send(req).await?;
        let text = response.text().await.map_err(|e| self.lost(&e))?;
        let value = serde_json::from_str(&text).map_err(|e| {
            Error::other(format!(
                "the server at {} sent an answer this client does not understand: {e}",
                self.endpoint.url
            ))
        })?;
        Ok(Answer { value, text })
    }

    /// Sends `req` with the token; an error status becomes an [`Error`].
    async fn send(&self, req: RequestBuilder) -> Result<Response> {
        let req = match &self.endpoint.token {
            Some(token) => req.bearer_auth(token),
            None => req,
        };
        let response = req.send().await.map_err(|e| self.transport(&e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().await.unwrap_or_default();
        Err(status_error(&self.endpoint, status.as_u16(), &text))
    }

    /// A request that did not get an answer.
    fn transport(&self, e: &reqwest::Error) -> Error {
        if let Some(reason) = connect::tls_failure(e) {
            Error::Untrusted {
                url: self.endpoint.url.clone(),
                reason,
            }
        } else if e.is_connect() {
            Error::NoServer {
                url: self.endpoint.url.clone(),
                reason: root_cause(e),
            }
        } else {
            self.lost(e)
        }
    }

    fn lost(&self, e: &reqwest::Error) -> Error {
        Error::ConnectionLost {
            url: self.endpoint.url.clone(),
            reason: root_cause(e),
        }
    }
}

/// The [`Error`] for an error status (HTTP or a refused WebSocket upgrade)
/// with the body `text`.
pub fn status_error(endpoint: &Endpoint, status: u16, text: &str) -> Error {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status == StatusCode::UNAUTHORIZED {
        return Error::BadToken {
            url: endpoint.url.clone(),
            had_token: endpoint.token.is_some(),
        };
    }
    match serde_json::from_str::<ErrorBody>(text) {
        Ok(body) => Error::Api {
            status: status.as_u16(),
            code: body.error.code,
            message: body.error.message,
        },
        Err(_) => Error::other(format!(
            "the server at {} answered {status} (is it a ptyhub server?)",
            endpoint.url
        )),
    }
}

/// The innermost cause of an error, such as "Connection refused (os error
/// 111)".
pub fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
