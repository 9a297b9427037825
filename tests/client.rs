//! The client commands (`ptyhub ls / new / send / screen / kill / attach`)
//! against a real server, as real processes: their text and JSON output,
//! every error path, and `attach` driven inside a real PTY (typing, resize,
//! Ctrl-C, the detach keys, the program's exit code, the terminal's modes
//! before and after).

mod client_support;
mod common;

use client_support::{Pty, bin, client, run};
use common::{TOKEN, TempDir, TestServer};
use serde_json::{Value, json};

/// Runs the client in a PTY's shell, between two `stty -g` (into the files
/// `before` and `after` of `$1`), and writes its exit status to `$1/rc`.
const WRAPPER: &str = r#"b="$0"; d="$1"; shift; stty -g > "$d/before"; "$b" "$@"; echo $? > "$d/rc"; stty -g > "$d/after""#;

/// Starts an interactive bash whose prompt is `prompt> `.
async fn bash(server: &TestServer) -> String {
    let r = server
        .call(
            "/api/sessions",
            json!({"command": ["bash", "--norc", "--noprofile", "-i"],
                   "env": {"PS1": "prompt> "}}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let s: Value = r.json().await.unwrap();
    let id = s["id"].as_str().unwrap().to_owned();
    server.wait_screen(&id, "^prompt>").await;
    id
}

/// Waits until the session object satisfies `done`.
async fn until_session(server: &TestServer, id: &str, what: &str, done: impl Fn(&Value) -> bool) {
    let what = format!("waited for {what}");
    common::poll(&what, client_support::DEADLINE, || async {
        let s = server.session(id).await;
        if done(&s) { Ok(()) } else { Err(s.to_string()) }
    })
    .await;
}

/// Waits until a process of the session runs `argv`.
fn until_running(pid: i64, argv: &[&str]) {
    let found = common::wait_for(client_support::DEADLINE, || {
        common::session_processes(pid as i32).into_iter().any(|p| {
            procfs::process::Process::new(p)
                .and_then(|p| p.cmdline())
                .is_ok_and(|c| c == argv)
        })
    });
    assert!(found, "{argv:?} never ran in the session");
}

/// The PTY's environment for a client of `server`.
fn pty_env<'a>(server: &'a TestServer, runtime: &'a TempDir) -> Vec<(&'a str, &'a str)> {
    vec![
        ("PTYHUB_URL", server.base.as_str()),
        ("PTYHUB_TOKEN", TOKEN),
        ("XDG_RUNTIME_DIR", runtime.dir().to_str().unwrap()),
    ]
}

/// Checks the terminal modes are the same after the client as before, and
/// the client's exit status.
fn assert_restored(dir: &TempDir, code: u32, pty: &Pty) {
    let before = dir.read("before");
    assert!(before.contains(':'), "stty -g ran: {before:?}");
    assert_eq!(
        before,
        dir.read("after"),
        "the terminal's modes were restored"
    );
    assert_eq!(dir.read("rc").trim(), code.to_string(), "{}", pty.screen());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ls_new_send_screen_kill_and_their_json() {
    let server = TestServer::start();
    let rt = TempDir::new("rt");
    let cli = || client(&server, &rt);

    let empty = run(cli(), &["ls"], None);
    assert_eq!(
        empty.ok(),
        "ID   NAME   PROVIDER   STATUS   STATE   SIZE   CLIENTS   CPU   MEM   AGE\n"
    );
    let listing: Value = serde_json::from_str(run(cli(), &["ls", "--json"], None).ok()).unwrap();
    assert_eq!(listing, json!({"sessions": []}));

    // `new` prints the id; --json the session object.
    let first = run(cli(), &["new", "--name", "first"], None)
        .ok()
        .trim()
        .to_owned();
    assert_eq!(first.len(), 36, "{first:?}");
    let cwd = TempDir::new("cwd");
    let second: Value = serde_json::from_str(
        run(
            cli(),
            &[
                "new",
                "shell",
                "--name",
                "second",
                "--json",
                "--cwd",
                cwd.dir().to_str().unwrap(),
            ],
            None,
        )
        .ok(),
    )
    .unwrap();
    assert_eq!(second["name"], "second");
    assert_eq!(second["provider"], "shell");
    assert_eq!(
        second["cwd"].as_str().unwrap(),
        cwd.dir().canonicalize().unwrap().to_str().unwrap()
    );
    let second_id = second["id"].as_str().unwrap().to_owned();

    let table = run(cli(), &["ls"], None);
    let lines: Vec<&str> = table.ok().lines().collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines[0].starts_with("ID         NAME     PROVIDER   STATUS"),
        "{lines:?}"
    );
    for (line, id, name) in [
        (lines[1], &first, "first"),
        (lines[2], &second_id, "second"),
    ] {
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cells[0], &id[..8], "{line}");
        assert_eq!(&cells[1..3], [name, "shell"], "{line}");
        assert!(["starting", "active", "idle"].contains(&cells[3]), "{line}");
        assert!(["unknown", "busy", "ready"].contains(&cells[4]), "{line}");
        assert_eq!(&cells[5..7], ["80x24", "0"], "{line}");
    }
    let listing: Value = serde_json::from_str(run(cli(), &["ls", "--json"], None).ok()).unwrap();
    let mut ids: Vec<&str> = listing["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut expected = vec![first.as_str(), second_id.as_str()];
    expected.sort();
    assert_eq!(ids, expected);

    // `send` types the text then Enter; by name, and by id prefix.
    run(cli(), &["send", "first", "echo sent-$((6*7))"], None).ok();
    server.wait_screen(&first, "^sent-42$").await;
    run(
        cli(),
        &["send", "--no-enter", &first[..6], "echo partial-$((2+3))"],
        None,
    )
    .ok();
    server.wait_screen(&first, "echo partial-").await;
    let screen = run(cli(), &["screen", "first"], None);
    assert!(
        !screen.ok().contains("partial-5"),
        "no Enter yet: {screen:?}"
    );
    run(cli(), &["send", "first", ""], None).ok();
    server.wait_screen(&first, "^partial-5$").await;
    // `-` reads stdin, one trailing newline dropped, then Enter.
    run(
        cli(),
        &["send", "first", "-"],
        Some("echo from-stdin-$((3*3))\n"),
    )
    .ok();
    server.wait_screen(&first, "^from-stdin-9$").await;
    // A text that starts with a dash is text.
    run(cli(), &["send", "first", "-n"], None).ok();

    // `screen`: the lines, without the blank rows below them.
    let screen = run(cli(), &["screen", &first[..8]], None);
    let text = screen.ok();
    assert!(text.lines().any(|l| l == "sent-42"), "{text}");
    assert!(text.lines().any(|l| l == "from-stdin-9"), "{text}");
    assert!(text.ends_with('\n') && !text.ends_with("\n\n"), "{text:?}");
    let json_screen: Value =
        serde_json::from_str(run(cli(), &["screen", "first", "--json"], None).ok()).unwrap();
    assert_eq!(
        (json_screen["cols"].as_u64(), json_screen["rows"].as_u64()),
        (Some(80), Some(24))
    );
    assert!(
        json_screen["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l == "sent-42")
    );
    let ansi = run(cli(), &["screen", "first", "--ansi"], None);
    assert!(ansi.ok().starts_with("\x1b["), "{ansi:?}");
    assert!(ansi.ok().contains("sent-42"));

    // `kill` prints the id; --json the session object.
    assert_eq!(
        run(cli(), &["kill", "first"], None).ok(),
        format!("{first}\n")
    );
    let killed: Value =
        serde_json::from_str(run(cli(), &["kill", "--json", &second_id[..8]], None).ok()).unwrap();
    assert_eq!(killed["id"], second_id.as_str());
    for id in [&first, &second_id] {
        until_session(&server, id, "terminated", |s| s["status"] == "terminated").await;
    }
    let table = run(cli(), &["ls"], None);
    assert_eq!(
        table.ok().matches("terminated(deleted)").count(),
        2,
        "{table:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_one_clear_line_and_a_non_zero_exit() {
    let server = TestServer::start();
    let rt = TempDir::new("rt");
    let cli = || client(&server, &rt);

    // No server at the URL: it says which URL it tried.
    let mut c = cli();
    c.env("PTYHUB_URL", "http://127.0.0.1:1");
    let line = run(c, &["ls"], None).error().to_owned();
    assert!(
        line.contains("no ptyhub server at http://127.0.0.1:1"),
        "{line}"
    );
    assert!(line.contains("ptyhub serve"), "{line}");
    let mut c = cli();
    c.env("PTYHUB_URL", "http://127.0.0.1:1");
    let attach = run(c, &["attach", "x"], None);
    assert!(attach.error().contains("no ptyhub server"), "{attach:?}");

    // A bad token, or none.
    let mut c = cli();
    c.env("PTYHUB_TOKEN", "wrong");
    let line = run(c, &["ls"], None).error().to_owned();
    assert!(
        line.contains("refused the token") && line.contains("PTYHUB_TOKEN"),
        "{line}"
    );
    assert!(!line.contains("wrong"), "the token is not echoed: {line}");
    let mut c = cli();
    c.env_remove("PTYHUB_TOKEN");
    let line = run(c, &["screen", "x"], None).error().to_owned();
    assert!(line.contains("needs a token"), "{line}");

    // A bad URL.
    let mut c = cli();
    c.env("PTYHUB_URL", "ftp://127.0.0.1:1");
    assert!(run(c, &["ls"], None).error().contains("bad server URL"));

    // Unknown sessions, for every command that names one.
    for args in [
        &["attach", "nosuch"][..],
        &["kill", "nosuch"],
        &["send", "nosuch", "x"],
        &["screen", "nosuch"],
    ] {
        let r = run(cli(), args, None);
        assert_eq!(
            r.error(),
            "ptyhub: error: no session matches \"nosuch\" (see `ptyhub ls`)"
        );
    }

    // An unknown provider: the server's reason.
    let r = run(cli(), &["new", "nosuch"], None);
    assert!(r.error().contains("unknown_provider"), "{r:?}");

    // attach needs a terminal.
    let id = bash(&server).await;
    let r = run(cli(), &["attach", &id], None);
    assert!(r.error().contains("needs a terminal"), "{r:?}");
    // A bad detach prefix is a usage error (clap's exit status 2).
    let r = run(cli(), &["attach", &id, "--detach-prefix", "alt-x"], None);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stderr.contains("bad detach prefix"), "{r:?}");

    // An ambiguous prefix lists the candidates. With 17 sessions two
    // share a first hex digit; usually far fewer are needed.
    let mut ids = vec![id];
    let shared = loop {
        let s = server.create(&["sleep", "1004"]).await;
        ids.push(s["id"].as_str().unwrap().to_owned());
        let first = ids.last().unwrap()[..1].to_owned();
        if ids.iter().filter(|i| i.starts_with(&first)).count() > 1 {
            break first;
        }
    };
    let matching: Vec<&String> = ids.iter().filter(|i| i.starts_with(&shared)).collect();
    let r = run(cli(), &["screen", &shared], None);
    let line = r.error();
    assert!(
        line.contains(&format!("\"{shared}\" matches {} sessions", matching.len())),
        "{line}"
    );
    for id in &matching {
        assert!(line.contains(&id[..8]), "{line} lists {id}");
    }
    for id in &ids {
        run(cli(), &["kill", id], None).ok();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_running_server_is_found_through_its_runtime_file() {
    let server = TestServer::start();
    let id = bash(&server).await;
    // No PTYHUB_URL, no PTYHUB_TOKEN: the runtime file the server wrote in
    // its XDG_RUNTIME_DIR has both.
    let mut c = std::process::Command::new(bin());
    c.env_remove("PTYHUB_URL")
        .env_remove("PTYHUB_TOKEN")
        .env("XDG_RUNTIME_DIR", server.dir.path());
    let out = run(c, &["ls"], None);
    assert!(out.ok().contains(&id[..8]), "{out:?}");
    // Its token is not sent to another server.
    let mut c = std::process::Command::new(bin());
    c.env("PTYHUB_URL", "http://127.0.0.1:1")
        .env_remove("PTYHUB_TOKEN")
        .env("XDG_RUNTIME_DIR", server.dir.path());
    assert!(run(c, &["ls"], None).error().contains("http://127.0.0.1:1"));
}

#[test]
fn completions_for_three_shells() {
    for (shell, marker) in [
        ("bash", "complete"),
        ("zsh", "#compdef ptyhub"),
        ("fish", "complete -c ptyhub"),
    ] {
        let r = run(
            std::process::Command::new(bin()),
            &["completions", shell],
            None,
        );
        let script = r.ok();
        assert!(script.contains(marker), "{shell}");
        assert!(
            script.contains("attach") && script.contains("detach-prefix"),
            "{shell}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_in_a_real_terminal_types_resizes_and_detaches() {
    let server = TestServer::start();
    let rt = TempDir::new("rt");
    let dir = TempDir::new("attach");
    let id = bash(&server).await;
    let pid = server.session(&id).await["pid"].as_i64().unwrap();
    // By a unique prefix of the id.
    let args = [bin(), dir.dir().to_str().unwrap(), "attach", &id[..8]];
    let mut pty = Pty::spawn(WRAPPER, &args, &pty_env(&server, &rt), 100, 30);

    // The snapshot first: the prompt that was already there.
    pty.expect("prompt> ");
    let modes = pty.stty();
    let words: Vec<&str> = modes.split_whitespace().collect();
    for raw in ["-icanon", "-echo", "-isig"] {
        assert!(words.contains(&raw), "raw mode while attached: {modes}");
    }
    until_session(&server, &id, "one client", |s| s["clients"] == 1).await;

    // Typing reaches the session; the size is the terminal's.
    pty.type_bytes(b"stty size; echo one-$((6*7))\r");
    pty.expect("one-42");
    pty.expect("30 100");

    // SIGWINCH: the new size reaches the session.
    pty.resize(120, 40);
    until_session(&server, &id, "120x40", |s| {
        s["cols"] == 120 && s["rows"] == 40
    })
    .await;
    pty.type_bytes(b"stty size\r");
    pty.expect("40 120");

    // Ctrl-C goes to the session's program, not to the client.
    pty.type_bytes(b"sleep 1003\r");
    until_running(pid, &["sleep", "1003"]);
    pty.type_bytes(b"\x03");
    pty.type_bytes(b"echo after-$((1+1))\r");
    pty.expect("after-2");

    // The prefix twice sends one prefix; another key after it is sent too.
    pty.type_bytes(b"stty raw -echo; od -An -tx1 -N3; stty sane\r");
    until_running(pid, &["od", "-An", "-tx1", "-N3"]);
    pty.type_bytes(b"\x1c\x1c\x1cx");
    pty.type_bytes(b"y");
    pty.expect("1c 1c 78");

    // Ctrl-\ d detaches: status 0, the modes restored, the session on.
    pty.type_bytes(b"\x1cd");
    let code = pty.wait();
    assert_eq!(code, 0);
    assert_restored(&dir, 0, &pty);
    pty.expect("[detached from ");
    until_session(&server, &id, "no client", |s| s["clients"] == 0).await;
    let s = server.session(&id).await;
    assert!(
        ["active", "idle"].contains(&s["status"].as_str().unwrap()),
        "{s}"
    );
    // The key typed after the pass-through reached the shell, and stays
    // on its command line after the detach.
    server.wait_screen(&id, "prompt> y$").await;
    run(client(&server, &rt), &["kill", &id], None).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_attach_passes_the_program_s_exit_code() {
    let server = TestServer::start();
    let rt = TempDir::new("rt");
    let dir = TempDir::new("exit");
    let args = [
        bin(),
        dir.dir().to_str().unwrap(),
        "new",
        "-a",
        "--name",
        "seven",
    ];
    let mut pty = Pty::spawn(WRAPPER, &args, &pty_env(&server, &rt), 90, 20);
    // Wait until the client is attached before typing.
    let (mut id, mut list) = (None, Value::Null);
    let attached = common::wait_for(client_support::DEADLINE, || {
        let out = run(client(&server, &rt), &["ls", "--json"], None);
        list = serde_json::from_str(out.ok()).unwrap();
        id = list["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "seven" && s["clients"] == 1)
            .map(|s| s["id"].as_str().unwrap().to_owned());
        id.is_some()
    });
    assert!(attached, "never attached: {list}");
    let id = id.unwrap();
    // Created at the terminal's size.
    let s = server.session(&id).await;
    assert_eq!(
        (s["cols"].as_u64(), s["rows"].as_u64()),
        (Some(90), Some(20))
    );
    pty.type_bytes(b"echo ready-$((2*5)); exit 7\r");
    let code = pty.wait();
    assert_eq!(code, 0, "the wrapper's own status");
    assert_restored(&dir, 7, &pty);
    // The PTY's reader may still be catching up with the last bytes.
    pty.expect("(seven) exited with code 7]");
    pty.expect_output("ready-10");
    until_session(&server, &id, "exited", |s| s["status"] == "exited").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readonly_attach_sends_no_keys_and_no_size() {
    let server = TestServer::start();
    let rt = TempDir::new("rt");
    let dir = TempDir::new("ro");
    let id = bash(&server).await;
    let args = [
        bin(),
        dir.dir().to_str().unwrap(),
        "attach",
        "--readonly",
        &id,
    ];
    // Another detach prefix, given in the environment.
    let mut env = pty_env(&server, &rt);
    env.push(("PTYHUB_DETACH_PREFIX", "ctrl-b"));
    let mut pty = Pty::spawn(WRAPPER, &args, &env, 50, 20);
    pty.expect("prompt> ");
    until_session(&server, &id, "one client", |s| s["clients"] == 1).await;
    pty.type_bytes(b"echo ro-$((1+1))\r");
    pty.resize(60, 21);
    // Ctrl-\ d is just keys now (dropped, as all keys of a reader).
    pty.type_bytes(b"\x1cd");
    pty.type_bytes(b"\x02d");
    assert_eq!(pty.wait(), 0);
    assert_restored(&dir, 0, &pty);
    // What a writer types after arrives; nothing of the reader's did.
    run(
        client(&server, &rt),
        &["send", &id, "echo rw-$((2+2))"],
        None,
    )
    .ok();
    server.wait_screen(&id, "^rw-4$").await;
    let screen = run(client(&server, &rt), &["screen", &id], None);
    assert!(!screen.ok().contains("ro-"), "{screen:?}");
    let s = server.session(&id).await;
    assert_eq!(
        (s["cols"].as_u64(), s["rows"].as_u64()),
        (Some(80), Some(24))
    );
    run(client(&server, &rt), &["kill", &id], None).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_ends_cleanly_when_the_server_goes_away() {
    let mut server = TestServer::start();
    let rt = TempDir::new("rt");
    let dir = TempDir::new("gone");
    let id = bash(&server).await;
    let args = [bin(), dir.dir().to_str().unwrap(), "attach", &id];
    let mut pty = Pty::spawn(WRAPPER, &args, &pty_env(&server, &rt), 80, 24);
    pty.expect("prompt> ");
    pty.type_bytes(b"printf '\\033[?1049h\\033[?25l'; echo in-alt-$((2+3))\r");
    pty.expect("in-alt-5");
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    assert_eq!(pty.wait(), 0);
    assert_restored(&dir, 1, &pty);
    pty.expect("ptyhub: error: lost the connection to the server at");
    let output = pty.output();
    let tail = &output[output.rfind("in-alt-5").unwrap()..];
    // Back on the normal screen, cursor shown, then the one-line error.
    assert!(
        tail.contains("\x1b[?1049l") && tail.contains("\x1b[?25h"),
        "{tail:?}"
    );
}
