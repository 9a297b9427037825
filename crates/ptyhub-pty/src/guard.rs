//! The guard: a tiny single-threaded process between the server and one
//! session's program.
//!
//! It is a child subreaper, so every orphan of the session (background jobs,
//! `nohup` and `setsid` daemons, double forks) is re-parented to it and
//! reaped by it. It ends the whole tree (SIGHUP, SIGCONT and SIGTERM to every
//! process group of the terminal's session and to every descendant, then
//! after a grace SIGKILL to every descendant) when the server asks, when the
//! program exits, when it is itself sent SIGTERM/SIGHUP/SIGINT, and on its
//! own when the server is gone (its pidfd becomes readable or the control
//! pipe closes). It exits once it has no descendant left.
//!
//! Wire (one line per message):
//! - server → guard (stdin): `terminate`, `kill`.
//! - guard → server (stdout): `started <pid> <start_time>` or
//!   `spawn_error <errno> <message>`, then `exit code <n>` or
//!   `exit signal <n>`, then `done`.

use std::ffi::OsString;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::process::{Pid, PidfdFlags, Signal as RSignal, WaitOptions};

use crate::procs;
use crate::sys;

/// The first argument that puts a binary linking this crate in guard mode.
pub const GUARD_ARG: &str = "__guard";

/// How to start a guard: a program and the arguments that put it in guard
/// mode (the `ptyhub` binary with `__guard`, or the `ptyhub-guard` helper).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuardProgram {
    /// The executable.
    pub program: PathBuf,
    /// Arguments before the guard's own.
    pub args: Vec<OsString>,
    /// The guard's `argv[0]`, when not the program's path (a guard run from
    /// a descriptor, `/proc/self/fd/N`, is named `ptyhub-guard` so).
    pub arg0: Option<OsString>,
}

impl GuardProgram {
    /// The running executable in its hidden guard mode: what the `ptyhub`
    /// binary uses, since its `main` hands `__guard` to [`run`].
    pub fn current_exe() -> std::io::Result<GuardProgram> {
        Ok(GuardProgram {
            program: std::env::current_exe()?,
            args: vec![GUARD_ARG.into()],
            arg0: None,
        })
    }

    /// A standalone guard binary (`ptyhub-guard`, built by this crate).
    pub fn binary(path: impl Into<PathBuf>) -> GuardProgram {
        GuardProgram {
            program: path.into(),
            args: Vec::new(),
            arg0: None,
        }
    }

    /// Finds a guard for tests and tools that are not the `ptyhub` binary:
    /// `$PTYHUB_GUARD`, else `ptyhub-guard` or `ptyhub` (in guard mode) next
    /// to the running executable or one directory up (cargo puts test
    /// binaries in `target/<profile>/deps/`).
    pub fn locate() -> Option<GuardProgram> {
        if let Some(path) = std::env::var_os("PTYHUB_GUARD") {
            return Some(GuardProgram::binary(path));
        }
        let exe = std::env::current_exe().ok()?;
        let dir = exe.parent()?;
        for base in [Some(dir), dir.parent()].into_iter().flatten() {
            let guard = base.join("ptyhub-guard");
            if guard.is_file() {
                return Some(GuardProgram::binary(guard));
            }
            let ptyhub = base.join("ptyhub");
            if ptyhub.is_file() {
                return Some(GuardProgram {
                    program: ptyhub,
                    args: vec![GUARD_ARG.into()],
                    arg0: None,
                });
            }
        }
        None
    }
}

/// What the server passes to a guard.
#[derive(Debug)]
struct GuardArgs {
    server_pid: i32,
    grace: Duration,
    lost_grace: Duration,
    /// The soft open-files limit for the program, when not the guard's own.
    open_files: Option<u64>,
    program: OsString,
    argv0: OsString,
    args: Vec<OsString>,
}

pub(crate) fn guard_args(
    server_pid: u32,
    grace: Duration,
    lost_grace: Duration,
    program: &std::path::Path,
    argv: &[String],
) -> Vec<OsString> {
    let mut out: Vec<OsString> = vec![
        "--server-pid".into(),
        server_pid.to_string().into(),
        "--grace-ms".into(),
        grace.as_millis().to_string().into(),
        "--lost-grace-ms".into(),
        lost_grace.as_millis().to_string().into(),
    ];
    if let Some(limit) = crate::limits::programs_limit() {
        out.extend(["--open-files".into(), limit.to_string().into()]);
    }
    out.extend(["--".into(), program.as_os_str().to_owned()]);
    out.extend(argv.iter().map(OsString::from));
    out
}

fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<GuardArgs, String> {
    let mut it = args.into_iter();
    let mut server_pid = None;
    let mut grace = Duration::from_secs(5);
    let mut lost_grace = Duration::from_secs(1);
    let mut open_files = None;
    let ms = |v: Option<OsString>| -> Result<Duration, String> {
        v.and_then(|v| v.into_string().ok())
            .and_then(|v| v.parse().ok())
            .map(Duration::from_millis)
            .ok_or_else(|| "expected milliseconds".to_owned())
    };
    loop {
        let arg = it.next().ok_or("missing `--`")?;
        match arg.to_str() {
            Some(GUARD_ARG) => {}
            Some("--server-pid") => {
                server_pid = it
                    .next()
                    .and_then(|v| v.into_string().ok())
                    .and_then(|v| v.parse().ok());
            }
            Some("--grace-ms") => grace = ms(it.next())?,
            Some("--lost-grace-ms") => lost_grace = ms(it.next())?,
            Some("--open-files") => {
                let n = it.next().and_then(|v| v.into_string().ok());
                open_files = Some(
                    n.and_then(|v| v.parse().ok())
                        .ok_or("--open-files expects a number")?,
                );
            }
            Some("--") => break,
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    let program = it.next().ok_or("missing program")?;
    let argv0 = it.next().ok_or("missing argv[0]")?;
    Ok(GuardArgs {
        server_pid: server_pid.ok_or("missing --server-pid")?,
        grace,
        lost_grace,
        open_files,
        program,
        argv0,
        args: it.collect(),
    })
}

/// The guard's `main`: `args` are the process arguments after the program
/// name. Returns the process exit code. The process's standard input is the
/// control pipe, standard output the status pipe, standard error the PTY
/// slave (handed on to the program, then closed here).
pub fn run(args: impl IntoIterator<Item = OsString>) -> u8 {
    sys::close_descriptors_from(3);
    // One name in `ps`/`top` however it was started (`ptyhub __guard`, or
    // from a descriptor, whose name would be its number). Cosmetic: a
    // failure changes nothing.
    let _ = std::fs::write("/proc/self/comm", "ptyhub-guard");
    let args = match parse_args(args) {
        Ok(a) => a,
        Err(e) => {
            report(&format!("spawn_error -1 guard: {e}"));
            return 2;
        }
    };
    match Guard::start(args) {
        Ok(mut guard) => guard.run(),
        Err(line) => {
            report(&line);
            1
        }
    }
}

fn report(line: &str) {
    let mut out = std::io::stdout().lock();
    // The server may be gone (EPIPE, with SIGPIPE ignored by Rust's runtime):
    // the guard then carries on ending the session regardless.
    if out.write_all(line.as_bytes()).is_err()
        || out.write_all(b"\n").is_err()
        || out.flush().is_err()
    {
        // Nobody to tell.
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// The program runs.
    Running,
    /// Everything got SIGHUP/SIGTERM; SIGKILL at `kill_at`.
    Ending { kill_at: Instant },
    /// SIGKILL sweeps until no descendant is left.
    Killing,
}

struct Guard {
    me: i32,
    program: i32,
    program_running: bool,
    grace: Duration,
    lost_grace: Duration,
    phase: Phase,
    signals: sys::SignalFd,
    server: Option<std::os::fd::OwnedFd>,
    control_open: bool,
    control_buf: Vec<u8>,
}

const KILL_SWEEP_EVERY: Duration = Duration::from_millis(50);

impl Guard {
    fn start(args: GuardArgs) -> Result<Guard, String> {
        let fail = |what: &str, e: std::io::Error| {
            format!(
                "spawn_error {} guard: {what}: {e}",
                e.raw_os_error().unwrap_or(-1)
            )
        };
        // Out of the server's session and process group: a Ctrl-C at the
        // server's terminal must not reach sessions directly.
        rustix::process::setsid().map_err(|e| fail("setsid", e.into()))?;
        rustix::process::set_child_subreaper(Some(rustix::process::getpid()))
            .map_err(|e| fail("subreaper", e.into()))?;
        let signals =
            sys::SignalFd::new(&[libc::SIGCHLD, libc::SIGTERM, libc::SIGHUP, libc::SIGINT])
                .map_err(|e| fail("signalfd", e))?;
        // The server's pidfd, opened before checking that the server is still
        // our parent, so that its death cannot slip between the two.
        let server = Pid::from_raw(args.server_pid)
            .and_then(|pid| rustix::process::pidfd_open(pid, PidfdFlags::empty()).ok());
        let parent = rustix::process::getppid().map(|p| p.as_raw_nonzero().get());
        if server.is_none() || parent != Some(args.server_pid) {
            return Err("spawn_error -1 guard: the server is gone".to_owned());
        }

        // The program keeps the open-files limit the server was started
        // with (the server raised its own, see `limits`).
        if let Some(limit) = args.open_files {
            crate::limits::set_soft_limit(limit).map_err(|e| fail("setrlimit", e))?;
        }
        let mut cmd = Command::new(&args.program);
        cmd.arg0(&args.argv0).args(&args.args);
        let slave = std::io::stderr()
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| fail("dup", e))?;
        let slave_out = slave.try_clone().map_err(|e| fail("dup", e))?;
        let slave_err = slave.try_clone().map_err(|e| fail("dup", e))?;
        cmd.stdin(slave).stdout(slave_out).stderr(slave_err);
        sys::make_session_leader_on_exec(&mut cmd);
        let child = cmd.spawn().map_err(|e| {
            format!(
                "spawn_error {} {}",
                e.raw_os_error().unwrap_or(-1),
                e.to_string().replace('\n', " ")
            )
        })?;
        drop(cmd);
        let program = child.id() as i32;
        // The guard keeps no handle on the terminal, so that the master sees
        // EOF once the session's processes are gone.
        // Should this fail, fd 2 stays on the slave: the session still ends,
        // only the master's EOF then waits for the guard's own exit.
        if let Ok(null) = std::fs::File::options().write(true).open("/dev/null")
            && let Err(e) = rustix::stdio::dup2_stderr(&null)
        {
            report(&format!("warning guard: cannot close the terminal: {e}"));
        }
        let start_time = procs::start_time(program).unwrap_or(0);
        report(&format!("started {program} {start_time}"));
        Ok(Guard {
            me: rustix::process::getpid().as_raw_nonzero().get(),
            program,
            program_running: true,
            grace: args.grace,
            lost_grace: args.lost_grace,
            phase: Phase::Running,
            signals,
            server,
            control_open: true,
            control_buf: Vec::new(),
        })
    }

    fn run(&mut self) -> u8 {
        loop {
            if self.reap() {
                report("done");
                return 0;
            }
            if let Phase::Ending { kill_at } = self.phase
                && Instant::now() >= kill_at
            {
                self.phase = Phase::Killing;
            }
            if self.phase == Phase::Killing {
                self.kill_sweep();
            }
            let timeout = match self.phase {
                Phase::Running => None,
                Phase::Ending { kill_at } => {
                    Some(kill_at.saturating_duration_since(Instant::now()))
                }
                Phase::Killing => Some(KILL_SWEEP_EVERY),
            };
            self.wait_for_events(timeout);
        }
    }

    /// Polls the signalfd, the control pipe and the server's pidfd once.
    fn wait_for_events(&mut self, timeout: Option<Duration>) {
        let stdin = std::io::stdin();
        let mut fds = Vec::with_capacity(3);
        fds.push(PollFd::new(self.signals.fd(), PollFlags::IN));
        if self.control_open {
            fds.push(PollFd::new(&stdin, PollFlags::IN));
        }
        let server_slot = self.server.as_ref().map(|s| {
            fds.push(PollFd::new(s, PollFlags::IN));
            fds.len() - 1
        });
        let ts = timeout.map(|d| Timespec {
            tv_sec: d.as_secs() as i64,
            tv_nsec: i64::from(d.subsec_nanos()),
        });
        if rustix::event::poll(&mut fds, ts.as_ref()).is_err() {
            return; // EINTR: go round again.
        }
        let signal_ready = !fds[0].revents().is_empty();
        let control_ready = self.control_open && !fds[1].revents().is_empty();
        let server_gone = server_slot.is_some_and(|i| !fds[i].revents().is_empty());
        drop(fds);

        if signal_ready {
            while let Some(sig) = self.signals.read() {
                if sig != libc::SIGCHLD {
                    self.begin_end(self.grace);
                }
            }
        }
        if control_ready {
            self.read_control();
        }
        if server_gone {
            self.server = None;
            self.begin_end(self.lost_grace);
        }
    }

    fn read_control(&mut self) {
        let mut buf = [0u8; 256];
        match rustix::io::read(std::io::stdin(), &mut buf) {
            Ok(0) | Err(_) => {
                // The server closed the pipe or died: end the session.
                self.control_open = false;
                self.begin_end(self.lost_grace);
            }
            Ok(n) => {
                self.control_buf.extend_from_slice(&buf[..n]);
                while let Some(pos) = self.control_buf.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = self.control_buf.drain(..=pos).collect();
                    match line.strip_suffix(b"\n").unwrap_or(&line) {
                        b"terminate" => self.begin_end(self.grace),
                        b"kill" => self.phase = Phase::Killing,
                        _ => {}
                    }
                }
            }
        }
    }

    /// Reaps every child that ended. Returns true when the program has
    /// exited and no descendant is left.
    fn reap(&mut self) -> bool {
        loop {
            // `wait`, not `waitpid(None)`: rustix maps the latter to pid 0, our
            // own process group only.
            match rustix::process::wait(WaitOptions::NOHANG) {
                Ok(Some((pid, status))) => {
                    if pid.as_raw_nonzero().get() == self.program {
                        self.program_running = false;
                        if let Some(sig) = status.terminating_signal() {
                            report(&format!("exit signal {sig}"));
                        } else {
                            report(&format!("exit code {}", status.exit_status().unwrap_or(0)));
                        }
                        // The session ends with its program: what it left
                        // behind goes too.
                        self.begin_end(self.grace);
                    }
                }
                Ok(None) => return false,
                Err(_) => return !self.program_running, // ECHILD: nobody left.
            }
        }
    }

    /// SIGHUP, SIGCONT and SIGTERM to every process group of the terminal's
    /// session and to every descendant; SIGKILL after `grace`.
    fn begin_end(&mut self, grace: Duration) {
        let kill_at = Instant::now() + grace;
        match self.phase {
            Phase::Killing => return,
            Phase::Ending { kill_at: earlier } if earlier <= kill_at => return,
            Phase::Ending { .. } => {
                self.phase = Phase::Ending { kill_at };
                return;
            }
            Phase::Running => {}
        }
        self.phase = Phase::Ending { kill_at };
        let all = procs::scan();
        for pgrp in procs::session_groups(&all, self.program) {
            if let Some(pgrp) = Pid::from_raw(pgrp) {
                for sig in [RSignal::HUP, RSignal::CONT, RSignal::TERM] {
                    // ESRCH when the group emptied meanwhile: nothing to do.
                    let _ = rustix::process::kill_process_group(pgrp, sig);
                }
            }
        }
        for p in procs::descendants(&all, self.me) {
            for sig in [RSignal::HUP, RSignal::CONT, RSignal::TERM] {
                procs::signal_exact(p.pid, p.start_time, sig);
            }
        }
        if grace.is_zero() {
            self.phase = Phase::Killing;
        }
    }

    /// SIGKILL to every descendant still there.
    fn kill_sweep(&mut self) {
        let all = procs::scan();
        for p in procs::descendants(&all, self.me) {
            procs::signal_exact(p.pid, p.start_time, RSignal::KILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_round_trip() {
        let args = guard_args(
            42,
            Duration::from_millis(1500),
            Duration::from_millis(300),
            std::path::Path::new("/bin/bash"),
            &["bash".to_owned(), "-l".to_owned()],
        );
        let parsed = parse_args(args).unwrap();
        assert_eq!(parsed.server_pid, 42);
        assert_eq!(parsed.grace, Duration::from_millis(1500));
        assert_eq!(parsed.lost_grace, Duration::from_millis(300));
        assert_eq!(parsed.program, "/bin/bash");
        assert_eq!(parsed.argv0, "bash");
        assert_eq!(parsed.args, vec![OsString::from("-l")]);
        assert!(parse_args(vec![OsString::from("--bogus")]).is_err());
    }

    #[test]
    fn the_open_files_limit_is_passed_on() {
        let args = |limit: &str| {
            [
                "--server-pid",
                "1",
                "--open-files",
                limit,
                "--",
                "/bin/sh",
                "sh",
            ]
            .map(OsString::from)
        };
        assert_eq!(parse_args(args("1024")).unwrap().open_files, Some(1024));
        assert!(parse_args(args("lots")).is_err());
        let without = ["--server-pid", "1", "--", "/bin/sh", "sh"].map(OsString::from);
        assert_eq!(parse_args(without).unwrap().open_files, None);
    }
}
