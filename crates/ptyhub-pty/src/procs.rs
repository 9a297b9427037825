//! Processes as `/proc` shows them: the members of a terminal session and
//! the descendants of a guard, each with its start time so that a pid is
//! never mistaken for a later process that reused it.

use std::collections::{HashMap, HashSet};

use rustix::process::{Pid, PidfdFlags};

/// One process, as read from `/proc/<pid>/stat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcInfo {
    /// Process id.
    pub pid: i32,
    /// Parent's id.
    pub ppid: i32,
    /// Process group id.
    pub pgrp: i32,
    /// Session id.
    pub session: i32,
    /// Start time in clock ticks since boot: with `pid`, the process's identity.
    pub start_time: u64,
    /// CPU time in clock ticks: its own (user + system) and that of its
    /// children it has waited for.
    pub cpu_ticks: u64,
    /// CPU ticks of waited-for children alone (the dead part of its tree).
    pub children_cpu_ticks: u64,
    /// Threads.
    pub threads: u64,
    /// Resident set in pages.
    pub rss_pages: u64,
}

/// Every process on the machine (those that vanish while being read are
/// skipped). One `open` and `read` of `/proc/<pid>/stat` each, into one
/// reused buffer: the supervisor runs this every second over every process
/// of the machine.
pub fn scan() -> Vec<ProcInfo> {
    scan_except(|_| false)
}

/// [`scan`] without the processes `skip` names (not even read: the read of
/// `/proc/<pid>/stat` is most of a scan's cost).
pub fn scan_except(skip: impl Fn(i32) -> bool) -> Vec<ProcInfo> {
    use procfs::FromRead;
    use std::io::Read;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut buf = Vec::with_capacity(1024);
    let mut path = String::with_capacity(32);
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        if pid.parse().is_ok_and(&skip) {
            continue;
        }
        path.clear();
        path.push_str("/proc/");
        path.push_str(pid);
        path.push_str("/stat");
        buf.clear();
        let read = std::fs::File::open(&path).and_then(|mut f| f.read_to_end(&mut buf));
        if read.is_err() {
            continue; // gone meanwhile
        }
        let Ok(s) = procfs::process::Stat::from_read(&buf[..]) else {
            continue;
        };
        out.push(info(&s));
    }
    out
}

/// `/proc/<pid>/stat` of one process, kept open and read again with
/// `pread`: a re-read costs about a third of an open, read and close. The
/// open file stays bound to that process: once it is gone, reads fail,
/// even if its pid is reused.
#[derive(Debug)]
pub struct StatFile(std::fs::File);

impl StatFile {
    /// Opens the stat file of `pid`.
    pub fn open(pid: i32) -> Option<StatFile> {
        std::fs::File::open(format!("/proc/{pid}/stat"))
            .ok()
            .map(StatFile)
    }

    /// The process as it is now; `None` once it is gone.
    pub fn read(&self, buf: &mut Vec<u8>) -> Option<ProcInfo> {
        use procfs::FromRead;
        use std::os::unix::fs::FileExt;
        buf.clear();
        buf.resize(4096, 0);
        let n = self.0.read_at(buf, 0).ok().filter(|&n| n > 0)?;
        let s = procfs::process::Stat::from_read(&buf[..n]).ok()?;
        Some(info(&s))
    }
}

fn info(s: &procfs::process::Stat) -> ProcInfo {
    ProcInfo {
        pid: s.pid,
        ppid: s.ppid,
        pgrp: s.pgrp,
        session: s.session,
        start_time: s.starttime,
        cpu_ticks: s.utime + s.stime,
        children_cpu_ticks: (s.cutime.max(0) + s.cstime.max(0)) as u64,
        threads: s.num_threads.max(0) as u64,
        rss_pages: s.rss,
    }
}

/// CPU time the calling thread has used so far.
pub fn thread_cpu_time() -> std::time::Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    std::time::Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Clock ticks per second (for [`ProcInfo::cpu_ticks`]).
pub fn ticks_per_second() -> u64 {
    procfs::ticks_per_second()
}

/// Bytes per page (for [`ProcInfo::rss_pages`]).
pub fn page_size() -> u64 {
    procfs::page_size()
}

/// When the machine booted, in seconds since the Unix epoch (start times
/// count from there).
pub fn boot_time_secs() -> Option<u64> {
    procfs::boot_time_secs().ok()
}

/// The start time of `pid`, if it exists.
pub fn start_time(pid: i32) -> Option<u64> {
    procfs::process::Process::new(pid)
        .ok()?
        .stat()
        .ok()
        .map(|s| s.starttime)
}

/// Every descendant of `root` in `all` (not `root` itself).
pub fn descendants(all: &[ProcInfo], root: i32) -> Vec<ProcInfo> {
    let mut children: HashMap<i32, Vec<&ProcInfo>> = HashMap::new();
    for p in all {
        children.entry(p.ppid).or_default().push(p);
    }
    let mut out = Vec::new();
    let mut stack = vec![root];
    let mut seen = HashSet::new();
    while let Some(pid) = stack.pop() {
        for child in children.get(&pid).into_iter().flatten() {
            if seen.insert(child.pid) {
                out.push(**child);
                stack.push(child.pid);
            }
        }
    }
    out
}

/// The process groups that have a member in session `sid`.
pub fn session_groups(all: &[ProcInfo], sid: i32) -> Vec<i32> {
    let groups: HashSet<i32> = all
        .iter()
        .filter(|p| p.session == sid)
        .map(|p| p.pgrp)
        .collect();
    groups.into_iter().collect()
}

/// Sends `sig` to the process `pid` only if it is still the one that started
/// at `start_time`: the pidfd pins the process, then its start time is
/// checked, so a reused pid is never hit.
pub fn signal_exact(pid: i32, start_time: u64, sig: rustix::process::Signal) -> bool {
    let Some(pid_nz) = Pid::from_raw(pid) else {
        return false;
    };
    let Ok(pidfd) = rustix::process::pidfd_open(pid_nz, PidfdFlags::empty()) else {
        return false;
    };
    if self::start_time(pid) != Some(start_time) {
        return false;
    }
    rustix::process::pidfd_send_signal(&pidfd, sig).is_ok()
}
