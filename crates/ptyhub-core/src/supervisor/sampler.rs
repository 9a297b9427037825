//! The supervisor's sampler: one pass over `/proc` per interval for every
//! session at once (not one per session), summing each session's whole
//! process tree, storing the numbers in the session and ending the sessions
//! that are over a limit.
//!
//! A session's tree is every descendant of its guard (the guard is a child
//! subreaper, so orphans and double-forked daemons are re-parented to it and
//! stay in the tree), the guard itself excluded. Its CPU time counts the dead
//! too: a process's waited-for children are in its `cutime`/`cstime`, and
//! the orphans the guard reaped are in the guard's.
//!
//! A fork bomb or a memory hog must be seen before it takes the machine
//! down: while a session is near a limit or less than a second old, the
//! next pass comes after [`FAST`] instead of the interval; while its
//! process count is climbing, and first of all just after it started,
//! after [`CLIMBING`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Weak};
use std::time::Duration;

use ptyhub_protocol::api::{ExitReason, Resources};
use ptyhub_pty::procs::{self, ProcInfo, StatFile};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::time::{Instant, sleep_until};
use uuid::Uuid;

use super::Books;
use crate::Limits;
use crate::registry::Registry;
use crate::session::Session;

/// The interval while some session is close to a limit.
pub(crate) const FAST: Duration = Duration::from_millis(50);

/// The interval while some session's process count is climbing (a fork
/// loop forks a hundred processes in [`FAST`] on an idle machine), and the
/// first look at a new session.
pub(crate) const CLIMBING: Duration = Duration::from_millis(10);

/// One session's tree, summed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tree {
    pub processes: u64,
    pub threads: u64,
    pub rss_pages: u64,
    pub cpu_ticks: u64,
    /// The program's start time in ticks since boot, if it still runs.
    pub program_start: Option<u64>,
}

/// Sums the tree of each `(guard, program)` pair in one pass over `all`.
/// A guard missing from `all` (not read this pass) counts the CPU of the
/// orphans it reaped as `None`.
pub(crate) fn trees(all: &[ProcInfo], targets: &[(i32, i32)]) -> Vec<(Tree, Option<u64>)> {
    let mut children: HashMap<i32, Vec<&ProcInfo>> = HashMap::new();
    let mut by_pid: HashMap<i32, &ProcInfo> = HashMap::new();
    for p in all {
        children.entry(p.ppid).or_default().push(p);
        by_pid.insert(p.pid, p);
    }
    targets
        .iter()
        .map(|&(guard, program)| {
            let mut tree = Tree {
                program_start: by_pid.get(&program).map(|p| p.start_time),
                ..Tree::default()
            };
            // The orphans the guard reaped.
            let reaped = by_pid.get(&guard).map(|g| g.children_cpu_ticks);
            let mut stack = vec![guard];
            while let Some(pid) = stack.pop() {
                for p in children.get(&pid).into_iter().flatten() {
                    tree.processes += 1;
                    tree.threads += p.threads;
                    tree.rss_pages += p.rss_pages;
                    tree.cpu_ticks += p.cpu_ticks + p.children_cpu_ticks;
                    stack.push(p.pid);
                }
            }
            (tree, reaped)
        })
        .collect()
}

/// The limit a session's numbers are over, if any.
pub(crate) fn over_limit(limits: &Limits, r: &Resources) -> Option<ExitReason> {
    if limits.max_processes.is_some_and(|max| r.processes > max) {
        Some(ExitReason::ProcessLimit)
    } else if limits.memory_limit.is_some_and(|max| r.rss_bytes > max) {
        Some(ExitReason::MemoryLimit)
    } else if limits
        .cpu_limit
        .is_some_and(|max| r.cpu_seconds > max.as_secs_f64())
    {
        Some(ExitReason::CpuLimit)
    } else {
        None
    }
}

/// Whether a session should be looked at again soon: over half a limit, or
/// its process count growing fast.
pub(crate) fn is_hot(limits: &Limits, r: &Resources, last_processes: u64) -> bool {
    let half = |value: f64, max: Option<f64>| max.is_some_and(|m| value * 2.0 > m);
    is_climbing(r, last_processes)
        || half(r.processes as f64, limits.max_processes.map(|m| m as f64))
        || half(r.rss_bytes as f64, limits.memory_limit.map(|m| m as f64))
        || half(r.cpu_seconds, limits.cpu_limit.map(|m| m.as_secs_f64()))
}

/// Whether a session's process count grew fast since the last pass.
pub(crate) fn is_climbing(r: &Resources, last_processes: u64) -> bool {
    r.processes > last_processes + 8
}

