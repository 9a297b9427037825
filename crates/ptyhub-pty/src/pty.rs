//! [`Pty`]: one program running under its guard in a pseudo-terminal, and
//! how it is spawned, resized, signalled and ended.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustix::process::Pid;
use rustix::pty::OpenptFlags;
use rustix::termios::Winsize;
use tokio::sync::mpsc;

use crate::env::Environment;
use crate::error::{PtyError, SpawnError};
use crate::guard::{GuardProgram, guard_args};
use crate::io::{
    ChannelSink, InputSender, Master, OutputSink, PtyEvent, ReaderParts, StatusPipe, Terminal,
    lock, read_loop,
};
use crate::signal::Signal;

/// A terminal size in character cells. Each dimension is 1 to 1000.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WindowSize {
    /// Columns.
    pub cols: u16,
    /// Rows.
    pub rows: u16,
}

impl WindowSize {
    /// The largest accepted dimension.
    pub const MAX: u32 = 1000;

    /// A checked size: each dimension 1..=1000.
    pub fn new(cols: u32, rows: u32) -> Result<WindowSize, PtyError> {
        let ok = |v: u32| (1..=Self::MAX).contains(&v);
        if ok(cols) && ok(rows) {
            Ok(WindowSize {
                cols: cols as u16,
                rows: rows as u16,
            })
        } else {
            Err(PtyError::InvalidSize { cols, rows })
        }
    }

    fn to_winsize(self) -> Winsize {
        Winsize {
            ws_row: self.rows,
            ws_col: self.cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        }
    }
}

impl Default for WindowSize {
    fn default() -> Self {
        WindowSize { cols: 80, rows: 24 }
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct SpawnOptions {
    /// The program and its arguments; `argv[0]` is looked up on the
    /// environment's `PATH` unless it contains a `/`.
    pub argv: Vec<String>,
    /// Working directory; must exist.
    pub cwd: PathBuf,
    /// The program's whole environment.
    pub env: Environment,
    /// The terminal's size from the very start (no resize race).
    pub size: WindowSize,
    /// SIGTERM → SIGKILL delay when the session is ended.
    pub terminate_grace: Duration,
    /// Delay before SIGKILL when the guard finds the server gone.
    pub lost_grace: Duration,
    /// How to start the guard.
    pub guard: GuardProgram,
}

/// Events of a session, in order: output chunks, then one exit.
/// Capacity 8 chunks (a few to 64 KiB each): enough to keep the reading busy
/// while the consumer fans a chunk out; when it is full the reading stops,
/// which is backpressure to the program as on a real terminal.
const EVENT_QUEUE: usize = 8;

/// One program under its guard in a pseudo-terminal. Dropping it closes the
/// guard's control pipe, which ends the session (with the short grace).
///
/// The master is one descriptor, shared with the session's reading task and
/// the input senders. Once the program has ended and its guard is reaped,
/// the `Pty` holds no descriptor any more (see `Terminal`).
pub struct Pty {
    terminal: Arc<Terminal>,
    input: InputSender,
    pid: i32,
    guard_pid: i32,
    size: Mutex<WindowSize>,
}

impl std::fmt::Debug for Pty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pty")
            .field("pid", &self.pid)
            .field("guard_pid", &self.guard_pid)
            .finish_non_exhaustive()
    }
}

impl Pty {
    /// Like [`spawn_with_sink`](Self::spawn_with_sink), with the output as a
    /// bounded channel of events.
    pub fn spawn(opts: SpawnOptions) -> Result<(Pty, mpsc::Receiver<PtyEvent>), SpawnError> {
        let (sink, events) = ChannelSink::new(EVENT_QUEUE);
        Ok((Pty::spawn_with_sink(opts, sink)?, events))
    }

    /// Starts `opts.argv` in a new PTY under a guard; its output goes to
    /// `sink` from a task on the calling thread's tokio runtime (which must
    /// have its I/O driver on). Blocks for the few milliseconds the guard
    /// needs to fork and exec (call it from a blocking thread in async code).
    pub fn spawn_with_sink<S: OutputSink>(opts: SpawnOptions, sink: S) -> Result<Pty, SpawnError> {
        let program = validate(&opts)?;
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| SpawnError::Pty(format!("no async runtime: {e}")))?;
        let (master, slave) = open_pty(opts.size)?;

