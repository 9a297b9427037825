//! The `ptyhub` binary: the server (`ptyhub serve`), and the hidden guard
//! mode that every session's program runs under.

use std::process::ExitCode;

fn main() -> ExitCode {
    // The guard mode comes first, before anything starts a thread: the guard
    // must stay a single-threaded process.
    let mut args = std::env::args_os();
    if args
        .nth(1)
        .is_some_and(|a| a == ptyhub_pty::guard::GUARD_ARG)
    {
        return ExitCode::from(ptyhub_pty::guard::run(args));
    }
    eprintln!("ptyhub: the server arrives with the next change; nothing to run yet");
    ExitCode::from(2)
}
