//! The server as a child subreaper: the last line when a session's guard
//! is gone.
//!
//! Each guard reaps and ends its session's orphans, but a program can kill
//! its own guard (`kill -9` of its parent) and then start `setsid` daemons:
//! those would run on under PID 1, out of every limit. With the server a
//! child subreaper (`PR_SET_CHILD_SUBREAPER`, see [`become_subreaper`]),
//! the orphans of a dead guard are re-parented to the server instead, and
//! [`sweep`] ends them: every child of the server that is neither a guard
//! it started (tracked when it spawns them) nor in the server's own session
//! (the version probes and other helpers the server runs stay in it, and
//! nothing started in a session can ever join it again) is stopped, then
//! killed with all its descendants, then reaped.
//!
//! Guards and their children are waited for by their owners (by pid); the
//! sweep waits only for the pids it ended itself, never for "any child".
//!
//! On cgroup v2 with a delegated subtree a session could get its own cgroup
//! instead (the kernel then holds every process and enforces `memory.max`
//! and `pids.max`); this is the design for machines without one (cgroup v1,
//! containers without delegation).

use std::collections::HashSet;
use std::process::{Child, Command};
use std::sync::Mutex;
use std::time::Duration;

use rustix::process::{Pid, Signal, WaitOptions};

use crate::procs::{self, ProcInfo};

/// The guards this process started and has not reaped yet.
static GUARDS: Mutex<Option<HashSet<i32>>> = Mutex::new(None);

fn guards() -> std::sync::MutexGuard<'static, Option<HashSet<i32>>> {
    // A set of pids: a panic elsewhere leaves it consistent.
    GUARDS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Makes this process a child subreaper: orphans of its descendants (of a
/// killed guard's session) are re-parented to it rather than to PID 1.
pub fn become_subreaper() -> std::io::Result<()> {
    rustix::process::set_child_subreaper(Some(rustix::process::getpid()))?;
    Ok(())
}

/// Spawns a guard and records its pid, atomically with respect to
/// [`sweep`] (which must never take a starting guard for an orphan).
pub(crate) fn spawn_guard(cmd: &mut Command) -> std::io::Result<Child> {
    let mut set = guards();
    let child = cmd.spawn()?;
    set.get_or_insert_with(HashSet::new)
        .insert(child.id() as i32);
    Ok(child)
}

/// A guard was reaped: its pid may be reused.
pub(crate) fn guard_reaped(pid: u32) {
    if let Some(set) = guards().as_mut() {
        set.remove(&(pid as i32));
    }
}

/// A tree of processes that left its guard, as [`sweep`] ended it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Escaped {
    /// The process re-parented to the server.
    pub pid: i32,
    /// Its session id: a session's program leads its session, so this
    /// is that program's pid unless the process called `setsid` itself.
    pub sid: i32,
    /// How many processes were killed with it (its descendants, itself
    /// included; 0 when it was already a zombie).
    pub killed: usize,
}

/// Rounds of one sweep: a tree that forks while it is being stopped is
/// caught by the next round.
const ROUNDS: usize = 20;

