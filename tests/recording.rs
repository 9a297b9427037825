//! Recording and replay against the real binary: the asciicast files as
//! Debian's `asciinema` plays them (its `cat`, in a real PTY, read through a
//! vt100 terminal, gives the session's last screen), a server killed with
//! SIGKILL in the middle of a flood, an unwritable directory and a full disk
//! (the session goes on), `record_input`, `record_max_bytes`, the routes
//! (also for sessions long forgotten, and DELETE) and the client commands
//! (`rec ls`, `rec get`, `play --speed` in a real PTY).

mod client_support;
mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use client_support::{Pty, client, run};
use common::{TempDir, TestServer, poll};
use serde_json::{Value, json};

const WITHIN: Duration = Duration::from_secs(20);

/// A server that records every session into `dir`, with `extra` config.
fn recording_server(dir: &Path, extra: &str) -> TestServer {
    TestServer::start_with(
        &format!(
            "record = true\nrecordings_dir = {:?}\n{extra}",
            dir.display()
        ),
        &[],
    )
}

/// A session running `bash -c script` on a server that records every
/// session into a new folder (`tag`), with `extra` config: the folder, the
/// server and the session object.
async fn recorded_bash(tag: &str, extra: &str, script: &str) -> (TempDir, TestServer, Value) {
    let dir = TempDir::new(tag);
    let server = recording_server(dir.dir(), extra);
    let s = server.create(&["bash", "-c", script]).await;
    (dir, server, s)
}

/// `asciinema` (Debian's package), or why the test cannot run.
fn asciinema() -> bool {
    let found = std::process::Command::new("asciinema")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "asciinema is not installed: apt-get install -y asciinema (tests/run-all.sh does)"
    );
    found
}

/// The recording file of session `id` in `dir`.
fn cast_path(dir: &Path, id: &str) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(&format!("-{id}.cast")))
        .unwrap_or_else(|| panic!("no recording of {id} in {}", dir.display()))
}

/// The lines of a recording: the header and the events, each checked to be
/// JSON (a line cut short at the very end is left out).
fn parse(text: &str) -> (Value, Vec<Value>) {
    let whole = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    let mut lines = whole.lines();
    let header: Value = serde_json::from_str(lines.next().expect("a header")).unwrap();
    let events = lines
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    (header, events)
}

fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e[1] == kind).collect()
}

/// A screen as comparable text: rows without trailing blanks, without the
/// blank rows at the bottom.
fn normalized(text: &str) -> Vec<String> {
    let mut rows: Vec<String> = text.lines().map(|l| l.trim_end().to_owned()).collect();
    while rows.last().is_some_and(String::is_empty) {
        rows.pop();
    }
    rows
}

/// Waits until the session's recording is in `state`; the session object.
async fn until_recording(server: &TestServer, id: &str, state: &str) -> Value {
    poll(&format!("recording of {id} {state}"), WITHIN, || async {
        let s = server.session(id).await;
        if s["recording"]["state"] == state {
            Ok(s)
        } else {
            Err(s["recording"].to_string())
        }
    })
    .await
}

/// Waits until the recording of session `id` in `dir` ends with its exit
/// marker (`exit:{code}`); the file's path and text.
async fn recorded_to_the_exit(dir: &Path, id: &str, code: i32) -> (PathBuf, String) {
    let path = cast_path(dir, id);
    let marker = format!("exit:{code}");
    let text = poll("the exit marker", WITHIN, || async {
        let text = std::fs::read_to_string(&path).unwrap();
        let (_, events) = parse(&text);
        let done = events
            .last()
            .is_some_and(|e| e[1] == "m" && e[2] == marker.as_str());
        if done { Ok(text) } else { Err(text) }
    })
    .await;
    (path, text)
}

