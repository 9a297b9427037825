//! `ptyhub rec ls`, `ptyhub rec get ID` and `ptyhub play ID`: the
//! recordings of a server (asciicast v2 files), listed, downloaded, and
//! replayed in this terminal with their timing.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use ptyhub_protocol::api::RecordingEntry;
use time::OffsetDateTime;

use super::api::Api;
use super::commands;
use super::endpoint::ServerArgs;
use super::error::{Error, Result};
use super::table::printable;

/// `ptyhub rec`.
#[derive(Debug, Args)]
pub struct RecArgs {
    /// What to do with the recordings.
    #[command(subcommand)]
    pub command: RecCommand,
}

/// `ptyhub rec ls | get`.
#[derive(Debug, Subcommand)]
pub enum RecCommand {
    /// List the recordings (also of sessions long ended).
    Ls {
        /// Print the API's listing (`{"recordings": [...]}`) as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Write a recording (an asciicast v2 file) to stdout: `ptyhub rec get ID > x.cast`.
    Get(RecordingArgs),
}

/// A command that names one recording.
#[derive(Debug, Args)]
pub struct RecordingArgs {
    /// The recording: its session's id, a unique prefix of it, or the
    /// session's name.
    #[arg(value_name = "ID|NAME")]
    pub recording: String,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `ptyhub play`.
#[derive(Debug, Args)]
pub struct PlayArgs {
    /// The recording: its session's id, a unique prefix of it, or the
    /// session's name.
    #[arg(value_name = "ID|NAME")]
    pub recording: String,
    /// Play this many times faster (0.5 is half speed).
    #[arg(long, default_value_t = 1.0, value_parser = positive)]
    pub speed: f64,
    /// Cut every pause longer than this many seconds down to it.
    #[arg(long, value_name = "SECONDS", value_parser = positive)]
    pub idle_limit: Option<f64>,
    #[command(flatten)]
    pub server: ServerArgs,
}

fn positive(text: &str) -> std::result::Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("{text:?} is not a positive number")),
    }
}

/// `rec ls` as a table; `[cluster]`: a NODE column last. Names and
/// providers come from users: control characters are shown as `?`.
pub fn render(list: &[RecordingEntry]) -> String {
    let clustered = list.iter().any(|r| r.node.is_some());
    let node = |r: Option<&RecordingEntry>| match (clustered, r) {
        (false, _) => String::new(),
        (true, None) => "  NODE".to_owned(),
        (true, Some(r)) => format!("  {}", printable(r.node.as_deref().unwrap_or("-"))),
    };
    let mut out = format!(
        "{:<10} {:<16} {:<8} {:<20} {:>9} {:>7}  {:<9}{}",
        "ID",
        "NAME",
        "PROVIDER",
        "STARTED",
        "SIZE",
        "TERM",
        "STATE",
        node(None)
    );
    out = out.trim_end().to_owned() + "\n";
    for r in list {
        let started = OffsetDateTime::parse(
            &r.started_at,
            &time::format_description::well_known::Rfc3339,
        )
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]"
            ))
            .ok()
        })
        .unwrap_or_else(|| r.started_at.clone());
        let line = format!(
            "{:<10} {:<16} {:<8} {:<20} {:>9} {:>7}  {:<9}{}",
            r.id.get(..8).unwrap_or(&r.id),
            printable(r.name.as_deref().unwrap_or("-")),
            printable(r.provider.as_deref().unwrap_or("-")),
            started,
            human_bytes(r.bytes),
            format!("{}x{}", r.cols, r.rows),
            if r.ended_at.is_some() {
                "ended"
            } else {
                "recording"
            },
            node(Some(r)),
        );
        out += line.trim_end();
        out.push('\n');
    }
    out
}

fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1}G", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1}M", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1}K", n as f64 / 1024.0),
        n => format!("{n}B"),
    }
}

