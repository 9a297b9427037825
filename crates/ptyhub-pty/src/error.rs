//! Typed errors of the PTY layer; each keeps the operating system's reason.

use std::io;
use std::path::PathBuf;

/// Why a program could not be started. A failed spawn leaves no guard, no
/// zombie and no open descriptor behind.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The request itself is malformed (empty argv, a NUL byte, a size out of
    /// range).
    #[error("invalid spawn request: {0}")]
    Invalid(String),
    /// The program was not found on `PATH` (or at the path given).
    #[error("program not found: {program}")]
    ProgramNotFound {
        /// The program as requested.
        program: String,
    },
    /// The program exists but cannot be executed.
    #[error("program is not executable: {program}: {source}")]
    NotExecutable {
        /// The resolved path.
        program: String,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },
    /// The working directory does not exist.
    #[error("working directory does not exist: {}", cwd.display())]
    CwdMissing {
        /// The directory asked for.
        cwd: PathBuf,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },
    /// The working directory is not a directory.
    #[error("working directory is not a directory: {}", cwd.display())]
    CwdNotDirectory {
        /// The path asked for.
        cwd: PathBuf,
    },
    /// No pseudo-terminal could be allocated (the system's limit is reached).
    #[error("no pseudo-terminal available: {0}")]
    PtyExhausted(String),
    /// Opening or setting up the pseudo-terminal failed for another reason.
    #[error("pseudo-terminal setup failed: {0}")]
    Pty(String),
    /// The guard process could not be started or failed before the program ran.
    #[error("guard process failed: {0}")]
    Guard(String),
    /// `execve` of the program failed in the guard (for example a missing
    /// script interpreter).
    #[error("cannot execute {program}: {source}")]
    Exec {
        /// The resolved path.
        program: String,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },
}

/// Errors of operations on a running PTY session.
#[derive(Debug, thiserror::Error)]
pub enum PtyError {
    /// A size outside 1..=1000 in either dimension.
    #[error("invalid size {cols}x{rows}: each dimension must be 1 to 1000")]
    InvalidSize {
        /// Columns asked for.
        cols: u32,
        /// Rows asked for.
        rows: u32,
    },
    /// The terminal has no foreground process group (the program ended).
    #[error("the terminal has no foreground process group")]
    NoForeground,
    /// The process is gone or is no longer the one we started.
    #[error("process {pid} is gone")]
    ProcessGone {
        /// The pid asked for.
        pid: i32,
    },
    /// The session's guard process is gone.
    #[error("the session's guard process is gone")]
    GuardGone,
    /// The input writer is gone (the session ended).
    #[error("the session no longer accepts input")]
    InputClosed,
    /// A system call failed.
    #[error("{op}: {source}")]
    Os {
        /// What was being done.
        op: &'static str,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },
}
