//! The open-files limit: the server raises its own, the sessions' programs
//! get the one the server was started with.
//!
//! Each session holds a handful of descriptors in the server (the PTY
//! master, the guard's pipes, its pidfd) and each attached client a socket,
//! so the usual soft limit of 1024 runs out long before the hard limit does.
//! Programs keep the limit they would have had without ptyhub: some still
//! use `select`, which cannot take descriptors past 1023.

use std::sync::OnceLock;

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// What "as many as the hard limit" means when that is unlimited (Linux's
/// default `nr_open`).
const UNLIMITED_CAP: u64 = 1 << 20;

/// The soft limit the server started with, once it raised its own.
static PROGRAMS_LIMIT: OnceLock<u64> = OnceLock::new();

/// The open-files limits before and after [`raise_open_files_limit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenFiles {
    /// The soft limit the process had (and its sessions' programs keep).
    pub before: u64,
    /// The soft limit it has now: the hard limit.
    pub now: u64,
}

/// Raises this process's soft open-files limit to its hard limit; programs
/// started afterwards get the soft limit from before (their guard sets it
/// back). Call once, early.
pub fn raise_open_files_limit() -> std::io::Result<OpenFiles> {
    let limit = getrlimit(Resource::Nofile);
    let (Some(soft), hard) = (limit.current, limit.maximum) else {
        // Unlimited already.
        return Ok(OpenFiles {
            before: u64::MAX,
            now: u64::MAX,
        });
    };
    // An unlimited hard limit is not a number the kernel takes for files.
    let target = hard.unwrap_or(UNLIMITED_CAP);
    if target > soft {
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(target),
                maximum: hard,
            },
        )?;
        PROGRAMS_LIMIT.get_or_init(|| soft);
    }
    Ok(OpenFiles {
        before: soft,
        now: target.max(soft),
    })
}

/// The soft limit programs get, when the server raised its own.
pub(crate) fn programs_limit() -> Option<u64> {
    PROGRAMS_LIMIT.get().copied()
}

/// In the guard: sets the soft open-files limit the program inherits.
pub(crate) fn set_soft_limit(soft: u64) -> std::io::Result<()> {
    let limit = getrlimit(Resource::Nofile);
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(soft),
            maximum: limit.maximum,
        },
    )?;
    Ok(())
}
