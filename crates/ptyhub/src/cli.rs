//! The command line, as clap derive types. `serve` runs the server; the
//! client commands of docs/configuration.md (`ls`, `new`, `attach`, `kill`,
//! `send`, `screen`) are [`crate::client::ClientCommand`], flattened in;
//! `completions` prints a shell's completion script.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use ptyhub_server::options::Flags;

/// `ptyhub`: terminal programs in real PTYs, for browsers and for other
/// programs.
#[derive(Debug, Parser)]
#[command(name = "ptyhub", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: prints the URL to open (with the token) and serves
    /// until SIGTERM or SIGINT.
    Serve(ServeArgs),
    /// The client commands.
    #[command(flatten)]
    Client(crate::client::ClientCommand),
    /// Print the completion script for a shell: `ptyhub completions bash >
    /// /etc/bash_completion.d/ptyhub`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Writes `shell`'s completion script for the whole command line to `out`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn std::io::Write) {
    let mut command = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut command, "ptyhub", out);
}

/// `ptyhub serve`. Precedence: defaults < config file < environment
/// (`PTYHUB_TOKEN`, `PTYHUB_BIND`, `PTYHUB_CONFIG`) < these flags.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The config file (TOML) [env: PTYHUB_CONFIG].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The address to listen on, IP:PORT [default: 127.0.0.1:7681] [env:
    /// PTYHUB_BIND].
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,

    /// The token clients must present. It shows in `ps`: prefer the
    /// PTYHUB_TOKEN environment variable. Generated when not given.
    #[arg(long, value_name = "T", conflicts_with = "no_auth")]
    pub token: Option<String>,

    /// Run without a token: only with a loopback bind.
    #[arg(long)]
    pub no_auth: bool,

    /// Allow running as root with a non-loopback bind.
    #[arg(long)]
    pub allow_root: bool,

    /// Serve everything under this URL prefix (`/pty`), for a reverse
    /// proxy that forwards the prefix unchanged (docs/deployment.md).
    #[arg(long, value_name = "PATH")]
    pub base_path: Option<String>,

    /// Serve HTTPS and WSS with this certificate chain (PEM); with
    /// --tls-key (config: tls_cert).
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,

    /// The certificate's private key (PEM); with --tls-cert (config:
    /// tls_key).
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
}

impl ServeArgs {
    /// The flags layer of the options.
    pub fn flags(&self) -> Flags {
        Flags {
            config: self.config.clone(),
            bind: self.bind.clone(),
            token: self.token.clone(),
            no_auth: self.no_auth,
            allow_root: self.allow_root,
            base_path: self.base_path.clone(),
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn serve(args: &[&str]) -> Result<ServeArgs, clap::Error> {
        let cli = Cli::try_parse_from(["ptyhub", "serve"].iter().chain(args))?;
        match cli.command {
            Command::Serve(args) => Ok(args),
            other => panic!("not serve: {other:?}"),
        }
    }

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_flags() {
        let flags = serve(&[]).unwrap().flags();
        assert_eq!(flags, Flags::default());
        let flags = serve(&[
            "--config",
            "/etc/ptyhub.toml",
            "--bind",
            "0.0.0.0:80",
            "--token",
            "t",
            "--allow-root",
        ])
        .unwrap()
        .flags();
        assert_eq!(
            flags,
            Flags {
                config: Some("/etc/ptyhub.toml".into()),
                bind: Some("0.0.0.0:80".into()),
                token: Some("t".into()),
                no_auth: false,
                allow_root: true,
                base_path: None,
                tls_cert: None,
                tls_key: None,
            }
        );
        assert!(serve(&["--no-auth"]).unwrap().flags().no_auth);
    }

    #[test]
    fn token_and_no_auth_exclude_each_other() {
        let err = serve(&["--token", "t", "--no-auth"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    #[test]
    fn completions_cover_the_client_commands() {
        let mut out = Vec::new();
        completions(clap_complete::Shell::Bash, &mut out);
        let script = String::from_utf8(out).unwrap();
        for word in ["serve", "attach", "screen", "--detach-prefix", "--no-enter"] {
            assert!(script.contains(word), "{word}");
        }
    }

    #[test]
    fn a_subcommand_is_required() {
        assert!(Cli::try_parse_from(["ptyhub"]).is_err());
        assert!(Cli::try_parse_from(["ptyhub", "serve", "--bogus"]).is_err());
    }
}