        let mut cmd = Command::new(&opts.guard.program);
        if let Some(name) = &opts.guard.arg0 {
            cmd.arg0(name);
        }
        cmd.args(&opts.guard.args)
            .args(guard_args(
                std::process::id(),
                opts.terminate_grace,
                opts.lost_grace,
                &program,
                &opts.argv,
            ))
            .env_clear()
            .envs(opts.env.iter())
            .current_dir(&opts.cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(slave));
        let mut guard = crate::reaper::spawn_guard(&mut cmd).map_err(|e| {
            SpawnError::Guard(format!("starting {}: {e}", opts.guard.program.display()))
        })?;
        drop(cmd); // closes our copy of the slave
        let (Some(control), Some(stdout)) = (guard.stdin.take(), guard.stdout.take()) else {
            reap(&mut guard);
            return Err(SpawnError::Guard("no pipes to the guard".into()));
        };
        let mut status = BufReader::new(stdout);
        let mut line = String::new();
        let first = loop {
            line.clear();
            let read = status.read_line(&mut line);
            match read {
                Ok(n) if n > 0 && line.starts_with("warning ") => {
                    tracing::warn!("{}", line.trim_end());
                }
                other => break other,
            }
        };
        let pid = match first {
            Ok(n) if n > 0 => match parse_started(line.trim_end()) {
                Ok((pid, _start_time)) => pid,
                Err(err) => {
                    drop(control);
                    reap(&mut guard);
                    return Err(err.into_spawn_error(&program));
                }
            },
            _ => {
                drop(control);
                reap(&mut guard);
                return Err(SpawnError::Guard(
                    "the guard exited before starting the program".into(),
                ));
            }
        };
        let guard_pid = guard.id() as i32;
        let status = StatusPipe {
            buffered: status.buffer().to_vec(),
            pipe: OwnedFd::from(status.into_inner()),
        };
        let master: Master = {
            let _entered = runtime.enter();
            Arc::new(
                crate::sys::register_async(master)
                    .map_err(|e| SpawnError::Pty(format!("registering the terminal: {e}")))?,
            )
        };
        let terminal = Terminal::new(master.clone(), control);
        let pty = Pty {
            terminal: terminal.clone(),
            input: InputSender::new(terminal.clone()),
            pid,
            guard_pid,
            size: Mutex::new(opts.size),
        };
        runtime.spawn(read_loop(ReaderParts {
            terminal,
            master,
            status,
            guard,
            sink,
        }));
        Ok(pty)
    }

    /// The program's pid (not the guard's). It is also the terminal session's
    /// id, since the program leads its session.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The guard's pid: every process of the session descends from it.
    pub fn guard_pid(&self) -> i32 {
        self.guard_pid
    }

    /// A handle to write input.
    pub fn input(&self) -> InputSender {
        self.input.clone()
    }

    /// The current size.
    pub fn size(&self) -> WindowSize {
        *lock(&self.size)
    }

    /// Sets the terminal size (TIOCSWINSZ): the foreground group gets
    /// SIGWINCH and `stty size` shows it.
    pub fn resize(&self, size: WindowSize) -> Result<(), PtyError> {
        WindowSize::new(size.cols.into(), size.rows.into())?;
        let mut current = lock(&self.size);
        if let Some(master) = self.terminal.master() {
            rustix::termios::tcsetwinsize(master.get_ref(), size.to_winsize()).map_err(|e| {
                PtyError::Os {
                    op: "resize",
                    source: e.into(),
                }
            })?;
        }
        *current = size;
        Ok(())
    }

    /// The terminal's foreground process group (`tcgetpgrp` on the master).
    pub fn foreground_group(&self) -> Option<i32> {
        let master = self.terminal.master()?;
        rustix::termios::tcgetpgrp(master.get_ref())
            .ok()
            .map(Pid::as_raw_nonzero)
            .map(|p| p.get())
            .filter(|&pgrp| pgrp > 0)
    }

    /// Sends `sig` to the terminal's foreground process group, as a key
    /// press of Ctrl-C does for SIGINT.
    pub fn signal_foreground(&self, sig: Signal) -> Result<(), PtyError> {
        let pgrp = self.foreground_group().ok_or(PtyError::NoForeground)?;
        let pgrp = Pid::from_raw(pgrp).ok_or(PtyError::NoForeground)?;
        rustix::process::kill_process_group(pgrp, sig.to_rustix()).map_err(|e| PtyError::Os {
            op: "kill",
            source: e.into(),
        })
    }

    /// Ends the session: SIGHUP and SIGTERM to everything in it now, SIGKILL
    /// to what is left after the terminate grace. Returns at once; the exit
    /// event follows.
    pub fn terminate(&self) -> Result<(), PtyError> {
        self.tell_guard(b"terminate\n")
    }

    /// SIGKILL to every process of the session at once.
    pub fn kill(&self) -> Result<(), PtyError> {
        self.tell_guard(b"kill\n")
    }

    fn tell_guard(&self, line: &[u8]) -> Result<(), PtyError> {
        let mut control = lock(&self.terminal.control);
        let Some(pipe) = control.as_mut() else {
            // The guard is reaped: the session has ended already.
            return Ok(());
        };
        if pipe.write_all(line).is_ok() {
            return Ok(());
        }
        drop(control);
        // The guard is gone (killed from outside): end what is left of the
        // session from here. Its processes are those of the terminal's
        // session, which the program leads (a session id is not reused
        // while a member lives); daemons that left it went to init with the
        // guard's death and cannot be told apart any more.
        let killed = kill_session_members(self.pid);
        tracing::warn!(
            pid = self.pid,
            "the session's guard is gone: SIGKILLed {killed} process(es) of its terminal session"
        );
        Ok(())
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        // The guard ends the session when its control pipe closes.
        self.terminal.close_control();
    }
}

