//! The guard as a binary of its own, for this crate's tests and benchmarks.
//! The `ptyhub` binary runs the same code as its hidden `__guard` mode.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(ptyhub_pty::guard::run(std::env::args_os().skip(1)))
}
