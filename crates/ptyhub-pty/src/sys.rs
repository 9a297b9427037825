//! The crate's only `unsafe`: what the guard does between `fork` and `exec`
//! of the program, its signal mask and signalfd, and closing inherited
//! descriptors. Everything here is a thin wrapper around one system call.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Makes the command's child the leader of a new terminal session whose
/// controlling terminal is its standard input (the PTY slave), with every
/// signal at its default disposition and an empty signal mask.
///
/// Only async-signal-safe calls run in the child (setsid, ioctl, sigaction,
/// sigprocmask), and the guard that forks is single-threaded.
pub fn make_session_leader_on_exec(cmd: &mut Command) {
    // SAFETY: the closure only makes async-signal-safe system calls and
    // allocates nothing.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                return Err(io::Error::last_os_error());
            }
            reset_signals();
            Ok(())
        });
    }
}

/// Every catchable signal back to `SIG_DFL`, and nothing blocked.
///
/// The raw `rt_sigaction` system call is used because libc refuses the two
/// real-time signals it reserves for itself (32 and 33), which a parent may
/// still have left ignored.
///
/// # Safety
/// Async-signal-safe; meant for the child between fork and exec.
unsafe fn reset_signals() {
    // The kernel's `struct sigaction`: handler, flags, restorer, mask; all
    // zero is SIG_DFL with no flags and an empty mask.
    let default_action = [0u64; 4];
    // SAFETY: rt_sigaction and sigprocmask with valid, zero-initialised
    // arguments; `8` is the kernel's sigset size on Linux.
    unsafe {
        for sig in 1..=64 {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::syscall(
                    libc::SYS_rt_sigaction,
                    sig,
                    default_action.as_ptr(),
                    std::ptr::null_mut::<u64>(),
                    8usize,
                );
            }
        }
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
    }
}

/// Closes every descriptor from `first` on (what a careless parent leaked).
pub fn close_descriptors_from(first: RawFd) {
    // SAFETY: close_range only closes descriptors; nothing in this process
    // holds one at or above `first` when this is called (guard start-up).
    let rc = unsafe { libc::syscall(libc::SYS_close_range, first as u32, u32::MAX, 0u32) };
    if rc == 0 {
        return;
    }
    // Older kernels: close what /proc lists.
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let fds: Vec<RawFd> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd >= first)
        .collect();
    for fd in fds {
        // SAFETY: see above; EBADF for the directory's own fd is harmless.
        unsafe { libc::close(fd) };
    }
}

/// A signalfd for `signals`, which are blocked for normal delivery.
pub struct SignalFd {
    fd: OwnedFd,
}

impl SignalFd {
    /// Blocks `signals` in this (single-threaded) process and returns a
    /// non-blocking descriptor that reads them.
    pub fn new(signals: &[i32]) -> io::Result<SignalFd> {
        // SAFETY: plain calls on a zero-initialised sigset.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for &s in signals {
                libc::sigaddset(&mut set, s);
            }
            if libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) < 0 {
                return Err(io::Error::last_os_error());
            }
            let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(SignalFd {
                fd: OwnedFd::from_raw_fd(fd),
            })
        }
    }

    /// The next pending signal number, if any.
    pub fn read(&self) -> Option<i32> {
        // SAFETY: reading into a properly sized, zeroed siginfo buffer.
        unsafe {
            let mut info: libc::signalfd_siginfo = std::mem::zeroed();
            let size = std::mem::size_of::<libc::signalfd_siginfo>();
            let n = libc::read(
                self.fd.as_raw_fd(),
                (&mut info as *mut libc::signalfd_siginfo).cast(),
                size,
            );
            (n == size as isize).then_some(info.ssi_signo as i32)
        }
    }

    /// The descriptor, for poll.
    pub fn fd(&self) -> &OwnedFd {
        &self.fd
    }
}

/// Registers a non-blocking descriptor with tokio's reactor (the runtime
/// of the calling thread) for readable and writable readiness.
pub fn register_async(fd: OwnedFd) -> io::Result<tokio::io::unix::AsyncFd<OwnedFd>> {
    // SAFETY: `fd` is owned, so it stays open until the `AsyncFd` is
    // dropped, which deregisters it first; nothing else registers it.
    unsafe {
        tokio::io::unix::AsyncFd::register_with_interest(
            fd,
            tokio::io::Interest::READABLE | tokio::io::Interest::WRITABLE,
        )
    }
    .map_err(|e| e.into_parts().1)
}

/// Gives the allocator's free memory back to the system (glibc's
/// `malloc_trim`, every arena): after many sessions are gone, their freed
/// buffers otherwise stay in the process's RSS.
pub fn trim_heap() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}
