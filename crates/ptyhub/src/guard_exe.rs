//! The executable of the sessions' guards: the small `ptyhub-guard` that
//! `build.rs` built and this binary carries, run from a sealed in-memory
//! file; else this binary itself in its `__guard` mode.
//!
//! A guard started from this binary costs ~600 KiB PSS: the loader
//! relocates this position-independent executable's read-only data in
//! every process. The small guard has little of it; its pages come from one
//! in-memory file, shared by all guards (BENCHMARKS.md, "Where the guard's
//! memory goes").

use std::ffi::OsString;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::{Command, Stdio};

use anyhow::Context;
use ptyhub_pty::guard::GuardProgram;
use rustix::fs::{MemfdFlags, SealFlags};

/// The standalone guard, as `build.rs` built it (empty when it could not).
static EMBEDDED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/ptyhub-guard"));

/// What the server starts its guards with, and the descriptor of the
/// in-memory guard (to keep open as long as sessions may start).
pub fn guard_program() -> anyhow::Result<(GuardProgram, Option<OwnedFd>)> {
    match embedded() {
        Ok(Some((program, fd))) => return Ok((program, Some(fd))),
        Ok(None) => tracing::debug!("no embedded guard in this build"),
        Err(e) => tracing::warn!(
            "the embedded guard cannot run here ({e:#}): guards run as `ptyhub __guard`"
        ),
    }
    let program = GuardProgram::current_exe()
        .context("cannot find the ptyhub executable for session guards")?;
    Ok((program, None))
}

/// The embedded guard in a sealed memfd, checked to run (a system may
/// forbid executing memfds, `vm.memfd_noexec`).
fn embedded() -> anyhow::Result<Option<(GuardProgram, OwnedFd)>> {
    if EMBEDDED.is_empty() {
        return Ok(None);
    }
    let fd = rustix::fs::memfd_create(
        "ptyhub-guard",
        MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
    )
    .context("memfd_create")?;
    let mut file = std::fs::File::from(fd);
    file.write_all(EMBEDDED).context("writing the guard")?;
    rustix::fs::fcntl_add_seals(
        &file,
        SealFlags::WRITE | SealFlags::GROW | SealFlags::SHRINK | SealFlags::SEAL,
    )
    .context("sealing the guard")?;
    // The child that executes it inherits the descriptor until its exec
    // succeeds (close-on-exec): its own /proc/self/fd names it.
    let path = format!("/proc/self/fd/{}", file.as_raw_fd());
    let program = GuardProgram {
        program: path.into(),
        args: Vec::new(),
        arg0: Some(OsString::from("ptyhub-guard")),
    };
    probe(&program)?;
    Ok(Some((program, file.into())))
}

/// Runs the guard with no arguments: it answers `spawn_error` and exit
/// status 2 when it runs at all.
fn probe(program: &GuardProgram) -> anyhow::Result<()> {
    let mut command = Command::new(&program.program);
    if let Some(name) = &program.arg0 {
        std::os::unix::process::CommandExt::arg0(&mut command, name);
    }
    let out = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .output()
        .context("executing it")?;
    let said = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(
        out.status.code() == Some(2) && said.starts_with("spawn_error"),
        "it answered {:?} with {}",
        said.trim_end(),
        out.status
    );
    Ok(())
}
