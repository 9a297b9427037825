//! The dashboard's live screen previews against the real binary:
//! `GET /api/events?preview_lines=N` sends `session_preview` events with a
//! session's last lines and their colours when its screen changes, and
//! nothing while it does not; a stream that did not ask gets none.

mod common;

use std::time::Duration;

use common::{Events, TestServer, preview_texts};
use serde_json::{Value, json};

#[tokio::test]
async fn previews_follow_the_screen_in_colour_and_only_when_asked() {
    let server = TestServer::start();
    let mut plain = Events::open(&server).await;
    let s = server
        .create(&[
            "bash",
            "-c",
            r"printf 'one\n\033[1;31mred\033[0m <b>two</b>\n'; read x; printf 'after\n'; exec sleep 60",
        ])
        .await;
    let id = s["id"].as_str().unwrap().to_owned();
    let mut previews = Events::open_at(&server, "/api/events?preview_lines=2").await;
    let is_ours = |p: &Value, last: &str| {
        p["id"] == id.as_str() && preview_texts(p).last().is_some_and(|l| l == last)
    };
    let first = previews
        .until("session_preview", Duration::from_secs(10), |p| {
            is_ours(p, "red <b>two</b>")
        })
        .await;
    assert_eq!(preview_texts(&first), ["one", "red <b>two</b>"], "{first}");
    let red = &first["lines"][1][0];
    assert_eq!(
        (
            red["text"].as_str(),
            red["fg"].as_u64(),
            red["bold"].as_bool()
        ),
        (Some("red"), Some(1), Some(true)),
        "{first}"
    );
    assert_eq!(first["lines"][1][1], json!({"text": " <b>two</b>"}));

    server
        .call(&format!("/api/sessions/{id}/input"), json!({"data": "\r"}))
        .await;
    let next = previews
        .until("session_preview", Duration::from_secs(10), |p| {
            is_ours(p, "after")
        })
        .await;
    // The last 2 lines are the empty line the Enter's echo made and
    // "after": a window's leading blank lines are left out.
    assert_eq!(preview_texts(&next), ["after"], "{next}");
    // The screen no longer changes: no more previews of it.
    let later = previews.during(Duration::from_millis(2500)).await;
    assert!(
        !later
            .iter()
            .any(|(name, data)| name == "session_preview" && data["id"] == id.as_str()),
        "{later:?}"
    );
    // The stream that did not ask has had the other events, no preview.
    let seen = plain.during(Duration::from_millis(300)).await;
    assert!(
        seen.iter().any(|(name, _)| name == "session_created"),
        "{seen:?}"
    );
    assert!(
        !seen.iter().any(|(name, _)| name == "session_preview"),
        "{seen:?}"
    );
    // Out of range.
    let r = server
        .get("/api/events?preview_lines=99")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}
