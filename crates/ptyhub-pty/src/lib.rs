//! Programs in real pseudo-terminals, each under a guard process, so that
//! nothing a session starts outlives it.
//!
//! This is the only crate that touches the PTY, signals, process groups
//! and `/proc`, and the only one with `unsafe` (in its private `sys`
//! module alone).
//!
//! The shape of one session:
//!
//! ```text
//! server ──stdin: control pipe──▶ guard (subreaper, own session)
//!        ◀─stdout: status pipe──       └─ program (session leader, PTY as
//!        ◀══ PTY master ══════════════════ controlling terminal, foreground)
//! ```
//!
//! The server opens the PTY, spawns the guard with plain fork/exec
//! (`std::process::Command`, no Rust code between fork and exec), and hands
//! it the slave as its standard error. The guard forks the program, reaps
//! every orphan of the session, and ends the whole tree when told to, when
//! the program exits, or when the server is gone.

mod env;
mod error;
pub mod guard;
mod io;
mod limits;
pub mod procs;
mod pty;
pub mod reaper;
mod signal;
#[allow(unsafe_code)]
mod sys;

pub use env::{Environment, runs_code};
pub use error::{PtyError, SpawnError};
pub use guard::GuardProgram;
pub use io::{ChannelSink, InputSender, OutputSink, PtyEvent};
pub use limits::{OpenFiles, raise_open_files_limit};
pub use pty::{Pty, SpawnOptions, WindowSize};
pub use signal::{ExitStatus, Signal};

/// Returns the heap's free memory to the system (glibc `malloc_trim`; a
/// no-op elsewhere). Takes a few milliseconds on a large heap: call it from
/// a blocking thread, after many sessions are gone.
pub fn release_free_memory() {
    sys::trim_heap();
}
