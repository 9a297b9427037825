//! The README's HTTP examples, run as written (with `curl`, as a reader
//! would) against the real server: what the README says works, works.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{TOKEN, TestServer};
use serde_json::Value;

/// The shell block that follows `marker` in README.md.
fn readme_block(marker: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
    let readme = std::fs::read_to_string(path).expect("README.md");
    let after = &readme[readme.find(marker).expect("the marker is in README.md")..];
    let start = after.find("```sh\n").expect("a shell block follows") + "```sh\n".len();
    let end = start + after[start..].find("```").expect("the block ends");
    after[start..end].to_owned()
}

/// The block's commands, a line ending in `\` joined with the next.
fn commands(block: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in block.lines() {
        match line.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(line);
                if !current.trim().is_empty() {
                    out.push(std::mem::take(&mut current));
                }
                current.clear();
            }
        }
    }
    out
}

#[tokio::test]
async fn the_quick_start_http_examples_work_as_written() {
    assert!(
        Command::new("curl").arg("--version").output().is_ok(),
        "curl is needed to run the README's examples (tests/run-all.sh installs it)"
    );
    let server = TestServer::start();
    let block = readme_block("The same sessions are reachable over HTTP");
    let mut script = String::from("set -eu\n");
    for command in commands(&block) {
        // The example's token and address are this server's; each answer on
        // a line of its own.
        let command = if command.starts_with("TOKEN=") {
            format!("TOKEN={TOKEN}")
        } else {
            command.replace("http://127.0.0.1:7681", &server.base) + "; echo"
        };
        script.push_str(&command);
        script.push('\n');
    }
    let out = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .arg("-c")
            .arg(&script)
            .output()
            .expect("run bash")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answers: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    assert_eq!(answers.len(), 5, "{answers:?}");
    for answer in &answers {
        assert!(answer.get("error").is_none(), "{answer}");
    }
    let [created, written, waited, screen, deleted] = &answers[..] else {
        unreachable!()
    };
    assert_eq!(created["name"], "demo");
    assert!(written["written"].as_u64().unwrap() > 0, "{written}");
    assert_eq!(waited["matched"], true, "{waited}");
    let lines = screen["lines"].as_array().unwrap();
    assert!(lines.iter().any(|l| l == "hello"), "{screen}");
    assert_eq!(deleted["id"], created["id"]);
    let id = created["id"].as_str().unwrap();
    server.wait_ended(id, Duration::from_secs(10)).await;
}
