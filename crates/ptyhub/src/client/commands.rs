//! Each client command from start to end: resolve the server, make the
//! calls, print the result; [`run`] returns the exit status.

use std::io::{self, IsTerminal, Read, Write};
use std::path::Path;
use std::process::ExitCode;

use ptyhub_protocol::api::{CreateSessionRequest, ExitInfo, SessionInfo};
use time::OffsetDateTime;

use super::api::Api;
use super::attach::{self, AttachOptions, Outcome};
use super::endpoint::{Endpoint, ServerArgs};
use super::error::{Error, Result};
use super::resolve::{describe, resolve};
use super::{ClientCommand, SendArgs, recordings, table};

/// Runs one command; `Ok` holds the exit status.
pub async fn run(command: ClientCommand) -> Result<ExitCode> {
    match command {
        ClientCommand::Rec(args) => recordings::run_rec(args).await,
        ClientCommand::Play(args) => recordings::run_play(args).await,
        ClientCommand::Ls(args) => {
            let api = api(&args.server)?;
            let list = api.list().await?;
            if args.json {
                print_json(&list.text)?;
            } else {
                let now = OffsetDateTime::now_utc();
                print(&table::render(&list.value, now))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        ClientCommand::New(args) => {
            let api = api(&args.server)?;
            let size = if args.attach {
                super::terminal::require_terminal()?;
                super::terminal::size()
            } else {
                None
            };
            let request = CreateSessionRequest {
                provider: Some(args.provider),
                name: args.name,
                cwd: args.cwd.as_deref().map(absolute).transpose()?,
                cols: size.map(|(cols, _)| cols.into()),
                rows: size.map(|(_, rows)| rows.into()),
                ..CreateSessionRequest::default()
            };
            let created = api.create(&request).await?;
            if args.attach {
                let options = AttachOptions {
                    readonly: false,
                    prefix: args.keys.detach_prefix.0,
                };
                return attach_to(api.endpoint(), &created.value, &options).await;
            }
            if args.json {
                print_json(&created.text)?;
            } else {
                print(&format!("{}\n", created.value.id))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        ClientCommand::Attach(args) => {
            let api = api(&args.server)?;
            let session = find(&api, &args.session).await?;
            let options = AttachOptions {
                readonly: args.readonly,
                prefix: args.keys.detach_prefix.0,
            };
            attach_to(api.endpoint(), &session, &options).await
        }
        ClientCommand::Kill(args) => {
            let api = api(&args.server)?;
            let session = find(&api, &args.session).await?;
            let killed = api.delete(&session.id).await?;
            if args.json {
                print_json(&killed.text)?;
            } else {
                print(&format!("{}\n", killed.value.id))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        ClientCommand::Send(args) => {
            let api = api(&args.server)?;
            let bytes = typed_bytes(&args)?;
            let session = find(&api, &args.session).await?;
            api.input(&session.id, bytes).await?;
            Ok(ExitCode::SUCCESS)
        }
        ClientCommand::Wait(args) => {
            let api = api(&args.server)?;
            let session = find(&api, &args.session).await?;
            super::agent::wait(&api, &session.id, &args).await
        }
        ClientCommand::Hook(args) => Ok(super::agent::hook(args).await),
        ClientCommand::Screen(args) => {
            let api = api(&args.server)?;
            let session = find(&api, &args.session).await?;
            let screen = api.screen(&session.id, args.ansi).await?;
            if args.json {
                print_json(&screen.text)?;
            } else if let Some(ansi) = &screen.value.ansi {
                let mut text = ansi.clone();
                if io::stdout().is_terminal() {
                    // Leave the prompt on a fresh line, in plain colours.
                    text.push_str("\x1b[0m\r\n");
                }
                print(&text)?;
            } else {
                let lines = screen.value.lines.unwrap_or_default();
                let used = lines
                    .iter()
                    .rposition(|l| !l.is_empty())
                    .map_or(0, |i| i + 1);
                let mut text = String::new();
                for line in &lines[..used] {
                    text.push_str(line);
                    text.push('\n');
                }
                print(&text)?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The API client for the server the flags, environment or runtime file
/// name.
pub(super) fn api(args: &ServerArgs) -> Result<Api> {
    let env = |name: &str| std::env::var(name).ok();
    Api::new(Endpoint::resolve(args, &env, None)?)
}

/// The session `query` names.
async fn find(api: &Api, query: &str) -> Result<SessionInfo> {
    let list = api.list().await?;
    resolve(&list.value, query).cloned()
}

/// Attaches, then prints how it ended; the exit status is 0 on detach and
/// the program's own when it ended.
async fn attach_to(
    endpoint: &Endpoint,
    session: &SessionInfo,
    options: &AttachOptions,
) -> Result<ExitCode> {
    let outcome = attach::attach(endpoint, session, options).await?;
    let who = describe(session, super::resolve::MIN_SHORT_ID);
    match outcome {
        Outcome::Detached => {
            eprintln!("[detached from {who}]");
            Ok(ExitCode::SUCCESS)
        }
        Outcome::Ended(exit) => {
            eprintln!("[{who} {}]", ended(&exit));
            Ok(ExitCode::from(exit_status(&exit)))
        }
    }
}

/// `exited with code 7`, `killed by SIGKILL (deleted)`.
fn ended(exit: &ExitInfo) -> String {
    let how = match (&exit.code, &exit.signal) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(signal)) => format!("killed by {signal}"),
        (None, None) => "ended".to_owned(),
    };
    match exit.reason.as_str() {
        "exited" => how,
        reason => format!("{how} ({reason})"),
    }
}

/// The status a shell would give: the code, or 128 + the signal's number.
fn exit_status(exit: &ExitInfo) -> u8 {
    match (&exit.code, &exit.signal) {
        (Some(code), _) => (*code & 0xff) as u8,
        (None, Some(signal)) => 128u8.saturating_add(signal_number(signal)),
        (None, None) => 1,
    }
}

/// The Linux number of a standard signal name (0 when unknown).
fn signal_number(name: &str) -> u8 {
    const NAMES: [&str; 31] = [
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    NAMES
        .iter()
        .position(|n| *n == name)
        .map_or(0, |i| (i + 1) as u8)
}

/// The bytes `send` types: the text (or stdin), then Enter (`\r`).
fn typed_bytes(args: &SendArgs) -> Result<Vec<u8>> {
    let mut bytes = if args.text == "-" {
        let mut input = Vec::new();
        io::stdin()
            .read_to_end(&mut input)
            .map_err(|e| Error::other(format!("cannot read stdin: {e}")))?;
        if input.ends_with(b"\n") {
            input.pop();
            if input.ends_with(b"\r") {
                input.pop();
            }
        }
        input
    } else {
        args.text.clone().into_bytes()
    };
    if !args.no_enter {
        bytes.push(b'\r');
    }
    Ok(bytes)
}

/// `dir` as an absolute path, for the server (whose working directory is
/// not ours).
fn absolute(dir: &Path) -> Result<String> {
    let path = dir
        .canonicalize()
        .or_else(|_| std::path::absolute(dir))
        .map_err(|e| Error::other(format!("bad --cwd {}: {e}", dir.display())))?;
    path.into_os_string()
        .into_string()
        .map_err(|p| Error::other(format!("--cwd {} is not UTF-8", p.display())))
}

/// Prints the server's JSON answer as it came (one line; `| jq` makes it
/// pretty), with a trailing newline.
pub(super) fn print_json(text: &str) -> Result<()> {
    print(&format!("{}\n", text.trim_end()))
}

/// Writes to stdout; a closed pipe (`ptyhub ls | head`) is not an error.
pub(super) fn print(text: &str) -> Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(Error::other(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ptyhub_protocol::api::ExitReason;

    #[test]
    fn exit_statuses_are_a_shell_s() {
        let exit = |code, signal: Option<&str>, reason| ExitInfo {
            code,
            signal: signal.map(str::to_owned),
            reason,
        };
        let seven = exit(Some(7), None, ExitReason::Exited);
        assert_eq!(
            (exit_status(&seven), ended(&seven)),
            (7, "exited with code 7".into())
        );
        let killed = exit(None, Some("SIGKILL"), ExitReason::Deleted);
        assert_eq!(
            (exit_status(&killed), ended(&killed)),
            (137, "killed by SIGKILL (deleted)".into())
        );
        assert_eq!(
            exit_status(&exit(None, Some("SIGHUP"), ExitReason::Shutdown)),
            129
        );
        assert_eq!(
            exit_status(&exit(Some(256 + 3), None, ExitReason::Exited)),
            3
        );
        assert_eq!(signal_number("SIGSYS"), 31);
        assert_eq!(signal_number("SIGBOGUS"), 0);
    }
}
