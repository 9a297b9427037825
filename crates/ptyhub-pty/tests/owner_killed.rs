//! When the process that owns a session dies by SIGKILL, the guard ends the
//! whole session on its own. The owner is this test binary run again as a
//! separate helper process (the ignored test `owner_helper`), so that it can
//! be killed for real.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Running, alive, background_jobs, wait_for};
use ptyhub_pty::procs::ProcInfo;

const HELPER_ENV: &str = "PTYHUB_TEST_OWNER_HELPER";

/// Runs only as the helper process: starts a session with the five kinds of
/// background job, prints the guard's pid, then waits to be killed.
#[tokio::test]
#[ignore = "helper process of owner_sigkill_ends_the_session; run by that test"]
async fn owner_helper() {
    assert!(
        std::env::var_os(HELPER_ENV).is_some(),
        "run by owner_sigkill_ends_the_session"
    );
    let mut r = Running::start(&["bash", "--norc", "--noprofile", "-i"]);
    r.expect("ptyhub$ ").await;
    for line in common::BACKGROUND_JOBS.lines().filter(|l| !l.is_empty()) {
        r.pty
            .input()
            .send(format!("{line}\n").into_bytes().into())
            .await
            .unwrap();
    }
    r.expect("ready").await;
    let report = std::env::var_os(HELPER_ENV).unwrap();
    std::fs::write(report, r.pty.guard_pid().to_string()).unwrap();
    // Wait for the SIGKILL that the parent test sends; the bound only keeps
    // a forgotten helper from running for ever.
    r.until(
        "SIGKILL from the parent test",
        Duration::from_secs(60),
        |_| false,
    )
    .await;
}

#[test]
fn owner_sigkill_ends_the_session() {
    let report = std::env::temp_dir().join(format!("ptyhub-owner-helper-{}", std::process::id()));
    let _ = std::fs::remove_file(&report); // a stale file from an earlier run, if any
    let mut helper = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "owner_helper", "--test-threads=1"])
        .env(HELPER_ENV, &report)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut guard_pid = None;
    wait_for(Duration::from_secs(30), || {
        guard_pid = std::fs::read_to_string(&report)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok());
        guard_pid.is_some()
    });
    std::fs::remove_file(&report).ok();
    let Some(guard_pid) = guard_pid else {
        helper.kill().ok();
        helper.wait().ok();
        panic!("the helper never reported its guard's pid");
    };
    let jobs: Vec<ProcInfo> = background_jobs(guard_pid);
    let program_and_guard: Vec<ProcInfo> = ptyhub_pty::procs::scan()
        .into_iter()
        .filter(|p| p.pid == guard_pid || p.ppid == guard_pid)
        .collect();

    helper.kill().unwrap(); // SIGKILL
    let killed_at = Instant::now();
    helper.wait().unwrap();
    let everything: Vec<ProcInfo> = jobs.iter().chain(&program_and_guard).copied().collect();
    let gone = wait_for(Duration::from_secs(2), || {
        everything.iter().all(|p| !alive(p))
    });
    let left: Vec<_> = everything.iter().filter(|p| alive(p)).collect();
    assert!(
        gone,
        "left {:?} after the owner's SIGKILL: {left:?}",
        killed_at.elapsed()
    );
}