/// SIGKILL to every process of terminal session `sid` (each checked by its
/// start time); how many.
fn kill_session_members(sid: i32) -> usize {
    crate::procs::scan()
        .iter()
        .filter(|p| p.session == sid)
        .filter(|p| crate::procs::signal_exact(p.pid, p.start_time, rustix::process::Signal::KILL))
        .count()
}

/// A new PTY of `size`: the master (close-on-exec, non-blocking) and its
/// slave (close-on-exec, not our controlling terminal).
fn open_pty(size: WindowSize) -> Result<(OwnedFd, OwnedFd), SpawnError> {
    let os = |op: &str, e: rustix::io::Errno| {
        let msg = format!("{op}: {e}");
        match e {
            rustix::io::Errno::NOSPC | rustix::io::Errno::MFILE | rustix::io::Errno::NFILE => {
                SpawnError::PtyExhausted(msg)
            }
            _ => SpawnError::Pty(msg),
        }
    };
    let flags = OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC;
    let master = rustix::pty::openpt(flags).map_err(|e| os("opening /dev/ptmx", e))?;
    rustix::pty::grantpt(&master).map_err(|e| os("grantpt", e))?;
    rustix::pty::unlockpt(&master).map_err(|e| os("unlockpt", e))?;
    // The size from the very start: the program never sees another one.
    rustix::termios::tcsetwinsize(&master, size.to_winsize()).map_err(|e| os("TIOCSWINSZ", e))?;
    let slave = match rustix::pty::ioctl_tiocgptpeer(&master, flags) {
        Ok(slave) => slave,
        // Kernels before 4.13: by name.
        Err(_) => {
            let name = rustix::pty::ptsname(&master, Vec::new()).map_err(|e| os("ptsname", e))?;
            let path = PathBuf::from(std::ffi::OsStr::from_bytes(name.as_bytes()));
            File::options()
                .read(true)
                .write(true)
                .custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC)
                .open(&path)
                .map_err(|e| SpawnError::Pty(format!("opening {}: {e}", path.display())))?
                .into()
        }
    };
    rustix::io::ioctl_fionbio(&master, true).map_err(|e| os("FIONBIO", e))?;
    Ok((master, slave))
}

fn reap(guard: &mut std::process::Child) {
    if let Err(e) = guard.wait() {
        tracing::warn!("reaping a failed guard: {e}");
    }
    crate::reaper::guard_reaped(guard.id());
}

/// Checks the request before anything is created; returns the program's path.
fn validate(opts: &SpawnOptions) -> Result<PathBuf, SpawnError> {
    let Some(program) = opts.argv.first() else {
        return Err(SpawnError::Invalid("empty command".into()));
    };
    if program.is_empty() {
        return Err(SpawnError::Invalid("empty program name".into()));
    }
    if opts.argv.iter().any(|a| a.contains('\0'))
        || opts
            .env
            .iter()
            .any(|(k, v)| k.contains(['\0', '=']) || k.is_empty() || v.contains('\0'))
    {
        return Err(SpawnError::Invalid("NUL byte or bad variable name".into()));
    }
    WindowSize::new(opts.size.cols.into(), opts.size.rows.into())
        .map_err(|e| SpawnError::Invalid(e.to_string()))?;
    match std::fs::metadata(&opts.cwd) {
        Err(source) => {
            return Err(SpawnError::CwdMissing {
                cwd: opts.cwd.clone(),
                source,
            });
        }
        Ok(m) if !m.is_dir() => {
            return Err(SpawnError::CwdNotDirectory {
                cwd: opts.cwd.clone(),
            });
        }
        Ok(_) => {}
    }
    resolve_program(program, opts.env.get("PATH").unwrap_or(""), &opts.cwd)
}

