//! The agent-state commands: `ptyhub wait ID --state STATE` (exit 0 once
//! the session is in that state, 1 on timeout) and `ptyhub hook` (what AI
//! CLIs run from their hooks: posts the event JSON to the session's hook
//! route with the variables the session's environment has, and exits 0
//! whatever happens, so that it never breaks the CLI).

use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use ptyhub_protocol::api::{AgentState, WaitAgentResponse};

use super::api::Api;
use super::endpoint::ServerArgs;
use super::error::{Error, Result};

/// `ptyhub wait`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// The session: its id, a unique prefix of its id, or its name.
    #[arg(value_name = "ID|NAME")]
    pub session: String,
    /// The agent state to wait for: ready, waiting, busy (or unknown).
    #[arg(long, value_name = "STATE")]
    pub state: AgentState,
    /// How long to wait at most (`500ms`, `60s`, `10m`; at most 10m).
    #[arg(long, value_name = "T", default_value = "60s", value_parser = parse_duration)]
    pub timeout: Duration,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `ptyhub hook`.
#[derive(Debug, Args)]
pub struct HookArgs {
    /// The event JSON (Codex passes it as the last argument); read from
    /// stdin when absent (Claude Code).
    #[arg(value_name = "JSON")]
    pub json: Option<String>,
}

fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 60s"))?;
    let seconds = match unit {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("{text:?}: the unit is ms, s, m or h")),
    };
    if !(0.0..=600.0).contains(&seconds) {
        return Err("a timeout is at most 10m".to_owned());
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// `ptyhub wait`: 0 when reached, 1 on timeout.
pub async fn wait(api: &Api, id: &str, args: &WaitArgs) -> Result<ExitCode> {
    let body = serde_json::json!({
        "agent_state": args.state,
        "timeout_ms": args.timeout.as_millis() as u64,
    });
    match api
        .post_json::<WaitAgentResponse>(
            &format!("/api/sessions/{id}/wait"),
            &body,
            args.timeout + Duration::from_secs(10),
        )
        .await
    {
        Ok(answer) => {
            println!("{}", answer.value.agent.state);
            Ok(ExitCode::SUCCESS)
        }
        Err(Error::Api { status: 408, .. }) => {
            eprintln!(
                "ptyhub: the session was not {} within {:?}",
                args.state, args.timeout
            );
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e),
    }
}

/// How long `ptyhub hook` may take: a CLI waits for its hooks.
const HOOK_TIMEOUT: Duration = Duration::from_secs(3);

/// `ptyhub hook`: always exit 0; a failure is one line on stderr.
pub async fn hook(args: HookArgs) -> ExitCode {
    if let Err(message) = post_hook(args).await {
        eprintln!("ptyhub hook: {message}");
    }
    ExitCode::SUCCESS
}

async fn post_hook(args: HookArgs) -> std::result::Result<(), String> {
    let var = |name: &str| {
        std::env::var(name).map_err(|_| format!("{name} is not set (not in a ptyhub session?)"))
    };
    let (url, id, token) = (
        var("PTYHUB_URL")?,
        var("PTYHUB_SESSION_ID")?,
        var("PTYHUB_HOOK_TOKEN")?,
    );
    let body = match args.json {
        Some(json) => json.into_bytes(),
        None => {
            let mut body = Vec::new();
            std::io::stdin()
                .take(1 << 20)
                .read_to_end(&mut body)
                .map_err(|e| format!("reading stdin: {e}"))?;
            body
        }
    };
    let http = reqwest::Client::builder()
        .timeout(HOOK_TIMEOUT)
        .build()
        .map_err(|e| e.to_string())?;
    let response = http
        .post(format!(
            "{}/api/sessions/{id}/hook",
            url.trim_end_matches('/')
        ))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("no answer from {url}: {}", super::api::root_cause(&e)))?;
    if !response.status().is_success() {
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        return Err(format!("{status}: {}", text.trim()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert!(parse_duration("11m").is_err());
        assert!(parse_duration("x").is_err());
    }
}