/// One pass over `/proc`: the sessions' programs re-read through their
/// kept-open stat files (`open`, updated), every other process read once,
/// the guards only when `read_guards`.
fn pass(
    open: &mut HashMap<i32, StatFile>,
    targets: &[(i32, i32)],
    read_guards: bool,
) -> Vec<ProcInfo> {
    let programs: HashSet<i32> = targets.iter().map(|t| t.1).collect();
    let guards: HashSet<i32> = targets.iter().map(|t| t.0).collect();
    open.retain(|pid, _| programs.contains(pid));
    let mut buf = Vec::new();
    let mut all: Vec<ProcInfo> = programs
        .iter()
        .filter_map(|&pid| {
            let file = match open.entry(pid) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(StatFile::open(pid)?),
            };
            file.read(&mut buf)
        })
        .collect();
    all.extend(procs::scan_except(|pid| {
        programs.contains(&pid) || (!read_guards && guards.contains(&pid))
    }));
    all
}

/// What a session had at its last sample.
struct Last {
    cpu_seconds: f64,
    processes: u64,
    at: Instant,
    /// CPU ticks of the orphans its guard reaped, as last read.
    reaped: u64,
}

/// Guards are read once every this many passes: their own line only adds
/// the CPU of reaped orphans, and skipping them halves a pass over idle
/// sessions (a read of `/proc/<pid>/stat` costs ~16 µs, most of a pass).
const GUARD_EVERY: u64 = 10;

/// Runs until the registry is gone. Started by the supervisor before its
/// first session; woken by it for each new one (`Books::new_session`).
pub(crate) async fn run(registry: Weak<Registry>, books: Arc<Books>, interval: Duration) {
    let tick = procs::ticks_per_second().max(1) as f64;
    let page = procs::page_size();
    let boot = boot_time();
    let mut last: HashMap<Uuid, Last> = HashMap::new();
    let mut passes = 0u64;
    let mut programs: HashMap<i32, StatFile> = HashMap::new();
    // Every session listed at the last pass, ended or not: one missing now
    // was forgotten, and its memory is free.
    let mut listed: HashSet<Uuid> = HashSet::new();
    let mut next = Instant::now() + interval.min(Duration::from_millis(200));
    loop {
        tokio::select! {
            () = sleep_until(next) => {}
            // A new session: look at it soon.
            () = books.new_session.notified() => {
                next = next.min(Instant::now() + CLIMBING);
                continue;
            }
        }
        let Some(registry) = registry.upgrade() else {
            return;
        };
        let all = registry.list();
        let before = std::mem::replace(&mut listed, all.iter().map(|s| s.id()).collect());
        let forgotten = before.iter().any(|id| !listed.contains(id));
        if books.take_trim_due() | forgotten {
            // Sessions or clients are gone: hand their freed memory back
            // (glibc keeps it otherwise; measured in BENCHMARKS.md).
            tokio::task::spawn_blocking(ptyhub_pty::release_free_memory);
        }
        let sessions: Vec<Arc<Session>> = all.into_iter().filter(|s| !s.is_ended()).collect();
        last.retain(|id, _| sessions.iter().any(|s| s.id() == *id));
        if sessions.is_empty() {
            // The cached `/proc` files of sessions that ended (descriptors).
            programs.clear();
            drop(registry);
            next = Instant::now() + interval;
            continue;
        }
        let targets: Vec<(i32, i32)> = sessions.iter().map(|s| (s.guard_pid(), s.pid())).collect();
        passes += 1;
        let read_guards = passes % GUARD_EVERY == 1;
        let mut open = std::mem::take(&mut programs);
        let measured = tokio::task::spawn_blocking(move || {
            let cpu = procs::thread_cpu_time();
            let all = pass(&mut open, &targets, read_guards);
            let trees = trees(&all, &targets);
            (trees, procs::thread_cpu_time().saturating_sub(cpu), open)
        })
        .await;
        let Ok((measured, cost, open)) = measured else {
            tracing::warn!("the sampler's /proc pass failed");
            next = Instant::now() + interval;
            continue;
        };
        programs = open;
        books.record_sample(cost);
        let now = Instant::now();
        let sampled_at = rfc3339(OffsetDateTime::now_utc());
        let mut hot = false;
        let mut climbing = false;
        for (session, (tree, reaped)) in sessions.iter().zip(measured) {
            let prev = last.get(&session.id());
            let reaped = reaped.or(prev.map(|p| p.reaped)).unwrap_or(0);
            let cpu_seconds = (tree.cpu_ticks + reaped) as f64 / tick;
            let cpu_percent = prev.map_or(0.0, |p| {
                let wall = now.duration_since(p.at).as_secs_f64();
                if wall > 0.0 {
                    ((cpu_seconds - p.cpu_seconds) / wall * 100.0).max(0.0)
                } else {
                    0.0
                }
            });
            let resources = Resources {
                rss_bytes: tree.rss_pages * page,
                cpu_seconds,
                cpu_percent,
                threads: tree.threads,
                processes: tree.processes,
                program_started_at: tree.program_start.zip(boot).map(|(start, boot)| {
                    rfc3339(boot + Duration::from_secs_f64(start as f64 / tick))
                }),
                sampled_at: Some(sampled_at.clone()),
            };
            let limits = session.limits();
            // A new session is watched closely for its first second: a fork
            // loop started by the program itself is seen at once.
            let last_processes = prev.map_or(0, |p| p.processes);
            hot |= session.age() < Duration::from_secs(1)
                || is_hot(limits, &resources, last_processes);
            climbing |= is_climbing(&resources, last_processes);
            last.insert(
                session.id(),
                Last {
                    cpu_seconds,
                    processes: resources.processes,
                    at: now,
                    reaped,
                },
            );
            let over = over_limit(limits, &resources);
            if session.set_sampled(resources) {
                registry.emit_change(session, crate::session::Change::Status);
            }
            if let Some(reason) = over {
                tracing::info!(id = %session.id(), "ending the session: {reason}");
                if let Err(e) = session.terminate(reason) {
                    tracing::warn!(id = %session.id(), "ending the session ({reason}): {e}");
                }
            }
        }
        drop(registry);
        next = Instant::now()
            + if climbing {
                CLIMBING.min(interval)
            } else if hot {
                FAST.min(interval)
            } else {
                interval
            };
    }
}