/// Ends every process re-parented to this one from a dead guard's session
/// (see the module's doc), with its descendants, and reaps it. Returns
/// what it ended; empty when nothing escaped. Blocks for a few
/// milliseconds per round: call it from a blocking thread.
pub fn sweep() -> Vec<Escaped> {
    let me = rustix::process::getpid().as_raw_nonzero().get();
    // From /proc, not getsid(2): a session whose leader lives outside
    // this pid namespace (a container's) reads as 0 there, which
    // rustix's `Pid` cannot hold.
    let Some(own_sid) = procs::StatFile::open(me)
        .and_then(|f| f.read(&mut Vec::new()))
        .map(|p| p.session)
    else {
        return Vec::new();
    };
    let mut ended: Vec<Escaped> = Vec::new();
    for _ in 0..ROUNDS {
        let roots = {
            // Held while scanning and signalling: no guard starts unseen.
            let set = guards();
            let all = procs::scan();
            let roots: Vec<ProcInfo> = all
                .iter()
                .filter(|p| {
                    p.ppid == me
                        && p.session != own_sid
                        && !set.as_ref().is_some_and(|s| s.contains(&p.pid))
                })
                .copied()
                .collect();
            for root in &roots {
                let mut tree = procs::descendants(&all, root.pid);
                tree.push(*root);
                // Stopped first, so that none forks between the kills.
                for p in &tree {
                    signal(p.pid, Signal::STOP);
                }
                for p in &tree {
                    signal(p.pid, Signal::KILL);
                }
                match ended.iter_mut().find(|e| e.pid == root.pid) {
                    Some(e) => e.killed = e.killed.max(tree.len()),
                    None => ended.push(Escaped {
                        pid: root.pid,
                        sid: root.session,
                        killed: tree.len(),
                    }),
                }
            }
            roots
        };
        if roots.is_empty() {
            break;
        }
        // Reap what was killed (it is our child); a process in an
        // uninterruptible sleep is left for the next round or sweep.
        std::thread::sleep(Duration::from_millis(5));
        for root in &roots {
            if let Some(pid) = Pid::from_raw(root.pid) {
                let _ = rustix::process::waitpid(Some(pid), WaitOptions::NOHANG);
            }
        }
    }
    ended
}

fn signal(pid: i32, sig: Signal) {
    if let Some(pid) = Pid::from_raw(pid) {
        // Gone already: nothing to end.
        let _ = rustix::process::kill_process(pid, sig);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sweep ends every untracked session leader among this process's
    /// children: the tests that sweep run one at a time, so that one's
    /// sweep does not end the other's escapee before it is looked at.
    static ONE_SWEEPER: Mutex<()> = Mutex::new(());

    #[test]
    fn a_sweep_leaves_this_process_and_its_own_children_alone() {
        let _one = ONE_SWEEPER.lock().unwrap_or_else(|e| e.into_inner());
        // A child in our own session is a helper of ours, not an escapee.
        let mut helper = Command::new("sleep").arg("30").spawn().unwrap();
        assert!(sweep().iter().all(|e| e.pid != helper.id() as i32));
        assert!(
            helper.try_wait().unwrap().is_none(),
            "the helper was killed"
        );
        helper.kill().unwrap();
        helper.wait().unwrap();
    }

    /// Waits until `pid` leads a session of its own (`setsid` ran).
    fn wait_for_own_session(pid: u32) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !procs::scan()
            .iter()
            .any(|p| p.pid == pid as i32 && p.session == p.pid)
        {
            assert!(std::time::Instant::now() < deadline, "setsid did not run");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn a_child_in_a_session_of_its_own_is_ended_unless_it_is_a_guard() {
        let _one = ONE_SWEEPER.lock().unwrap_or_else(|e| e.into_inner());
        // `setsid` runs `sleep` in a new session (without forking: a fresh
        // child leads no process group).
        let mut guard = spawn_guard(Command::new("setsid").args(["sleep", "30"])).unwrap();
        let mut escaped = Command::new("setsid")
            .args(["sleep", "31"])
            .spawn()
            .unwrap();
        wait_for_own_session(guard.id());
        wait_for_own_session(escaped.id());
        let swept = sweep();
        assert!(
            swept.iter().all(|e| e.pid != guard.id() as i32),
            "{swept:?}"
        );
        assert!(guard.try_wait().unwrap().is_none(), "a guard was killed");
        // The untracked one was killed and reaped by the sweep (a sweep
        // of another test may have been first).
        assert!(escaped.try_wait().is_err() || escaped.try_wait().unwrap().is_some());
        assert!(procs::scan().iter().all(|p| p.pid != escaped.id() as i32));
        guard.kill().unwrap();
        guard.wait().unwrap();
        guard_reaped(guard.id());
    }
}
