//! The real AI coding CLIs (Claude Code, Codex, Gemini CLI) through their
//! provider presets: first screens, the same screens as in tmux, keys,
//! Ctrl-C, termination, late joiners; and the terminal environment and
//! synchronized output they rely on.
//!
//! The CLIs come from `tests/install-ai-clis.sh` (run by `tests/run-all.sh`),
//! or from the folder in `PTYHUB_AI_CLIS`. Without network credentials they
//! still draw their first screens: Claude Code its welcome banner (then an
//! error), Codex its sign-in menu, Gemini CLI its folder-trust dialog.

mod common;
#[allow(dead_code)]
#[path = "../examples/drive_a_session.rs"]
mod example;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{TOKEN, TestClient, TestServer, poll, session_processes};
use serde_json::{Value, json};

const COLS: u16 = 100;
const ROWS: u16 = 30;

/// How long a CLI may take to draw a screen: Gemini CLI alone needs ~5 s of
/// CPU to start, and the suite shares 2 cores.
const SLOW: Duration = Duration::from_secs(90);

/// The CLI tests run one at a time: each starts a CLI twice (ptyhub and
/// tmux), and Gemini CLI alone needs seconds of CPU to start on 2 cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The folder with `claude`, `codex` and `gemini`; `None` (after printing
/// why) when their install failed. Panics when it was never attempted.
fn cli_bin() -> Option<PathBuf> {
    let root = std::env::var_os("PTYHUB_AI_CLIS").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../tests/.tools/ai-clis"
            ))
        },
        PathBuf::from,
    );
    let bin = root.join("node_modules/.bin");
    if ["claude", "codex", "gemini"]
        .iter()
        .all(|c| bin.join(c).exists())
    {
        return Some(bin);
    }
    match std::fs::read_to_string(root.join("FAILED")) {
        Ok(why) => {
            eprintln!(
                "SKIPPED: the AI CLIs could not be installed (tests/install-ai-clis.sh):\n{why}"
            );
            None
        }
        Err(_) => panic!(
            "the AI CLIs are not installed in {}: run `bash tests/install-ai-clis.sh` \
             (tests/run-all.sh does), or set PTYHUB_AI_CLIS",
            root.display()
        ),
    }
}

/// A fresh folder, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> TempDir {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("ptyhub-ai-{what}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server whose `claude`, `codex` and `gemini` presets find the CLIs in
/// `bin` (the config's `bin_dir`), run in `work`, with a fresh `HOME` (no
/// login, no earlier choices: the first-run screens).
fn ai_server(bin: &Path, home: &Path, work: &Path) -> TestServer {
    let mut config = String::from("allow_arbitrary_commands = true\nterminate_grace = \"1s\"\n");
    for name in ["claude", "codex", "gemini"] {
        config.push_str(&format!(
            "[providers.{name}]\ncommand = \"{name}\"\nbin_dir = \"{}\"\ncwd = \"{}\"\nenv = {{ HOME = \"{}\" }}\n",
            bin.display(),
            work.display(),
            home.display()
        ));
    }
    TestServer::start_with(&config, &[])
}