#[tokio::test]
async fn asciinema_cat_of_a_recording_gives_the_session_s_last_screen() {
    asciinema();
    // Colours, scrolling, cursor moves, wide and multi-byte characters, a
    // character split over two writes, an invalid byte, a status line.
    let script = r#"
        for i in $(seq 1 40); do printf 'line %02d \033[3%dmcolour\033[0m\n' $i $((i % 8)); done
        printf 'h\303'; sleep 0.05; printf '\251llo w\303\266rld \342\202\254 \360\235\204\236 bad:\377\n'
        printf '\033[5;20Hplaced\033[24;1Hstatus line\033[10;1H'
        sleep 0.2
    "#;
    let (dir, server, s) = recorded_bash("rec-cat", "", script).await;
    let id = s["id"].as_str().unwrap();
    assert_eq!(s["recording"]["state"], "on", "{s}");
    let ended = server.wait_ended(id, WITHIN).await;
    assert_eq!(ended["exit"]["code"], 0);
    let screen = server.get_json(&format!("/api/sessions/{id}/screen")).await;
    let expected: Vec<String> = screen["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().trim_end().to_owned())
        .collect();
    let expected = normalized(&expected.join("\n"));
    assert!(
        expected.iter().any(|l| l.contains("héllo wörld €")),
        "{expected:#?}"
    );

    let (path, text) = recorded_to_the_exit(dir.dir(), id, 0).await;
    let (header, events) = parse(&text);
    assert_eq!(header["version"], 2);
    assert_eq!(
        (header["width"].as_u64(), header["height"].as_u64()),
        (Some(80), Some(24))
    );
    assert_eq!(header["env"]["TERM"], "xterm-256color");
    assert!(header["timestamp"].as_i64().unwrap() > 1_600_000_000);
    let last = events.last().unwrap();
    assert_eq!((&last[1], &last[2]), (&json!("m"), &json!("exit:0")));
    let times: Vec<f64> = events.iter().map(|e| e[0].as_f64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "times go forward");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);

    // Played by asciinema in a real terminal of the session's size.
    let mut pty = Pty::spawn(
        "exec asciinema cat \"$0\"",
        &[path.to_str().unwrap()],
        &[],
        80,
        24,
    );
    assert_eq!(pty.wait(), 0, "asciinema cat: {}", pty.output());
    let played = poll("asciinema's screen", WITHIN, || async {
        let seen = normalized(&pty.screen());
        if seen == expected {
            Ok(seen)
        } else {
            Err(format!("{seen:#?}"))
        }
    })
    .await;
    assert_eq!(played, expected);
}

#[tokio::test]
async fn size_changes_status_changes_and_the_exit_are_events() {
    let (dir, server, s) = recorded_bash(
        "rec-events",
        "idle_after = \"300ms\"\n",
        "echo ready; read x; sleep 0.6; echo got $x; exit 7",
    )
    .await;
    let id = s["id"].as_str().unwrap();
    server.wait_screen(id, "ready").await;
    poll("idle", WITHIN, || async {
        let s = server.session(id).await;
        if s["status"] == "idle" {
            Ok(())
        } else {
            Err(s["status"].to_string())
        }
    })
    .await;
    let r = server
        .call(
            &format!("/api/sessions/{id}/resize"),
            json!({"cols": 100, "rows": 30}),
        )
        .await;
    assert_eq!(r.status(), 200);
    server
        .call(
            &format!("/api/sessions/{id}/input"),
            json!({"data": "abc\n"}),
        )
        .await;
    server.wait_ended(id, WITHIN).await;
    let (_, text) = recorded_to_the_exit(dir.dir(), id, 7).await;
    let (_, events) = parse(&text);
    let resizes: Vec<&Value> = of_kind(&events, "r");
    assert_eq!(resizes.len(), 1, "{events:?}");
    assert_eq!(resizes[0][2], "100x30");
    let markers: Vec<&str> = of_kind(&events, "m")
        .iter()
        .map(|e| e[2].as_str().unwrap())
        .collect();
    assert!(markers.contains(&"status:idle"), "{markers:?}");
    assert!(markers.contains(&"status:active"), "{markers:?}");
    // No `record_input`: nothing typed is in the file.
    assert!(of_kind(&events, "i").is_empty());
}

