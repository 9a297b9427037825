//! A reader of `GET /api/events` (Server-Sent Events).

use std::time::Duration;

use serde_json::Value;

use super::TestServer;

/// The events stream of a server, read event by event.
pub struct Events {
    response: reqwest::Response,
    buffer: String,
}

/// A `session_preview`'s lines as plain text.
pub fn preview_texts(preview: &Value) -> Vec<String> {
    preview["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| {
            line.as_array()
                .unwrap()
                .iter()
                .map(|run| run["text"].as_str().unwrap())
                .collect()
        })
        .collect()
}

impl Events {
    /// Opens the stream; events from now on.
    pub async fn open(server: &TestServer) -> Events {
        Events::open_at(server, "/api/events").await
    }

    /// Opens the stream at `path` (`/api/events?...`).
    pub async fn open_at(server: &TestServer, path: &str) -> Events {
        let response = server.get(path).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Events {
            response,
            buffer: String::new(),
        }
    }

    /// The next `(event, data)`; `None` at the end of the stream.
    async fn next(&mut self, deadline: tokio::time::Instant) -> Option<(String, Value)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut name, mut data) = (String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if name.is_empty() {
                    continue; // a keep-alive comment
                }
                let data = serde_json::from_str(&data).expect("JSON data");
                return Some((name, data));
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .ok()?
                .expect("the events stream reads")?;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// Every event that comes within `period` (for absences: what did not
    /// come in that time).
    pub async fn during(&mut self, period: Duration) -> Vec<(String, Value)> {
        let deadline = tokio::time::Instant::now() + period;
        let mut seen = Vec::new();
        while let Some(event) = self.next(deadline).await {
            seen.push(event);
        }
        seen
    }

    /// Reads until an event `name` whose data `pred` accepts, within
    /// `within`; its data. Panics with the events seen otherwise.
    pub async fn until(
        &mut self,
        name: &str,
        within: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        let mut seen = Vec::new();
        while let Some((event, data)) = self.next(deadline).await {
            if event == name && pred(&data) {
                return data;
            }
            seen.push(format!("{event} {data}"));
        }
        panic!("no matching {name} within {within:?}; seen: {seen:#?}")
    }
}
