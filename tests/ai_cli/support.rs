//! What the AI CLI tests share: where the CLIs are, servers whose presets
//! find them, tmux to compare screens with, and small request helpers.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use super::common::{TOKEN, TempDir, TestServer, poll, skip_requested};

pub const COLS: u16 = 100;
pub const ROWS: u16 = 30;

/// How long a CLI may take to draw a screen: Gemini CLI alone needs ~5 s of
/// CPU to start, and the suite shares 2 cores.
pub const SLOW: Duration = Duration::from_secs(90);

/// The CLI tests run one at a time: each starts a CLI twice (ptyhub and
/// tmux), and Gemini CLI alone needs seconds of CPU to start on 2 cores.
pub static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The folder with `claude`, `codex` and `gemini`; `None` only when the
/// skip was asked for by name (`PTYHUB_SKIP=ai-cli`, outside CI). Panics,
/// with the install's reason, when they are missing.
pub fn cli_bin(test: &str) -> Option<PathBuf> {
    if skip_requested("ai-cli", &format!("tests/ai_cli.rs {test}")) {
        return None;
    }
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
    let why = std::fs::read_to_string(root.join("FAILED"))
        .unwrap_or_else(|_| "it was never run".to_owned());
    panic!(
        "the AI CLIs are not installed in {}: run `bash tests/install-ai-clis.sh` \
         (tests/run-all.sh does), set PTYHUB_AI_CLIS, or skip these tests with \
         PTYHUB_SKIP=ai-cli (not under CI=true). The install said:\n{why}",
        root.display()
    )
}

/// What a CLI test starts from: the CLIs' folder, a fresh home and work
/// folder, a server whose presets find the CLIs there ([`ai_server`]), and
/// the test's turn ([`ONE_AT_A_TIME`], given back after the server and the
/// folders are gone).
pub struct CliTest {
    pub server: TestServer,
    pub home: TempDir,
    pub work: TempDir,
    pub bin: PathBuf,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

/// The start of the CLI test `test`: `None` when it is skipped (see
/// [`cli_bin`]); else, once it is its turn, its server.
pub async fn cli_test(test: &str) -> Option<CliTest> {
    let bin = cli_bin(test)?;
    let turn = ONE_AT_A_TIME.lock().await;
    let (home, work) = (TempDir::new("home"), TempDir::new("work"));
    let server = ai_server(&bin, home.dir(), work.dir());
    Some(CliTest {
        server,
        home,
        work,
        bin,
        _turn: turn,
    })
}

/// A server whose `claude`, `codex` and `gemini` presets find the CLIs in
/// `bin` (the config's `bin_dir`), run in `work`, with a fresh `HOME` (no
/// login, no earlier choices: the first-run screens).
pub fn ai_server(bin: &Path, home: &Path, work: &Path) -> TestServer {
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
pub async fn start(server: &TestServer, provider: &str) -> Value {
    let r = server
        .call(
            "/api/sessions",
            json!({"provider": provider, "cols": COLS, "rows": ROWS}),
        )
        .await;
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    r.json().await.unwrap()
}

pub async fn screen_lines(server: &TestServer, id: &str) -> Vec<String> {
    let s: Value = server.get_json(&format!("/api/sessions/{id}/screen")).await;
    s["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_owned())
        .collect()
}

/// Waits (server side, `/wait`) until the screen matches `pattern`; on a
/// timeout, fails with the screen.
pub async fn wait_screen(server: &TestServer, id: &str, pattern: &str) {
    let r = server
        .call(
            &format!("/api/sessions/{id}/wait"),
            json!({"pattern": pattern, "timeout_ms": SLOW.as_millis() as u64}),
        )
        .await;
    if r.status() != 200 {
        let lines = screen_lines(server, id).await;
        panic!(
            "waiting for {pattern:?}: {}; the screen:\n{}",
            r.status(),
            lines.join("\n")
        );
    }
}

pub async fn input(server: &TestServer, id: &str, data: &str) {
    let r = server
        .call(&format!("/api/sessions/{id}/input"), json!({"data": data}))
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
}

pub async fn session(server: &TestServer, id: &str) -> Value {
    server.get_json(&format!("/api/sessions/{id}")).await
}

/// Lines without trailing blanks, without trailing empty lines.
pub fn normalized(lines: &[String]) -> Vec<String> {
    let mut out: Vec<String> = lines.iter().map(|l| l.trim_end().to_owned()).collect();
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out
}

/// Every live process whose environment has `HOME=home`: all that a CLI
/// started with that (private) home, daemons included (Codex starts an
/// app-server daemon in a session of its own).
pub fn processes_with_home(home: &Path) -> Vec<i32> {
    procfs::process::all_processes()
        .expect("/proc can be read")
        .filter_map(Result::ok)
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
pub struct Tmux {
    socket: String,
    home: TempDir,
    _dir: TempDir,
}

impl Tmux {
    pub fn start(program: &Path, work: &Path) -> Tmux {
        let home = TempDir::new("tmux-home");
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let socket = format!("ptyhub-test-{}-{n}", std::process::id());
        let dir = TempDir::new("tmux");
        let conf = dir.dir().join("tmux.conf");
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
            .arg(format!("HOME={}", home.dir().display()))
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

    pub fn capture(&self) -> Vec<String> {
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
        for pid in processes_with_home(self.home.dir()) {
            if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
    }
}

/// Waits until ptyhub's screen of `id` and tmux's are the same (both may
/// still be drawing, or animating), and that screen shows `pattern`.
pub async fn assert_same_as_tmux(server: &TestServer, id: &str, tmux: &Tmux, pattern: &str) {
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

pub fn parser() -> vt100::Parser {
    let nz = |v| std::num::NonZeroU16::new(v).unwrap();
    vt100::Parser::new(nz(ROWS), nz(COLS), 0)
}

pub fn rows(p: &vt100::Parser) -> Vec<String> {
    p.screen().rows(0, COLS).collect()
}

/// Runs the binary with an empty environment (as under a bare systemd
/// unit): only its token.
pub struct BareServer {
    child: std::process::Child,
    pub base: String,
    _dir: TempDir,
}

impl BareServer {
    pub fn start() -> BareServer {
        use std::io::{BufRead, BufReader};
        let dir = TempDir::new("bare");
        let conf = dir.dir().join("config.toml");
        std::fs::write(&conf, "allow_arbitrary_commands = true\n").unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_ptyhub"))
            .args(["serve", "--bind", "127.0.0.1:0", "--config"])
            .arg(&conf)
            .env_clear()
            .env("PTYHUB_TOKEN", TOKEN)
            .env("XDG_RUNTIME_DIR", dir.dir())
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