/// The id of the recording `query` names: a whole id, a unique prefix of
/// one, or a session name.
pub async fn resolve(api: &Api, query: &str) -> Result<String> {
    let list = api.recordings().await?.value.recordings;
    if let Some(r) = list.iter().find(|r| r.id == query) {
        return Ok(r.id.clone());
    }
    let by_name: Vec<&RecordingEntry> = list
        .iter()
        .filter(|r| r.name.as_deref() == Some(query))
        .collect();
    let by_prefix: Vec<&RecordingEntry> = list
        .iter()
        .filter(|r| !query.is_empty() && r.id.starts_with(query))
        .collect();
    let found = if by_name.is_empty() {
        by_prefix
    } else {
        by_name
    };
    match found.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => Err(Error::other(format!(
            "no recording matches {query:?} (see `ptyhub rec ls`)"
        ))),
        many => Err(Error::other(format!(
            "{query:?} matches {} recordings: {}; give more of the id",
            many.len(),
            many.iter()
                .map(|r| r.id.get(..8).unwrap_or(&r.id))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// One output event of a recording: when, and what.
#[derive(Debug, PartialEq)]
pub struct Frame {
    /// Seconds since the start.
    pub t: f64,
    /// The text to write.
    pub text: String,
}

/// The output events of an asciicast v2 file, in order (other events are
/// skipped, and so are lines that do not parse: a file cut short ends at
/// its last whole line).
pub fn frames(cast: &str) -> Result<Vec<Frame>> {
    let mut lines = cast.lines();
    let header: serde_json::Value = lines
        .next()
        .and_then(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| Error::other("the recording has no asciicast header"))?;
    if header["version"] != 2 {
        return Err(Error::other(format!(
            "the recording is asciicast version {}, this client plays version 2",
            header["version"]
        )));
    }
    Ok(lines
        .filter_map(|l| serde_json::from_str::<(f64, String, String)>(l).ok())
        .filter(|(_, kind, _)| kind == "o")
        .map(|(t, _, text)| Frame { t, text })
        .collect())
}

/// When each frame is due, in seconds after the start of the replay:
/// pauses longer than `idle_limit` cut down to it, then divided by `speed`.
pub fn schedule(frames: &[Frame], speed: f64, idle_limit: Option<f64>) -> Vec<f64> {
    let mut at = 0.0;
    let mut last = 0.0;
    frames
        .iter()
        .map(|f| {
            let mut pause = (f.t - last).max(0.0);
            if let Some(limit) = idle_limit {
                pause = pause.min(limit);
            }
            last = f.t;
            at += pause / speed;
            at
        })
        .collect()
}

/// Replays the frames to `out` with their timing.
pub async fn play(out: &mut impl Write, frames: &[Frame], due: &[f64]) -> Result<()> {
    let start = tokio::time::Instant::now();
    for (frame, at) in frames.iter().zip(due) {
        tokio::time::sleep_until(start + Duration::from_secs_f64(*at)).await;
        let written = out
            .write_all(frame.text.as_bytes())
            .and_then(|()| out.flush());
        if let Err(e) = written {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(());
            }
            return Err(Error::other(format!("cannot write to stdout: {e}")));
        }
    }
    Ok(())
}

/// `ptyhub rec ...`.
pub async fn run_rec(args: RecArgs) -> Result<ExitCode> {
    match args.command {
        RecCommand::Ls { json, server } => {
            let api = commands::api(&server)?;
            let list = api.recordings().await?;
            if json {
                commands::print_json(&list.text)?;
            } else {
                commands::print(&render(&list.value.recordings))?;
            }
        }
        RecCommand::Get(args) => {
            let api = commands::api(&args.server)?;
            let id = resolve(&api, &args.recording).await?;
            let cast = api.recording(&id).await?;
            let mut out = std::io::stdout().lock();
            match out.write_all(&cast).and_then(|()| out.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(Error::other(format!("cannot write to stdout: {e}")));
                }
                _ => {}
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `ptyhub play ...`.
pub async fn run_play(args: PlayArgs) -> Result<ExitCode> {
    let api = commands::api(&args.server)?;
    let id = resolve(&api, &args.recording).await?;
    let cast = api.recording(&id).await?;
    let frames = frames(&String::from_utf8_lossy(&cast))?;
    let due = schedule(&frames, args.speed, args.idle_limit);
    play(&mut std::io::stdout().lock(), &frames, &due).await?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_their_schedule() {
        let cast = "{\"version\": 2, \"width\": 80, \"height\": 24}\n\
                    [0.5, \"o\", \"a\"]\n[1.0, \"m\", \"status:idle\"]\n\
                    [10.5, \"o\", \"b\"]\n[11.0, \"o\", \"c\"]\n[11.5, \"o\", \"cut";
        let f = frames(cast).unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(f[1].text, "b");
        assert_eq!(schedule(&f, 1.0, None), vec![0.5, 10.5, 11.0]);
        assert_eq!(schedule(&f, 2.0, Some(2.0)), vec![0.25, 1.25, 1.5]);
        assert!(frames("[1, \"o\", \"x\"]").is_err());
    }

    #[test]
    fn speeds_must_be_positive() {
        assert!(positive("0").is_err());
        assert!(positive("-1").is_err());
        assert!(positive("nan").is_err());
        assert_eq!(positive("2.5"), Ok(2.5));
    }
}