#[tokio::test]
async fn record_input_writes_what_was_typed_only_when_asked() {
    for (record_input, expect_typed) in [(false, false), (true, true)] {
        let (dir, server, s) = recorded_bash(
            "rec-input",
            &format!("record_input = {record_input}\n"),
            "echo 'password:'; read -s p; echo ok",
        )
        .await;
        let id = s["id"].as_str().unwrap();
        server.wait_screen(id, "password:").await;
        server
            .call(
                &format!("/api/sessions/{id}/input"),
                json!({"data": "hunter2-secret\r"}),
            )
            .await;
        server.wait_ended(id, WITHIN).await;
        let (_, text) = recorded_to_the_exit(dir.dir(), id, 0).await;
        let (_, events) = parse(&text);
        let typed: Vec<&Value> = of_kind(&events, "i");
        assert_eq!(text.contains("hunter2-secret"), expect_typed, "{text}");
        assert_eq!(typed.len(), usize::from(expect_typed), "{typed:?}");
        if expect_typed {
            assert_eq!(typed[0][2], "hunter2-secret\r");
        }
    }
}

#[tokio::test]
async fn record_max_bytes_stops_the_recording_not_the_session() {
    let (dir, server, s) = recorded_bash(
        "rec-max",
        "record_max_bytes = \"8KiB\"\n",
        "for i in $(seq 1 3000); do echo \"row $i\"; done; echo finished",
    )
    .await;
    let id = s["id"].as_str().unwrap();
    let ended = server.wait_ended(id, WITHIN).await;
    assert_eq!(ended["exit"]["code"], 0);
    server.wait_screen(id, "finished").await;
    let s = until_recording(&server, id, "stopped").await;
    assert!(
        s["recording"]["error"]
            .as_str()
            .unwrap()
            .contains("record_max_bytes"),
        "{s}"
    );
    let path = cast_path(dir.dir(), id);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.len() <= 8192, "{} bytes", text.len());
    assert_eq!(s["recording"]["bytes"].as_u64(), Some(text.len() as u64));
    let (_, events) = parse(&text);
    assert!(text.ends_with('\n'));
    assert_eq!(events.last().unwrap()[1], "m");
    assert_eq!(events.last().unwrap()[2], "recording:stopped");
    assert!(!of_kind(&events, "o").is_empty(), "no output in {text}");
}

