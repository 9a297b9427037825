//! The PTY layer with real programs in real pseudo-terminals.

mod common;

use std::time::{Duration, Instant};

use common::{Running, alive, background_jobs, options, tree, wait_for};
use ptyhub_pty::{Environment, ExitStatus, Signal, WindowSize};

#[tokio::test]
async fn output_arrives() {
    let mut r = Running::start(&["sh", "-c", "echo hello-$((6*7)); printf 'a\\tb\\n'"]);
    r.expect("hello-42").await;
    r.expect("a\tb").await;
    assert_eq!(
        r.wait_exit(Duration::from_secs(10)).await,
        ExitStatus::Code(0)
    );
}

#[tokio::test]
async fn stty_size_follows_resize() {
    let mut opts = options(&["bash", "--norc", "--noprofile", "-i"]);
    opts.size = WindowSize::new(100, 30).unwrap();
    let mut r = Running::spawn(opts);
    r.type_line("stty size").await;
    r.expect("30 100").await;
    r.pty.resize(WindowSize::new(132, 43).unwrap()).unwrap();
    assert_eq!(
        r.pty.size(),
        WindowSize {
            cols: 132,
            rows: 43
        }
    );
    r.type_line("stty size").await;
    r.expect("43 132").await;
    assert!(WindowSize::new(0, 10).is_err());
    assert!(WindowSize::new(10, 1001).is_err());
    r.type_line("exit 0").await;
    r.wait_exit(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn sigint_interrupts_the_foreground_job_and_the_prompt_returns() {
    let mut r = Running::start(&["bash", "--norc", "--noprofile", "-i"]);
    r.expect("ptyhub$ ").await;
    r.type_line("sleep 100").await;
    let pid = r.pty.pid();
    // Job control: `sleep` becomes the foreground process group. Signalled
    // only once the group's leader runs `sleep`: between bash's fork and
    // the exec, the child still has the interactive shell's SIGINT handler
    // and a SIGINT then is lost (a flaky failure under load).
    assert!(
        wait_for(Duration::from_secs(10), || r
            .pty
            .foreground_group()
            .is_some_and(|g| g != pid
                && std::fs::read_to_string(format!("/proc/{g}/comm"))
                    .is_ok_and(|c| c.trim() == "sleep"))),
        "sleep never became the foreground group"
    );
    let started = Instant::now();
    r.pty.signal_foreground(Signal::Int).unwrap();
    r.type_line("echo after-$((40+2))").await;
    r.expect("after-42").await;
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(r.pty.foreground_group(), Some(pid));
    r.type_line("exit").await;
    r.wait_exit(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn exit_codes_and_signals() {
    let mut code = Running::start(&["bash", "-c", "exit 3"]);
    assert_eq!(
        code.wait_exit(Duration::from_secs(10)).await,
        ExitStatus::Code(3)
    );
    let mut killed = Running::start(&["bash", "-c", "kill -9 $$"]);
    let status = killed.wait_exit(Duration::from_secs(10)).await;
    assert_eq!(status, ExitStatus::Signal(9));
    assert_eq!(status.signal_name().as_deref(), Some("SIGKILL"));
}

#[tokio::test]
async fn sigpipe_is_at_its_default() {
    let mut r = Running::start(&[
        "bash",
        "-c",
        "yes | head -c 1000 >/dev/null; echo status=${PIPESTATUS[0]}; grep SigIgn /proc/self/status; grep SigBlk /proc/self/status",
    ]);
    r.expect("SigBlk").await;
    r.wait_exit(Duration::from_secs(10)).await;
    let text = r.text();
    assert!(!text.contains("Broken pipe"), "{text}");
    // yes died of SIGPIPE (128 + 13), as on a real terminal.
    assert!(text.contains("status=141"), "{text}");
    assert!(text.contains("SigIgn:\t0000000000000000"), "{text}");
    assert!(text.contains("SigBlk:\t0000000000000000"), "{text}");
}

#[tokio::test]
async fn only_three_descriptors_are_inherited() {
    // `ls` runs as a child of `sh` and lists the descriptors of `sh`.
    let mut r = Running::start(&["sh", "-c", "ls -l /proc/$$/fd; echo end"]);
    r.expect("end").await;
    let text = r.text();
    let fds: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once(" -> ")?.0.rsplit(' ').next())
        .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_digit()))
        .collect();
    assert_eq!(fds, ["0", "1", "2"], "{}", r.text());
    r.wait_exit(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn the_servers_token_does_not_leak() {
    // The server's environment holds its token; the session's does not.
    let server_env = std::env::vars_os().chain([("PTYHUB_TOKEN".into(), "s3cret-token".into())]);
    let mut opts = options(&["sh", "-c", "env; echo END-OF-ENV"]);
    opts.env = Environment::from_server(server_env).overlay([("FROM_REQUEST", "yes")]);
    let mut r = Running::spawn(opts);
    r.expect("END-OF-ENV").await;
    r.wait_exit(Duration::from_secs(10)).await;
    let text = r.text();
    assert!(!text.contains("s3cret-token"), "{text}");
    assert!(!text.contains("PTYHUB_TOKEN"), "{text}");
    assert!(text.contains("TERM=xterm-256color"), "{text}");
    assert!(text.contains("COLORTERM=truecolor"), "{text}");
    assert!(text.contains("FROM_REQUEST=yes"), "{text}");
}

#[tokio::test]
async fn the_program_leads_its_own_session_with_the_terminal() {
    let mut r = Running::start(&["bash", "--norc", "--noprofile", "-i"]);
    r.expect("ptyhub$ ").await;
    let pid = r.pty.pid();
    let stat = procfs::process::Process::new(pid).unwrap().stat().unwrap();
    assert_eq!(stat.session, pid, "session leader");
    assert_eq!(stat.pgrp, pid, "own process group");
    assert_eq!(stat.tpgid, pid, "foreground on its terminal");
    assert!(stat.tty_nr > 0, "has a controlling terminal");
    assert_eq!(stat.ppid, r.pty.guard_pid());
    r.pty.terminate().unwrap();
    r.wait_exit(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn terminate_ends_every_background_job() {
    let mut r = Running::start(&["bash", "--norc", "--noprofile", "-i"]);
    r.expect("ptyhub$ ").await;
    for line in common::BACKGROUND_JOBS.lines().filter(|l| !l.is_empty()) {
        // The python daemon spans lines; bash continues the open quote.
        r.pty
            .input()
            .send(format!("{line}\n").into_bytes().into())
            .await
            .unwrap();
    }
    r.expect("ready").await;
    let jobs = background_jobs(r.pty.guard_pid());
    let guard_pid = r.pty.guard_pid();
    let grace = Duration::from_secs(1);
    let started = Instant::now();
    r.pty.terminate().unwrap();
    let gone = wait_for(grace + Duration::from_secs(1), || {
        jobs.iter().all(|p| !alive(p))
    });
    let left: Vec<_> = jobs.iter().filter(|p| alive(p)).collect();
    assert!(gone, "left after {:?}: {left:?}", started.elapsed());
    let status = r.wait_exit(Duration::from_secs(5)).await;
    assert!(matches!(status, ExitStatus::Signal(_)), "{status:?}");
    assert!(wait_for(Duration::from_secs(2), || tree(guard_pid).is_empty()));
}

#[tokio::test]
async fn a_guard_killed_from_outside_still_lets_terminate_end_the_session() {
    let mut r = Running::start(&["bash", "-c", "sleep 1007 & sleep 1008 & echo up; wait"]);
    r.expect("up").await;
    let sid = r.pty.pid();
    let members = || {
        procfs::process::all_processes()
            .unwrap()
            .filter_map(|p| p.ok()?.stat().ok())
            .filter(|s| s.session == sid && s.state != 'Z')
            .count()
    };
    assert!(wait_for(Duration::from_secs(5), || members() == 3));
    let guard = rustix::process::Pid::from_raw(r.pty.guard_pid()).unwrap();
    rustix::process::kill_process(guard, rustix::process::Signal::KILL).unwrap();
    // The control pipe may take a moment to report the guard's death.
    assert!(wait_for(Duration::from_secs(2), || {
        r.pty.terminate().is_ok() && members() == 0
    }));
    let status = r.wait_exit(Duration::from_secs(5)).await;
    assert_eq!(status, ExitStatus::Lost);
}

#[tokio::test]
async fn the_session_ends_with_its_program() {
    // bash leaves a job behind and exits: the job goes too.
    let mut r = Running::start(&["bash", "-c", "sleep 1006 & echo bg=$!; exit 7"]);
    r.expect("bg=").await;
    assert_eq!(
        r.wait_exit(Duration::from_secs(10)).await,
        ExitStatus::Code(7)
    );
    let guard_pid = r.pty.guard_pid();
    assert!(
        wait_for(Duration::from_secs(3), || tree(guard_pid).is_empty()),
        "{:?}",
        tree(guard_pid)
    );
}

#[tokio::test]
async fn input_is_written_completely_with_backpressure() {
    // 1 MiB through `cat` in raw mode; the program echoes a count at the end.
    let mut r = Running::start(&[
        "sh",
        "-c",
        "stty raw -echo; echo go; head -c 1048576 | wc -c",
    ]);
    r.expect("go").await;
    let input = r.pty.input();
    let chunk = vec![b'x'; 64 * 1024];
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let input = input.clone();
            let chunk = chunk.clone();
            tokio::spawn(async move {
                for _ in 0..4 {
                    input.send(chunk.clone().into()).await.unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    r.expect("1048576").await;
    r.wait_exit(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn no_output_is_lost_before_the_exit() {
    // 500 runs of "print 1 MB then exit", two at a time: every byte arrives
    // before the exit event.
    const SIZE: usize = 1_000_000;
    let cmd = format!("head -c {SIZE} /dev/zero | tr '\\0' x");
    let mut tasks = tokio::task::JoinSet::new();
    for lane in 0..2 {
        let cmd = cmd.clone();
        tasks.spawn(async move {
            for run in 0..250 {
                let mut r = Running::start(&["sh", "-c", &cmd]);
                let status = r.wait_exit(Duration::from_secs(30)).await;
                assert_eq!(status, ExitStatus::Code(0));
                assert_eq!(r.output.len(), SIZE, "lane {lane} run {run}");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
}