/// Finds `program` as `execvp` would, with the child's `PATH`; a relative
/// path with a `/` is taken from the child's working directory.
pub(crate) fn resolve_program(
    program: &str,
    path: &str,
    cwd: &Path,
) -> Result<PathBuf, SpawnError> {
    let candidates: Vec<PathBuf> = if program.contains('/') {
        vec![cwd.join(program)]
    } else {
        path.split(':')
            .filter(|d| !d.is_empty())
            .map(|d| Path::new(d).join(program))
            .collect()
    };
    let mut denied = None;
    for candidate in candidates {
        let Ok(meta) = std::fs::metadata(&candidate) else {
            continue;
        };
        if meta.is_dir() {
            denied.get_or_insert((candidate, std::io::Error::from_raw_os_error(libc::EISDIR)));
            continue;
        }
        match rustix::fs::access(&candidate, rustix::fs::Access::EXEC_OK) {
            Ok(()) => return Ok(candidate),
            Err(e) => {
                denied.get_or_insert((candidate, e.into()));
            }
        }
    }
    match denied {
        Some((path, source)) => Err(SpawnError::NotExecutable {
            program: path.display().to_string(),
            source,
        }),
        None => Err(SpawnError::ProgramNotFound {
            program: program.to_owned(),
        }),
    }
}

struct GuardFailure {
    errno: i32,
    message: String,
}

impl GuardFailure {
    fn into_spawn_error(self, program: &Path) -> SpawnError {
        let program = program.display().to_string();
        if self.message.starts_with("guard:") || self.errno < 0 {
            return SpawnError::Guard(self.message);
        }
        let source = std::io::Error::from_raw_os_error(self.errno);
        match self.errno {
            libc::EACCES | libc::ENOEXEC | libc::EISDIR => {
                SpawnError::NotExecutable { program, source }
            }
            _ => SpawnError::Exec { program, source },
        }
    }
}

fn parse_started(line: &str) -> Result<(i32, u64), GuardFailure> {
    let mut words = line.splitn(3, ' ');
    match words.next() {
        Some("started") => {
            let pid = words.next().and_then(|w| w.parse().ok());
            let start = words.next().and_then(|w| w.parse().ok());
            match (pid, start) {
                (Some(pid), Some(start)) => Ok((pid, start)),
                _ => Err(GuardFailure {
                    errno: -1,
                    message: format!("guard: bad line {line:?}"),
                }),
            }
        }
        Some("spawn_error") => Err(GuardFailure {
            errno: words.next().and_then(|w| w.parse().ok()).unwrap_or(-1),
            message: words.next().unwrap_or("").to_owned(),
        }),
        _ => Err(GuardFailure {
            errno: -1,
            message: format!("guard: bad line {line:?}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_checked() {
        assert!(WindowSize::new(1, 1).is_ok());
        assert!(WindowSize::new(1000, 1000).is_ok());
        assert!(WindowSize::new(0, 24).is_err());
        assert!(WindowSize::new(80, 1001).is_err());
        assert!(WindowSize::new(100_000, 24).is_err());
    }

    #[test]
    fn programs_resolve_like_execvp() {
        let cwd = Path::new("/");
        assert_eq!(
            resolve_program("sh", "/nonexistent:/bin", cwd).unwrap(),
            Path::new("/bin/sh")
        );
        assert!(matches!(
            resolve_program("no-such-program-xyz", "/bin:/usr/bin", cwd),
            Err(SpawnError::ProgramNotFound { .. })
        ));
        assert!(matches!(
            resolve_program("/etc", "", cwd),
            Err(SpawnError::NotExecutable { .. })
        ));
        assert!(matches!(
            resolve_program("/etc/passwd", "", cwd),
            Err(SpawnError::NotExecutable { .. })
        ));
    }
}
