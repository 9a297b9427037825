//! The `ptyhub` binary: the server (`ptyhub serve`), the client commands
//! (`ptyhub ls`, `attach`...: [`client`]), and the hidden guard mode that
//! every session's program runs under.
//!
//! `main` only parses arguments, loads the options, sets up logging, wires
//! SIGTERM/SIGINT to the shutdown, and maps errors to one line on stderr
//! and a non-zero exit status.

mod cli;
mod client;
mod guard_exe;
mod scrub;

use std::io::{IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use ptyhub_protocol::api::ExitReason;
use ptyhub_server::Server;
use ptyhub_server::accept::Listener;
use ptyhub_server::auth::percent_encode;
use ptyhub_server::options::Options;
use ptyhub_server::runtime_file::{self, RuntimeFile, RuntimeInfo};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

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

    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Serve(args) => serve_command(&args),
        cli::Command::Client(command) => return client::run(command),
        cli::Command::Completions { shell } => {
            cli::completions(shell, &mut std::io::stdout());
            return ExitCode::SUCCESS;
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // `{:#}` puts the whole chain of causes on one line.
            eprintln!("ptyhub: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The environment, as the options loader reads it.
fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// `ptyhub serve`: options, logging, warnings, then the server.
fn serve_command(args: &cli::ServeArgs) -> anyhow::Result<()> {
    let mut options = Options::load(None, &env_var, &args.flags())?;
    // systemd socket activation: taken while this is the only thread (it
    // edits the environment); the passed sockets replace `bind`, and the
    // loopback rules are checked again against their addresses.
    let inherited = ptyhub_server::activation::inherited_listeners()?;
    let addrs = inherited
        .iter()
        .map(std::net::TcpListener::local_addr)
        .collect::<Result<Vec<_>, _>>()
        .context("cannot read a passed socket's address")?;
    if let Some(bind) = ptyhub_server::activation::effective_bind(&addrs) {
        options.bind = bind;
        options.validate()?;
    }
    init_tracing();
    for warning in options.warnings() {
        eprintln!("ptyhub: warning: {warning}");
    }
    // Sessions run as this user and can read /proc/<pid>/environ and
    // cmdline: a token supplied there is overwritten now that it is read.
    if let Some(token) = &options.token
        && let Err(e) = scrub::hide_token(token)
    {
        tracing::warn!("cannot hide the token from /proc/self/environ and cmdline: {e}");
    }
    // Sessions and clients hold descriptors: the soft limit goes up to the
    // hard one (programs keep the original, see ptyhub_pty::raise_open_files_limit).
    match ptyhub_pty::raise_open_files_limit() {
        Ok(limit) if limit.now > limit.before => {
            tracing::debug!(
                from = limit.before,
                to = limit.now,
                "open-files limit raised"
            );
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("cannot raise the open-files limit: {e}"),
    }
    // Orphans of a session whose guard was killed come to the server, which
    // ends them (see ptyhub_pty::reaper), instead of running on under PID 1.
    if let Err(e) = ptyhub_pty::reaper::become_subreaper() {
        tracing::warn!("cannot become a child subreaper: {e}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(serve(options, inherited));
    // Nothing the server left behind may hold the exit up.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    result
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// Runs the server until SIGTERM or SIGINT, then ends every session and
/// returns `Ok`.
async fn serve(options: Options, inherited: Vec<std::net::TcpListener>) -> anyhow::Result<()> {
    // The handlers go in first: a SIGTERM right after the URL line is out
    // must find them, not the default action.
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;

    // Only a generated token is printed (once): a supplied one is known to
    // whoever supplied it, and would land in logs.
    let supplied = options.token.is_some();
    let token = options.resolve_token().context("cannot generate a token")?;
    let mut _socket_file = None;
    let listeners: Vec<Listener> = if let Some(path) = &options.unix_socket {
        let (listener, file) = ptyhub_server::unix_socket::bind(path, options.socket_mode)
            .with_context(|| format!("cannot listen on unix:{}", path.display()))?;
        _socket_file = Some(file);
        vec![Listener::Unix(listener)]
    } else if inherited.is_empty() {
        vec![
            TcpListener::bind(options.bind)
                .await
                .with_context(|| format!("cannot listen on {}", options.bind))?
                .into(),
        ]
    } else {
        inherited
            .into_iter()
            .map(|l| {
                l.set_nonblocking(true)?;
                TcpListener::from_std(l).map(Listener::from)
            })
            .collect::<Result<Vec<_>, _>>()
            .context("cannot use a passed socket")?
    };
    let (addr, base) = match &listeners[0] {
        Listener::Tcp(l) => {
            let addr = l.local_addr().context("cannot read the bound address")?;
            (addr.to_string(), base_url(addr, options.tls.is_some()))
        }
        Listener::Unix(_) => {
            let path = options.unix_socket.as_deref().unwrap_or(Path::new(""));
            let unix = format!("unix:{}", path.display());
            (unix.clone(), unix)
        }
    };
    if listeners.len() > 1 {
        tracing::info!(
            sockets = listeners.len(),
            "serving the sockets systemd passed"
        );
    }
    // Under `base_path` (empty or `/pty`): the printed URL, the runtime
    // file's and so the client's.
    let base = format!("{base}{}", options.base_path);

    // Written before the URL line, so whoever waits for that line finds
    // the file too.
    let _runtime_file = write_runtime_file(&options, &base, token.as_deref());

    let mut stdout = std::io::stdout().lock();
    let printed = if supplied { None } else { token.as_deref() };
    writeln!(stdout, "ptyhub: open {}", open_url(&base, printed))
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")?;
    drop(stdout);
    if supplied {
        tracing::info!("log in with the token you supplied (it is not printed)");
    }
    tracing::info!(%addr, "listening");

    // The descriptor stays open while the server runs: guards start from it.
    let (guard, _guard_fd) = guard_exe::guard_program()?;
    let server = Server::new(options, token, guard);
    let supervisor = server.supervisor().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (now, at_once) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = interrupt.recv() => tracing::info!("SIGINT: shutting down"),
        }
        // The receiver lives until the server has stopped.
        let _ = stop.send(());
        // A second signal while the sessions are still ending: no more
        // waiting (like pressing Ctrl-C twice).
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        tracing::warn!("second signal: killing every session and exiting now");
        supervisor.kill_all(ExitReason::Shutdown);
        let _ = now.send(());
    });
    let shutdown = async move {
        let _ = stopped.await;
    };
    tokio::select! {
        served = server.serve_all(listeners, shutdown) => served.context("serving")?,
        _ = at_once => {}
    }
    Ok(())
}

/// The server's base URL for a local browser or client: `https://` under
/// TLS, the bound address, with an unspecified one (`0.0.0.0`, `::`)
/// replaced by loopback.
fn base_url(addr: SocketAddr, tls: bool) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{}", SocketAddr::new(ip, addr.port()))
}

/// The URL to open: the web UI, with the token when it is to be printed.
fn open_url(base: &str, token: Option<&str>) -> String {
    match token {
        Some(token) => format!("{base}/?token={}", percent_encode(token)),
        None => format!("{base}/"),
    }
}

/// Writes the runtime file for client commands; a failure is a warning
/// (the server works, `ptyhub ls` then needs PTYHUB_URL and PTYHUB_TOKEN).
fn write_runtime_file(options: &Options, base: &str, token: Option<&str>) -> Option<RuntimeFile> {
    let dir = options
        .runtime_dir
        .clone()
        .or_else(|| runtime_file::default_dir(&env_var))?;
    let info = RuntimeInfo {
        url: base.to_owned(),
        token: token.map(str::to_owned),
        pid: std::process::id(),
        tls_cert: options.tls.as_ref().map(|tls| tls.cert.clone()),
    };
    match RuntimeFile::write(&dir, &info) {
        Ok(file) => Some(file),
        Err(err) => {
            tracing::warn!(dir = %dir.display(), error = %err, "cannot write the runtime file");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let url = |s: &str| base_url(s.parse().unwrap(), false);
        assert_eq!(url("127.0.0.1:7681"), "http://127.0.0.1:7681");
        assert_eq!(url("0.0.0.0:80"), "http://127.0.0.1:80");
        assert_eq!(url("[::]:7681"), "http://[::1]:7681");
        assert_eq!(url("[::1]:7681"), "http://[::1]:7681");
        assert_eq!(url("192.168.1.2:9"), "http://192.168.1.2:9");
        assert_eq!(
            base_url("0.0.0.0:443".parse().unwrap(), true),
            "https://127.0.0.1:443"
        );
        assert_eq!(
            open_url("http://127.0.0.1:1", Some("a+b")),
            "http://127.0.0.1:1/?token=a%2Bb"
        );
        assert_eq!(open_url("http://127.0.0.1:1", None), "http://127.0.0.1:1/");
    }
}