fn boot_time() -> Option<OffsetDateTime> {
    let secs = procs::boot_time_secs()?;
    OffsetDateTime::from_unix_timestamp(i64::try_from(secs).ok()?).ok()
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc(pid: i32, ppid: i32, cpu: u64, dead_children: u64) -> ProcInfo {
        ProcInfo {
            pid,
            ppid,
            pgrp: pid,
            session: pid,
            start_time: 1000 + pid as u64,
            cpu_ticks: cpu,
            children_cpu_ticks: dead_children,
            threads: 1,
            rss_pages: 10,
        }
    }

    #[test]
    fn a_tree_is_the_guards_descendants_with_the_dead_counted() {
        let all = [
            proc(1, 0, 0, 0),
            // Session A: guard 10 (reaped orphans: 7 ticks), program 11,
            // its child 12 and an adopted daemon 13.
            proc(10, 1, 99, 7),
            proc(11, 10, 5, 3),
            proc(12, 11, 2, 0),
            proc(13, 10, 1, 0),
            // Session B: guard 20, program 21.
            proc(20, 1, 50, 0),
            proc(21, 20, 4, 0),
            // Not in any session.
            proc(30, 1, 1000, 0),
        ];
        let t = trees(&all, &[(10, 11), (20, 21), (40, 41)]);
        assert_eq!(
            t[0],
            (
                Tree {
                    processes: 3,
                    threads: 3,
                    rss_pages: 30,
                    cpu_ticks: 5 + 3 + 2 + 1,
                    program_start: Some(1011),
                },
                Some(7)
            )
        );
        assert_eq!(t[1].0.processes, 1);
        assert_eq!(t[1].0.cpu_ticks, 4);
        // A guard that is gone (or not read this pass): nothing, not an
        // error.
        assert_eq!(t[2], (Tree::default(), None));
        // Without the guards' own lines the trees are the same.
        let without: Vec<_> = all.iter().filter(|p| p.pid != 10).copied().collect();
        assert_eq!(trees(&without, &[(10, 11)])[0], (t[0].0, None));
    }

    #[test]
    fn limits_name_the_reason_and_hot_sessions_are_sampled_sooner() {
        let limits = Limits {
            memory_limit: Some(64 << 20),
            cpu_limit: Some(Duration::from_secs(1)),
            max_processes: Some(20),
            ..Limits::default()
        };
        let calm = Resources {
            rss_bytes: 1 << 20,
            cpu_seconds: 0.1,
            processes: 2,
            ..Resources::default()
        };
        assert_eq!(over_limit(&limits, &calm), None);
        assert!(!is_hot(&limits, &calm, 2));
        let forking = Resources {
            processes: 21,
            ..calm.clone()
        };
        assert_eq!(
            over_limit(&limits, &forking),
            Some(ExitReason::ProcessLimit)
        );
        assert!(is_hot(
            &limits,
            &Resources {
                processes: 11,
                ..calm.clone()
            },
            11
        ));
        assert!(is_hot(
            &Limits::default(),
            &Resources {
                processes: 20,
                ..calm.clone()
            },
            3
        ));
        let big = Resources {
            rss_bytes: 300 << 20,
            ..calm.clone()
        };
        assert_eq!(over_limit(&limits, &big), Some(ExitReason::MemoryLimit));
        let busy = Resources {
            cpu_seconds: 1.2,
            ..calm.clone()
        };
        assert_eq!(over_limit(&limits, &busy), Some(ExitReason::CpuLimit));
        assert!(is_hot(
            &limits,
            &Resources {
                cpu_seconds: 0.6,
                ..calm
            },
            2
        ));
        // No limits: nothing is ever over.
        let none = Limits {
            idle_timeout: None,
            max_lifetime: None,
            memory_limit: None,
            cpu_limit: None,
            max_processes: None,
        };
        assert_eq!(over_limit(&none, &big), None);
    }
}
