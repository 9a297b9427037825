//! `/metrics` in the Prometheus text format.

use std::fmt::Write;

use ptyhub_protocol::api::SessionStatus;

use crate::state::AppState;

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The current metrics.
pub fn render(state: &AppState) -> String {
    let mut out = String::new();
    let sessions = state.registry.list();
    let counts = state.registry.count_by_status();
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "# HELP ptyhub_sessions Sessions by status.\n# TYPE ptyhub_sessions gauge"
    );
    for status in [
        SessionStatus::Starting,
        SessionStatus::Active,
        SessionStatus::Idle,
        SessionStatus::Exited,
        SessionStatus::Terminated,
        SessionStatus::Error,
    ] {
        let _ = writeln!(
            out,
            "ptyhub_sessions{{status=\"{status}\"}} {}",
            counts.get(&status).copied().unwrap_or(0)
        );
    }
    let clients: u64 = sessions.iter().map(|s| u64::from(s.info().clients)).sum();
    let _ = writeln!(
        out,
        "# HELP ptyhub_clients Attached clients.\n# TYPE ptyhub_clients gauge\nptyhub_clients {clients}"
    );
    let (bytes_in, bytes_out, lagged) = sessions.iter().fold((0u64, 0u64, 0u64), |(i, o, l), s| {
        let (si, so) = s.bytes_in_out();
        (i + si, o + so, l + s.lag_events())
    });
    let _ = writeln!(
        out,
        "# HELP ptyhub_bytes_in Bytes written to programs (listed sessions).\n# TYPE ptyhub_bytes_in counter\nptyhub_bytes_in {bytes_in}"
    );
    let _ = writeln!(
        out,
        "# HELP ptyhub_bytes_out Bytes programs wrote (listed sessions).\n# TYPE ptyhub_bytes_out counter\nptyhub_bytes_out {bytes_out}"
    );
    let _ = writeln!(
        out,
        "# HELP ptyhub_lagged_clients Times a client fell behind and was resynchronised.\n# TYPE ptyhub_lagged_clients counter\nptyhub_lagged_clients {lagged}"
    );
    let _ = writeln!(
        out,
        "# HELP ptyhub_session_rss_bytes Resident memory of each session's process tree.\n# TYPE ptyhub_session_rss_bytes gauge"
    );
    for s in &sessions {
        let info = s.info();
        let _ = writeln!(
            out,
            "ptyhub_session_rss_bytes{{id=\"{}\",name=\"{}\"}} {}",
            info.id,
            escape(info.name.as_deref().unwrap_or("")),
            info.resources.rss_bytes
        );
    }
    let _ = writeln!(
        out,
        "# HELP ptyhub_ws_connections WebSocket connections accepted.\n# TYPE ptyhub_ws_connections counter\nptyhub_ws_connections {}",
        state
            .counters
            .ws_connections
            .load(std::sync::atomic::Ordering::Relaxed)
    );
    out
}
