//! `/metrics` in the Prometheus text format (version 0.0.4).

use std::fmt::Write;
use std::sync::atomic::Ordering;

use ptyhub_protocol::api::{ExitReason, SessionInfo, SessionStatus};

use crate::state::AppState;

/// A label value, escaped as the text format wants.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Writes one metric's `HELP` and `TYPE` lines.
fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    // Writing to a String cannot fail.
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

const STATUSES: [SessionStatus; 6] = [
    SessionStatus::Starting,
    SessionStatus::Active,
    SessionStatus::Idle,
    SessionStatus::Exited,
    SessionStatus::Terminated,
    SessionStatus::Error,
];

const REASONS: [ExitReason; 10] = [
    ExitReason::Exited,
    ExitReason::Deleted,
    ExitReason::IdleTimeout,
    ExitReason::Lifetime,
    ExitReason::MemoryLimit,
    ExitReason::CpuLimit,
    ExitReason::ProcessLimit,
    ExitReason::Shutdown,
    ExitReason::GuardLost,
    ExitReason::NodeLost,
];

/// A per-session metric: name, type, help, and how to read it.
type PerSession = (
    &'static str,
    &'static str,
    &'static str,
    fn(&SessionInfo) -> f64,
);

/// The current metrics.
pub fn render(state: &AppState) -> String {
    let mut out = String::new();
    let sessions: Vec<_> = state
        .registry
        .list()
        .into_iter()
        .map(|s| (s.info(), s.lag_events()))
        .collect();
    let stats = state.supervisor.stats();

    header(
        &mut out,
        "ptyhub_sessions",
        "gauge",
        "Listed sessions by status.",
    );
    for status in STATUSES {
        let n = sessions.iter().filter(|s| s.0.status == status).count();
        let _ = writeln!(out, "ptyhub_sessions{{status=\"{status}\"}} {n}");
    }
    header(
        &mut out,
        "ptyhub_sessions_agent",
        "gauge",
        "Listed sessions by agent state (busy, waiting, ready, unknown).",
    );
    for agent in ptyhub_protocol::api::AgentState::ALL {
        let n = sessions.iter().filter(|s| s.0.agent.state == agent).count();
        let _ = writeln!(out, "ptyhub_sessions_agent{{state=\"{agent}\"}} {n}");
    }
    header(
        &mut out,
        "ptyhub_sessions_ended_total",
        "counter",
        "Sessions ended, by reason.",
    );
    for reason in REASONS {
        let n = stats.ended.get(&reason).copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "ptyhub_sessions_ended_total{{reason=\"{reason}\"}} {n}"
        );
    }
    let clients: u64 = sessions.iter().map(|s| u64::from(s.0.clients)).sum();
    header(&mut out, "ptyhub_clients", "gauge", "Attached clients.");
    let _ = writeln!(out, "ptyhub_clients {clients}");
    let (bytes_in, bytes_out, lagged) =
        sessions.iter().fold((0, 0, 0), |(i, o, l), (info, lag)| {
            (i + info.bytes_in, o + info.bytes_out, l + lag)
        });
    header(
        &mut out,
        "ptyhub_input_bytes_total",
        "counter",
        "Bytes written to the programs of listed sessions.",
    );
    let _ = writeln!(out, "ptyhub_input_bytes_total {bytes_in}");
    header(
        &mut out,
        "ptyhub_output_bytes_total",
        "counter",
        "Bytes the programs of listed sessions wrote.",
    );
    let _ = writeln!(out, "ptyhub_output_bytes_total {bytes_out}");
    header(
        &mut out,
        "ptyhub_lagged_clients_total",
        "counter",
        "Times a client fell behind and was resynchronised (listed sessions).",
    );
    let _ = writeln!(out, "ptyhub_lagged_clients_total {lagged}");

    let per_session: [PerSession; 4] = [
        (
            "ptyhub_session_processes",
            "gauge",
            "Processes in each session's tree.",
            |s| s.resources.processes as f64,
        ),
        (
            "ptyhub_session_rss_bytes",
            "gauge",
            "Resident memory of each session's process tree.",
            |s| s.resources.rss_bytes as f64,
        ),
        (
            "ptyhub_session_cpu_seconds_total",
            "counter",
            "CPU time of each session's process tree.",
            |s| s.resources.cpu_seconds,
        ),
        (
            "ptyhub_session_clients",
            "gauge",
            "Clients attached to each session.",
            |s| f64::from(s.clients),
        ),
    ];
    for (name, kind, help, value) in per_session {
        header(&mut out, name, kind, help);
        for (info, _) in &sessions {
            let _ = writeln!(
                out,
                "{name}{{id=\"{}\",name=\"{}\"}} {}",
                info.id,
                escape(info.name.as_deref().unwrap_or("")),
                value(info)
            );
        }
    }

    header(
        &mut out,
        "ptyhub_sampler_runs_total",
        "counter",
        "Passes of the resource sampler over /proc.",
    );
    let _ = writeln!(out, "ptyhub_sampler_runs_total {}", stats.samples);
    header(
        &mut out,
        "ptyhub_sampler_seconds_total",
        "counter",
        "CPU time spent in the resource sampler's /proc passes.",
    );
    let _ = writeln!(
        out,
        "ptyhub_sampler_seconds_total {}",
        stats.sample_time.as_secs_f64()
    );
    header(
        &mut out,
        "ptyhub_sampler_last_seconds",
        "gauge",
        "CPU time of the last sampler pass.",
    );
    let _ = writeln!(
        out,
        "ptyhub_sampler_last_seconds {}",
        stats.last_sample.as_secs_f64()
    );
    header(
        &mut out,
        "ptyhub_ws_connections_total",
        "counter",
        "WebSocket connections accepted.",
    );
    let _ = writeln!(
        out,
        "ptyhub_ws_connections_total {}",
        state.counters.ws_connections.load(Ordering::Relaxed)
    );
    match &state.cluster {
        Some(cluster) => with_node_label(&out, cluster.node()),
        None => out,
    }
}

/// `[cluster]`: every sample labelled with the node (`node="a"`), so that
/// several nodes' metrics can be told apart once scraped together. Node
/// names need no escaping (letters, digits, `.`, `_`, `-`).
fn with_node_label(text: &str, node: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.lines().count() * (node.len() + 9));
    for line in text.lines() {
        if line.starts_with('#') || line.is_empty() {
            out.push_str(line);
        } else if let Some((name, rest)) = line.split_once('{') {
            let _ = write!(out, "{name}{{node=\"{node}\",{rest}");
        } else if let Some((name, value)) = line.split_once(' ') {
            let _ = write!(out, "{name}{{node=\"{node}\"}} {value}");
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_label_goes_on_every_sample() {
        let text = "# HELP a An a.\n# TYPE a gauge\na 1\nb{status=\"idle\"} 2\n";
        assert_eq!(
            with_node_label(text, "n-1"),
            "# HELP a An a.\n# TYPE a gauge\na{node=\"n-1\"} 1\nb{node=\"n-1\",status=\"idle\"} 2\n"
        );
    }
}
