//! Drive a ptyhub session from a program over plain HTTP: start a session
//! from a provider, type a prompt, wait for a pattern on the screen, read
//! the screen and the raw output, end the session.
//!
//! ```text
//! PTYHUB_URL=http://127.0.0.1:7681 PTYHUB_TOKEN=... \
//!   cargo run -p ptyhub --example drive_a_session -- [PROVIDER [PROMPT [PATTERN]]]
//! ```
//!
//! With no arguments it runs the `shell` provider, types
//! `echo the answer is $((6*7))` and waits for `^the answer is \d+$`. With an
//! AI CLI, for example `claude "explain this repository" "^⏺"`, the pattern
//! is what the CLI draws when it answers.

use std::time::Duration;

use serde_json::{Value, json};

/// What one run saw.
#[derive(Debug)]
pub struct Report {
    /// The session's id.
    pub id: String,
    /// The screen line that matched the pattern, and its row.
    pub line: String,
    /// Its row (from 0).
    pub row: u64,
    /// The screen's text lines when the pattern matched.
    pub screen: Vec<String>,
    /// Every output byte so far (as UTF-8 text).
    pub output: String,
    /// The session's status as the end request answered it (`terminated`
    /// follows within the terminate grace).
    pub status: String,
}

/// A small client of ptyhub's HTTP API.
pub struct Api {
    url: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    /// A client of the server at `url` (`http://127.0.0.1:7681`).
    pub fn new(url: &str, token: &str) -> Api {
        Api {
            url: url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            http: reqwest::Client::new(),
        }
    }

    /// One call: the JSON answer, or the API's error as a sentence.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            // /wait holds the request up to its own timeout.
            .timeout(Duration::from_secs(90));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let status = resp.status();
        let value: Value = resp
            .json()
            .await
            .map_err(|e| format!("{method} {path}: {status}: {e}"))?;
        if !status.is_success() {
            let error = &value["error"];
            return Err(format!(
                "{method} {path}: {status} {}: {}",
                error["code"].as_str().unwrap_or("?"),
                error["message"].as_str().unwrap_or("?")
            ));
        }
        Ok(value)
    }

    /// Starts `provider`, types `prompt` and Enter, waits until the screen
    /// matches `pattern`, reads the screen and the output, ends the session.
    pub async fn drive(
        &self,
        provider: &str,
        prompt: &str,
        pattern: &str,
    ) -> Result<Report, String> {
        use reqwest::Method;
        let session = self
            .call(
                Method::POST,
                "/api/sessions",
                Some(json!({"provider": provider, "name": "example", "cols": 120, "rows": 40})),
            )
            .await?;
        let id = session["id"].as_str().ok_or("no session id")?.to_owned();
        let result = self.steps(&id, prompt, pattern).await;
        // End it whatever happened.
        let ended = self
            .call(Method::DELETE, &format!("/api/sessions/{id}"), None)
            .await;
        let (line, row, screen, output) = result?;
        let status = ended?["status"].as_str().unwrap_or("?").to_owned();
        Ok(Report {
            id,
            line,
            row,
            screen,
            output,
            status,
        })
    }

    async fn steps(
        &self,
        id: &str,
        prompt: &str,
        pattern: &str,
    ) -> Result<(String, u64, Vec<String>, String), String> {
        use reqwest::Method;
        // A full-screen CLI takes a moment to draw its prompt: type once it
        // has drawn something.
        self.call(
            Method::POST,
            &format!("/api/sessions/{id}/wait"),
            Some(json!({"pattern": r"\S", "timeout_ms": 30000})),
        )
        .await?;
        self.call(
            Method::POST,
            &format!("/api/sessions/{id}/input"),
            Some(json!({"data": format!("{prompt}\r")})),
        )
        .await?;
        let matched = self
            .call(
                Method::POST,
                &format!("/api/sessions/{id}/wait"),
                Some(json!({"pattern": pattern, "timeout_ms": 60000})),
            )
            .await?;
        let screen = self
            .call(Method::GET, &format!("/api/sessions/{id}/screen"), None)
            .await?;
        let output = self
            .call(
                Method::GET,
                &format!("/api/sessions/{id}/output?since=0"),
                None,
            )
            .await?;
        let lines = screen["lines"]
            .as_array()
            .map(|l| {
                l.iter()
                    .filter_map(|l| l.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Ok((
            matched["line"].as_str().unwrap_or_default().to_owned(),
            matched["row"].as_u64().unwrap_or_default(),
            lines,
            output["data"].as_str().unwrap_or_default().to_owned(),
        ))
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let url = std::env::var("PTYHUB_URL").unwrap_or_else(|_| "http://127.0.0.1:7681".into());
    let token = std::env::var("PTYHUB_TOKEN").unwrap_or_default();
    let mut args = std::env::args().skip(1);
    let provider = args.next().unwrap_or_else(|| "shell".into());
    let prompt = args
        .next()
        .unwrap_or_else(|| "echo the answer is $((6*7))".into());
    let pattern = args.next().unwrap_or_else(|| r"^the answer is \d+$".into());
    match Api::new(&url, &token)
        .drive(&provider, &prompt, &pattern)
        .await
    {
        Ok(report) => {
            println!(
                "session {} matched on row {}: {}",
                report.id, report.row, report.line
            );
            println!("the screen has {} lines", report.screen.len());
            println!("{} bytes of output so far", report.output.len());
            println!("ended: status {}", report.status);
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}
