//! The client commands of docs/configuration.md (`ls`, `new`, `attach`, `kill`,
//! `send`, `screen`): they talk to a running server over its HTTP API and
//! its `ptyhub.v1` WebSocket.
//!
//! - [`endpoint`]: which server and token (flags, environment, runtime file);
//! - [`api`]: the HTTP calls, and errors that say what to do;
//! - [`resolve`]: naming a session by id, id prefix or name;
//! - [`table`]: `ls`'s table;
//! - [`attach`], with [`terminal`] (raw mode, restored on every way out),
//!   [`detach`] (the detach keys) and [`modes`] (modes to switch back off);
//! - [`recordings`]: `rec ls`, `rec get` and `play`;
//! - [`commands`]: each command, start to end.
//!
//! Every error is one line on stderr and exit status 1; `attach` exits with
//! the program's own status when the program ends.

mod agent;
mod api;
mod attach;
mod commands;
mod connect;
mod detach;
mod endpoint;
mod error;
mod modes;
mod recordings;
mod resolve;
mod table;
mod terminal;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};

pub use endpoint::ServerArgs;

/// How long the runtime may take to wind down after a command (a key
/// reader thread blocked on the terminal is not waited for).
const SHUTDOWN_TIMEOUT: Duration = Duration::from_millis(100);

/// The client subcommands, flattened into the binary's command list.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// List the sessions: a table, or the API's listing with --json.
    Ls(LsArgs),
    /// Start a session and print its id (or attach to it with -a).
    New(NewArgs),
    /// Attach this terminal to a session; detach with Ctrl-\ then d.
    Attach(AttachArgs),
    /// Terminate a session (SIGHUP, SIGTERM, then SIGKILL to all of it).
    Kill(SessionArgs),
    /// Type TEXT into a session, then Enter (`-` reads the text from stdin).
    Send(SendArgs),
    /// Print a session's screen as text (or with colours, --ansi).
    Screen(ScreenArgs),
    /// Wait until a session's agent state is STATE (exit 0), or time out
    /// (exit 1).
    Wait(agent::WaitArgs),
    /// Post an AI CLI's hook event (JSON on stdin, or as the argument) to
    /// this session; run by the CLI's hooks; always exits 0.
    Hook(agent::HookArgs),
    /// The recordings: `rec ls`, `rec get ID > x.cast`.
    Rec(recordings::RecArgs),
    /// Replay a recording in this terminal, with its timing.
    Play(recordings::PlayArgs),
}

/// `ptyhub ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Print the API's listing (`{"sessions": [...]}`) as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `ptyhub new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The provider to start (see `GET /api/providers`).
    #[arg(default_value = "shell")]
    pub provider: String,
    /// A name for the session (unique among sessions).
    #[arg(long, value_name = "N")]
    pub name: Option<String>,
    /// The working directory (relative to this one).
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// Attach to the new session at once.
    #[arg(short, long, conflicts_with = "json")]
    pub attach: bool,
    /// Print the new session object as JSON instead of its id.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub keys: DetachArgs,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `ptyhub attach`.
#[derive(Debug, Args)]
pub struct AttachArgs {
    /// The session: its id, a unique prefix of its id, or its name.
    #[arg(value_name = "ID|NAME")]
    pub session: String,
    /// Watch only: keys (but the detach keys) and size are not sent.
    #[arg(long)]
    pub readonly: bool,
    #[command(flatten)]
    pub keys: DetachArgs,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// The detach keys of `attach` and `new --attach`.
#[derive(Debug, Args)]
pub struct DetachArgs {
    /// The detach prefix: ctrl-X, or none. The prefix then `d` detaches; the
    /// prefix twice sends it once.
    #[arg(long, value_name = "KEY", env = "PTYHUB_DETACH_PREFIX", default_value = detach::DEFAULT_PREFIX, value_parser = detach::Prefix::parse)]
    pub detach_prefix: detach::Prefix,
}

/// A command that names one session.
#[derive(Debug, Args)]
pub struct SessionArgs {
    /// The session: its id, a unique prefix of its id, or its name.
    #[arg(value_name = "ID|NAME")]
    pub session: String,
    /// Print the session object as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `ptyhub send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// The session: its id, a unique prefix of its id, or its name.
    #[arg(value_name = "ID|NAME")]
    pub session: String,
    /// The text to type; `-` reads it from stdin (one trailing newline
    /// dropped).
    #[arg(allow_hyphen_values = true)]
    pub text: String,
    /// Type the text alone, without Enter.
    #[arg(long)]
    pub no_enter: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `ptyhub screen`.
#[derive(Debug, Args)]
pub struct ScreenArgs {
    /// The session: its id, a unique prefix of its id, or its name.
    #[arg(value_name = "ID|NAME")]
    pub session: String,
    /// The escape-coded screen, colours and all.
    #[arg(long, conflicts_with = "json")]
    pub ansi: bool,
    /// Print the API's screen object as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Runs a client command; errors are printed as one line on stderr.
pub fn run(command: ClientCommand) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("ptyhub: error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(commands::run(command));
    runtime.shutdown_timeout(SHUTDOWN_TIMEOUT);
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("ptyhub: error: {err}");
            ExitCode::FAILURE
        }
    }
}