#[tokio::test]
async fn an_unwritable_directory_fails_the_recording_not_the_session() {
    let dir = TempDir::new("rec-unwritable");
    // A directory under a regular file cannot be made, not even by root.
    std::fs::write(dir.path("file"), "").unwrap();
    let server = recording_server(&dir.path("file").join("recordings"), "");
    let s = server
        .create(&["bash", "-c", "echo start; read x; echo \"got $x\""])
        .await;
    let id = s["id"].as_str().unwrap();
    let failed = until_recording(&server, id, "failed").await;
    let error = failed["recording"]["error"].as_str().unwrap();
    assert!(error.contains("Not a directory"), "{error}");
    assert_eq!(failed["status"], "active");
    server
        .call(
            &format!("/api/sessions/{id}/input"),
            json!({"data": "fine\n"}),
        )
        .await;
    server.wait_screen(id, "got fine").await;
    let ended = server.wait_ended(id, WITHIN).await;
    assert_eq!(ended["exit"]["code"], 0);
    let r = server
        .get(&format!("/api/sessions/{id}/recording"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn a_full_disk_fails_the_recording_not_the_session() {
    if !rustix::process::geteuid().is_root() {
        println!("SKIPPED: a full disk needs a small tmpfs, which only root can mount");
        return;
    }
    let dir = TempDir::new("rec-full");
    let mount = dir.path("tmpfs");
    std::fs::create_dir(&mount).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&mount)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        println!("SKIPPED: mount -t tmpfs failed (no CAP_SYS_ADMIN in this container?)");
        return;
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(mount.clone());
    let server = recording_server(&mount, "");
    let s = server
        .create(&[
            "bash",
            "-c",
            "head -c 400000 /dev/zero | tr '\\0' x; echo; echo all-written",
        ])
        .await;
    let id = s["id"].as_str().unwrap();
    let ended = server.wait_ended(id, WITHIN).await;
    assert_eq!(ended["exit"]["code"], 0);
    server.wait_screen(id, "all-written").await;
    let failed = until_recording(&server, id, "failed").await;
    let error = failed["recording"]["error"].as_str().unwrap();
    assert!(error.contains("No space left"), "{error}");
    // Cut back to its last whole line: still a valid recording.
    let text = std::fs::read_to_string(cast_path(&mount, id)).unwrap();
    assert!(text.ends_with('\n'));
    parse(&text);
}

#[tokio::test]
async fn a_server_killed_mid_flood_leaves_a_valid_file() {
    asciinema();
    let (dir, mut server, s) =
        recorded_bash("rec-sigkill", "", "while :; do seq 1 100000; done").await;
    let id = s["id"].as_str().unwrap().to_owned();
    poll("a recording over 2 MB", WITHIN, || async {
        let s = server.session(&id).await;
        let bytes = s["recording"]["bytes"].as_u64().unwrap_or(0);
        if bytes > 2_000_000 {
            Ok(())
        } else {
            Err(s["recording"].to_string())
        }
    })
    .await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let path = cast_path(dir.dir(), &id);
    let text = std::fs::read_to_string(&path).unwrap();
    // Every whole line is an event (a line the kill cut is at most the last).
    let (header, events) = parse(&text);
    assert_eq!(header["version"], 2);
    assert!(of_kind(&events, "o").len() > 1);
    // A new server serves it up to its last whole line, and asciinema plays
    // that.
    let server = recording_server(dir.dir(), "");
    let r = server
        .get(&format!("/api/recordings/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let served = r.text().await.unwrap();
    assert!(served.ends_with('\n') && text.starts_with(&served));
    let copy = dir.path("served.cast");
    std::fs::write(&copy, &served).unwrap();
    let mut pty = Pty::spawn(
        "asciinema cat \"$0\" > /dev/null",
        &[copy.to_str().unwrap()],
        &[],
        80,
        24,
    );
    assert_eq!(pty.wait(), 0, "{}", pty.output());
}

#[tokio::test]
async fn the_routes_also_serve_recordings_of_forgotten_sessions() {
    let dir = TempDir::new("rec-routes");
    let server = recording_server(dir.dir(), "linger = \"1s\"\n");
    let s = server
        .post(
            "/api/sessions",
            json!({"command": ["bash", "-c", "echo one; read x; echo two"], "name": "rec-a"}),
        )
        .send()
        .await
        .unwrap();
    let s: Value = s.json().await.unwrap();
    let id = s["id"].as_str().unwrap().to_owned();
    server.wait_screen(&id, "one").await;
    // While it runs: the file so far, and listed as not ended.
    // (Within 1 s of the output.)
    let so_far = poll(
        "the output in the recording",
        Duration::from_secs(1),
        || async {
            let r = server
                .get(&format!("/api/sessions/{id}/recording"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            assert_eq!(r.headers()["content-type"], "application/x-asciicast");
            let text = r.text().await.unwrap();
            if text.contains("one") {
                Ok(text)
            } else {
                Err(text)
            }
        },
    )
    .await;
    assert!(!so_far.contains("exit:"), "{so_far}");
    let list = server.get_json("/api/recordings").await;
    let entry = list["recordings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(entry["name"], "rec-a");
    assert_eq!(entry["ended_at"], Value::Null);
    assert_eq!(
        (entry["cols"].as_u64(), entry["rows"].as_u64()),
        (Some(80), Some(24))
    );
    // Not deleted while it is being written.
    let r = server
        .delete(&format!("/api/recordings/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);

    // A session not recorded (the request says so) has `recording` null.
    let plain = server
        .post(
            "/api/sessions",
            json!({"command": ["true"], "record": false}),
        )
        .send()
        .await
        .unwrap();
    let plain: Value = plain.json().await.unwrap();
    assert_eq!(plain["recording"], Value::Null);

    server
        .call(&format!("/api/sessions/{id}/input"), json!({"data": "x\n"}))
        .await;
    server.wait_ended(&id, WITHIN).await;
    poll("the session forgotten", WITHIN, || async {
        let r = server
            .get(&format!("/api/sessions/{id}"))
            .send()
            .await
            .unwrap();
        if r.status() == 404 {
            Ok(())
        } else {
            Err(r.status().to_string())
        }
    })
    .await;
    let list = server.get_json("/api/recordings").await;
    let entries = list["recordings"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{list}");
    let entry = &entries[0];
    assert_eq!(entry["id"], id.as_str());
    assert!(entry["ended_at"].is_string());
    assert!(entry["started_at"].as_str().unwrap().ends_with('Z'));
    let file = std::fs::read(cast_path(dir.dir(), &id)).unwrap();
    assert_eq!(entry["bytes"].as_u64(), Some(file.len() as u64));
    let r = server
        .get(&format!("/api/recordings/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), file.as_slice());

    // Bad ids never reach the file system; unknown ones are 404.
    for bad in [
        "not-a-uuid",
        "..%2F..%2Fetc%2Fpasswd",
        "x%2F..%2F..%2Fetc",
        &id.to_uppercase(),
    ] {
        let r = server
            .get(&format!("/api/recordings/{bad}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_id");
    }
    let unknown = "00000000-0000-4000-8000-000000000000";
    let r = server
        .get(&format!("/api/recordings/{unknown}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");

    let r = server
        .delete(&format!("/api/recordings/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = server
        .get(&format!("/api/recordings/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        server.get_json("/api/recordings").await,
        json!({"recordings": []})
    );
}

#[tokio::test]
async fn rec_ls_rec_get_and_play_with_its_timing() {
    let dir = TempDir::new("rec-client");
    let runtime = TempDir::new("rec-client-rt");
    let server = recording_server(dir.dir(), "");
    let s = server
        .post("/api/sessions", json!({"command": ["bash", "-c", "echo first-part; sleep 1.5; echo second-part"], "name": "played"}))
        .send()
        .await
        .unwrap();
    let s: Value = s.json().await.unwrap();
    let id = s["id"].as_str().unwrap().to_owned();
    server.wait_ended(&id, WITHIN).await;
    let (path, _) = recorded_to_the_exit(dir.dir(), &id, 0).await;

    let out = run(client(&server, &runtime), &["rec", "ls"], None);
    let table = out.ok();
    assert!(table.starts_with("ID"), "{table}");
    assert!(
        table.contains(&id[..8]) && table.contains("played"),
        "{table}"
    );
    let out = run(client(&server, &runtime), &["rec", "ls", "--json"], None);
    let listed: Value = serde_json::from_str(out.ok()).unwrap();
    assert_eq!(listed["recordings"][0]["id"], id.as_str());

    let out = run(client(&server, &runtime), &["rec", "get", &id[..8]], None);
    assert_eq!(out.ok(), std::fs::read_to_string(&path).unwrap());
    let out = run(client(&server, &runtime), &["rec", "get", "zzzz"], None);
    assert!(out.error().contains("no recording matches"), "{out:?}");

    // Played in a real terminal: the text, at the recording's pace.
    let env = [
        ("PTYHUB_URL", server.base.as_str()),
        ("PTYHUB_TOKEN", common::TOKEN),
    ];
    for (args, min, max) in [
        (vec!["play", "played"], 1.3, 10.0),
        (vec!["play", "played", "--speed", "5"], 0.2, 1.2),
        (vec!["play", "played", "--idle-limit", "0.1"], 0.0, 1.0),
    ] {
        let mut all = vec![client_support::bin()];
        all.extend(args.iter().copied());
        let started = Instant::now();
        let mut pty = Pty::spawn("exec \"$0\" \"$@\"", &all, &env, 80, 24);
        pty.expect("second-part");
        assert_eq!(pty.wait(), 0, "{}", pty.output());
        let took = started.elapsed().as_secs_f64();
        assert!(pty.screen().contains("first-part"));
        assert!(
            (min..max).contains(&took),
            "{args:?} took {took:.2}s, not {min}..{max}"
        );
    }
}