/// Starts a session from `provider` at COLS x ROWS.
async fn start(server: &TestServer, provider: &str) -> Value {
    let r = server
        .post(
            "/api/sessions",
            json!({"provider": provider, "cols": COLS, "rows": ROWS}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    r.json().await.unwrap()
}

async fn screen_lines(server: &TestServer, id: &str) -> Vec<String> {
    let s: Value = server
        .get(&format!("/api/sessions/{id}/screen"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    s["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_owned())
        .collect()
}

/// Waits (server side, `/wait`) until the screen matches `pattern`; on a
/// timeout, fails with the screen.
async fn wait_screen(server: &TestServer, id: &str, pattern: &str) {
    let r = server
        .post(
            &format!("/api/sessions/{id}/wait"),
            json!({"pattern": pattern, "timeout_ms": SLOW.as_millis() as u64}),
        )
        .send()
        .await
        .unwrap();
    if r.status() != 200 {
        let lines = screen_lines(server, id).await;
        panic!(
            "waiting for {pattern:?}: {}; the screen:\n{}",
            r.status(),
            lines.join("\n")
        );
    }
}

async fn input(server: &TestServer, id: &str, data: &str) {
    let r = server
        .post(&format!("/api/sessions/{id}/input"), json!({"data": data}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
}

async fn session(server: &TestServer, id: &str) -> Value {
    server
        .get(&format!("/api/sessions/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Lines without trailing blanks, without trailing empty lines.
fn normalized(lines: &[String]) -> Vec<String> {
    let mut out: Vec<String> = lines.iter().map(|l| l.trim_end().to_owned()).collect();
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out
}

/// Every live process whose environment has `HOME=home`: all that a CLI
/// started with that (private) home, daemons included (Codex starts an
/// app-server daemon in a session of its own).
fn processes_with_home(home: &Path) -> Vec<i32> {
    let Ok(all) = procfs::process::all_processes() else {
        return Vec::new();
    };
    all.filter_map(Result::ok)
        .filter(|p| p.stat().is_ok_and(|s| s.state != 'Z'))
        .filter(|p| {
            p.environ().is_ok_and(|env| {
                env.get(std::ffi::OsStr::new("HOME")).map(|h| h.as_os_str())
                    == Some(home.as_os_str())
            })
        })
        .map(|p| p.pid)
        .collect()
}

/// The same program in tmux, at the same size, with the same environment
/// and a home of its own.
struct Tmux {
    socket: String,
    home: TempDir,
    _dir: TempDir,
}

impl Tmux {
    fn start(program: &Path, work: &Path) -> Tmux {
        let home = TempDir::new("tmux-home");
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let socket = format!("ptyhub-test-{}-{n}", std::process::id());
        let dir = TempDir::new("tmux");
        let conf = dir.0.join("tmux.conf");
        // No status line (the pane gets every row), the program's screen
        // kept after it exits, the TERM ptyhub gives.
        std::fs::write(
            &conf,
            "set -g status off\nset -g remain-on-exit on\nset -g default-terminal xterm-256color\n",
        )
        .unwrap();
        let path = std::env::var("PATH").unwrap_or_default();
        let status = Command::new("tmux")
            .args(["-L", &socket, "-f"])
            .arg(&conf)
            .args(["new-session", "-d", "-s", "t", "-x"])
            .arg(COLS.to_string())
            .arg("-y")
            .arg(ROWS.to_string())
            .arg("-c")
            .arg(work)
            .arg("--")
            .arg("env")
            .arg("-i")
            .arg(format!(
                "PATH={path}:{}",
                program.parent().unwrap().display()
            ))
            .arg(format!("HOME={}", home.0.display()))
            .args(["TERM=xterm-256color", "COLORTERM=truecolor", "LANG=C.UTF-8"])
            .arg(program)
            .env("LANG", "C.UTF-8")
            .env_remove("TMUX")
            .stdin(Stdio::null())
            .status()
            .expect("tmux runs (tests/run-all.sh installs it)");
        assert!(status.success(), "tmux new-session");
        Tmux {
            socket,
            home,
            _dir: dir,
        }
    }

    fn capture(&self) -> Vec<String> {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "t"])
            .env("LANG", "C.UTF-8")
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            // remain-on-exit's own line, not the program's.
            .filter(|l| !l.starts_with("Pane is dead"))
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .stderr(Stdio::null())
            .status();
        // tmux only hangs up on its panes: Gemini CLI outlives that, and
        // Codex's daemon is in a session of its own. Nothing ends them for
        // tmux, so the test does.
        for pid in processes_with_home(&self.home.0) {
            if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
    }
}

/// Waits until ptyhub's screen of `id` and tmux's are the same (both may
/// still be drawing, or animating), and that screen shows `pattern`.
async fn assert_same_as_tmux(server: &TestServer, id: &str, tmux: &Tmux, pattern: &str) {
    poll("the screen equals tmux's", SLOW, || async {
        let ours = normalized(&screen_lines(server, id).await);
        let theirs = normalized(&tmux.capture());
        if ours == theirs && ours.iter().any(|l| l.contains(pattern)) {
            Ok(())
        } else {
            Err(format!(
                "ptyhub:\n{}\n---- tmux:\n{}",
                ours.join("\n"),
                theirs.join("\n")
            ))
        }
    })
    .await
}

fn parser() -> vt100::Parser {
    let nz = |v| std::num::NonZeroU16::new(v).unwrap();
    vt100::Parser::new(nz(ROWS), nz(COLS), 0)
}

fn rows(p: &vt100::Parser) -> Vec<String> {
    p.screen().rows(0, COLS).collect()
}

#[tokio::test]
async fn claude_code_shows_its_welcome_screen_as_in_tmux() {
    let Some(bin) = cli_bin() else { return };
    let _one = ONE_AT_A_TIME.lock().await;
    let (home, work) = (TempDir::new("home"), TempDir::new("work"));
    let server = ai_server(&bin, &home.0, &work.0);
    let s = start(&server, "claude").await;
    let id = s["id"].as_str().unwrap();
    assert_eq!(s["provider"], "claude");
    wait_screen(&server, id, "Welcome to Claude Code").await;
    let tmux = Tmux::start(&bin.join("claude"), &work.0);
    assert_same_as_tmux(&server, id, &tmux, "Welcome to Claude Code").await;
}

#[tokio::test]
async fn codex_menu_follows_the_arrow_keys_and_ctrl_c_ends_it() {
    let Some(bin) = cli_bin() else { return };
    let _one = ONE_AT_A_TIME.lock().await;
    let (home, work) = (TempDir::new("home"), TempDir::new("work"));
    let server = ai_server(&bin, &home.0, &work.0);
    // Started with no client attached: Codex asks for the cursor position
    // and the colours at start, and the server answers.
    let s = start(&server, "codex").await;
    let id = s["id"].as_str().unwrap();
    wait_screen(&server, id, "Welcome to Codex").await;
    wait_screen(&server, id, r"^> 1\. Sign in with ChatGPT").await;

    let tmux = Tmux::start(&bin.join("codex"), &work.0);
    assert_same_as_tmux(&server, id, &tmux, "> 1. Sign in with ChatGPT").await;

    input(&server, id, "\x1b[B").await;
    wait_screen(&server, id, r"^> 2\. Sign in with Device Code").await;
    input(&server, id, "\x1b[B").await;
    wait_screen(&server, id, r"^> 3\. Sign in another way").await;

    // A client that attaches now gets the screen everyone sees.
    let mut late = TestClient::attach(&server, id, "?readonly=1").await;
    let k = late.hello["snapshot_bytes"].as_u64().unwrap() as usize;
    late.until("the snapshot", |c| c.output.len() >= k).await;
    // The snapshot may stand at the start of a synchronized frame still
    // open; with the stream after it, the client's screen is the live one.
    let ours = normalized(&screen_lines(&server, id).await);
    let deadline = Instant::now() + SLOW;
    loop {
        let mut replayed = parser();
        replayed.process(&late.output);
        let theirs = normalized(&rows(&replayed));
        if theirs == ours {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "snapshot + stream = live screen: {theirs:?} vs {ours:?}"
        );
        let n = late.output.len();
        let _ = tokio::time::timeout(
            Duration::from_millis(200),
            late.until("more output", |c| c.output.len() > n),
        )
        .await;
    }

    input(&server, id, "\r").await;
    wait_screen(&server, id, r"^> 1\. Use an OpenAI API key").await;
    // The late client followed live.
    let want = normalized(&screen_lines(&server, id).await);
    let deadline = Instant::now() + SLOW;
    let mut replayed = parser();
    let mut fed = 0;
    loop {
        replayed.process(&late.output[fed..]);
        fed = late.output.len();
        let got = normalized(&rows(&replayed));
        if got == want {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the late client's screen:\n{}\n---- live:\n{}",
            got.join("\n"),
            want.join("\n")
        );
        // Take what has come meanwhile (at most 200 ms of waiting).
        let _ = tokio::time::timeout(
            Duration::from_millis(200),
            late.until("more output", |c| c.output.len() > fed),
        )
        .await;
    }

    input(&server, id, "\x03").await;
    let ended = poll("Ctrl-C ends Codex", SLOW, || async {
        let s = session(&server, id).await;
        if s["status"] == "exited" {
            Ok(s)
        } else {
            Err(s.to_string())
        }
    })
    .await;
    assert_eq!(ended["exit"]["reason"], "exited");
    // Codex's app-server daemon (a session of its own) ended with it.
    poll("nothing Codex started is left", SLOW, || async {
        let left = processes_with_home(&home.0);
        if left.is_empty() {
            Ok(())
        } else {
            Err(format!("left: {left:?}"))
        }
    })
    .await;
}

#[tokio::test]
async fn gemini_asks_about_trust_as_in_tmux_and_terminating_leaves_no_process() {
    let Some(bin) = cli_bin() else { return };
    let _one = ONE_AT_A_TIME.lock().await;
    let (home, work) = (TempDir::new("home"), TempDir::new("work"));
    let server = ai_server(&bin, &home.0, &work.0);
    let s = start(&server, "gemini").await;
    let id = s["id"].as_str().unwrap();
    let pid = s["pid"].as_i64().unwrap() as i32;
    wait_screen(&server, id, "Do you trust the files in this folder").await;

    let tmux = Tmux::start(&bin.join("gemini"), &work.0);
    assert_same_as_tmux(&server, id, &tmux, "Do you trust the files in this folder").await;

    let before = session_processes(pid);
    assert!(!before.is_empty(), "gemini's processes are in its session");
    server.kill(id).await;
    poll("every process of the session ends", SLOW, || async {
        let mut left = session_processes(pid);
        left.extend(processes_with_home(&home.0));
        let ended = session(&server, id).await["status"] == "terminated";
        if left.is_empty() && ended {
            Ok(())
        } else {
            Err(format!("left {left:?} (before: {before:?}), ended {ended}"))
        }
    })
    .await;
}

#[tokio::test]
async fn providers_show_availability_and_version() {
    let Some(bin) = cli_bin() else { return };
    let _one = ONE_AT_A_TIME.lock().await;
    let (home, work) = (TempDir::new("home"), TempDir::new("work"));
    let server = ai_server(&bin, &home.0, &work.0);
    let list: Value = server
        .get("/api/providers")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let by_name = |name: &str| -> Value {
        list["providers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} in {list}"))
    };
    for (name, version) in [
        ("claude", "Claude Code"),
        ("codex", "codex-cli"),
        ("gemini", "."),
    ] {
        let p = by_name(name);
        assert_eq!(p["available"], true, "{p}");
        assert_eq!(p["command"], name);
        let v = p["version"].as_str().unwrap_or_default();
        assert!(v.contains(version), "{name}: {p}");
    }
    let cursor = by_name("cursor");
    assert_eq!(cursor["command"], "cursor-agent");
}

/// Runs the binary with an empty environment (as under a bare systemd
/// unit): only its token.
struct BareServer {
    child: std::process::Child,
    base: String,
    _dir: TempDir,
}

impl BareServer {
    fn start() -> BareServer {
        use std::io::{BufRead, BufReader};
        let dir = TempDir::new("bare");
        let conf = dir.0.join("config.toml");
        std::fs::write(&conf, "allow_arbitrary_commands = true\n").unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_ptyhub"))
            .args(["serve", "--bind", "127.0.0.1:0", "--config"])
            .arg(&conf)
            .env_clear()
            .env("PTYHUB_TOKEN", TOKEN)
            .env("XDG_RUNTIME_DIR", &dir.0)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut url = None;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(at) = line.find("http://") {
                url = Some(line[at..].split("/?").next().unwrap().to_owned());
                break;
            }
        }
        BareServer {
            child,
            base: url
                .expect("the server printed its URL")
                .trim_end_matches('/')
                .to_owned(),
            _dir: dir,
        }
    }
}

impl Drop for BareServer {
    fn drop(&mut self) {
        let pid = rustix::process::Pid::from_child(&self.child);
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_bare_environment_still_gets_term_colours_utf8_and_the_size_from_the_start() {
    let server = BareServer::start();
    let http = reqwest::Client::new();
    // The size is printed before anything else could resize the terminal.
    let script = "stty size; echo \"T=$TERM C=$COLORTERM\"; locale charmap; printf '\\342\\234\\223 done\\n'; sleep 1000";
    let r = http
        .post(format!("{}/api/sessions", server.base))
        .bearer_auth(TOKEN)
        .json(&json!({"command": ["sh", "-c", script], "cols": 77, "rows": 21}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let s: Value = r.json().await.unwrap();
    let id = s["id"].as_str().unwrap().to_owned();
    let r: Value = http
        .post(format!("{}/api/sessions/{id}/wait", server.base))
        .bearer_auth(TOKEN)
        .json(&json!({"pattern": "done", "timeout_ms": 20000}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["matched"], true, "{r}");
    let screen: Value = http
        .get(format!("{}/api/sessions/{id}/screen", server.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let lines: Vec<&str> = screen["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(
        lines[..4],
        ["21 77", "T=xterm-256color C=truecolor", "UTF-8", "✓ done"],
        "{lines:?}"
    );
    http.delete(format!("{}/api/sessions/{id}", server.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn synchronized_output_reaches_clients_intact() {
    let server = TestServer::start();
    let script = r#"printf 'a\033[?2026h\033[2J\033[Hframe\033[?2026lz\n'; sleep 1000"#;
    let s = server.create(&["sh", "-c", script]).await;
    let id = s["id"].as_str().unwrap();
    let mut c = TestClient::attach(&server, id, "?since=0").await;
    c.expect("z\r\n").await;
    assert!(
        c.text()
            .starts_with("a\x1b[?2026h\x1b[2J\x1b[Hframe\x1b[?2026lz\r\n"),
        "{:?}",
        c.text()
    );
    server.kill(id).await;
}

#[tokio::test]
async fn the_rust_example_drives_a_session() {
    let server = TestServer::start();
    let report = example::Api::new(&server.base, TOKEN)
        .drive(
            "shell",
            "echo the answer is $((6*7))",
            r"^the answer is \d+$",
        )
        .await
        .unwrap();
    assert_eq!(report.line, "the answer is 42");
    assert_eq!(report.screen[report.row as usize], "the answer is 42");
    assert!(report.output.contains("the answer is 42"), "{report:?}");
    // DELETE answers at once; the session ends right after.
    poll("the example's session ends", SLOW, || async {
        let s = session(&server, &report.id).await;
        if s["status"] == "terminated" {
            Ok(())
        } else {
            Err(s.to_string())
        }
    })
    .await;
}
