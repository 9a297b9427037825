//! `ptyhub ls`'s table, like `kubectl get`: one row per session with its
//! id prefix, name, provider, status, agent state, size, clients, CPU, memory and age;
//! and each session's node when several machines form one service.
//!
//! Names, providers and the like come from users and programs: control
//! characters are shown as `?`, never sent to the terminal.

use ptyhub_protocol::api::{SessionInfo, SessionStatus};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::resolve::short_id_len;

/// The column titles.
const HEADERS: [&str; 10] = [
    "ID", "NAME", "PROVIDER", "STATUS", "STATE", "SIZE", "CLIENTS", "CPU", "MEM", "AGE",
];

/// The table for `sessions`, as of `now`, with a trailing newline; the
/// oldest session first.
pub fn render(sessions: &[SessionInfo], now: OffsetDateTime) -> String {
    let width = short_id_len(sessions);
    let mut sorted: Vec<&SessionInfo> = sessions.iter().collect();
    let created = |s: &SessionInfo| OffsetDateTime::parse(&s.created_at, &Rfc3339).ok();
    sorted.sort_by(|a, b| created(a).cmp(&created(b)).then(a.id.cmp(&b.id)));
    // `[cluster]`: a NODE column after STATUS.
    let clustered = sessions.iter().any(|s| s.node.is_some());
    let with_node = |mut cells: Vec<String>, node: &str| {
        if clustered {
            cells.insert(4, node.to_owned());
        }
        cells
    };
    let headers = with_node(HEADERS.map(str::to_owned).to_vec(), "NODE");
    let rows: Vec<Vec<String>> = sorted
        .iter()
        .map(|s| {
            let node = s.node.as_deref().map_or("-".to_owned(), printable);
            with_node(row(s, width, now).to_vec(), &node)
        })
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(String::len).collect();
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(cell);
                text.extend(std::iter::repeat_n(' ', w - cell.chars().count() + 3));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&headers);
    for r in &rows {
        line(r);
    }
    out
}

fn row(s: &SessionInfo, width: usize, now: OffsetDateTime) -> [String; 10] {
    // Resources of an ended session, or of one not sampled yet (no
    // process counted), are unknown rather than zero.
    let sampled = !s.status.is_ended() && s.resources.processes > 0;
    let provider = s
        .provider
        .clone()
        .or_else(|| s.command.first().map(|c| format!("({c})")));
    [
        s.id.chars().take(width).collect(),
        s.name.as_deref().map_or("-".to_owned(), printable),
        provider.as_deref().map_or("-".to_owned(), printable),
        status(s),
        s.agent.state.to_string(),
        format!("{}x{}", s.cols, s.rows),
        s.clients.to_string(),
        if sampled {
            format!("{:.1}%", s.resources.cpu_percent)
        } else {
            "-".to_owned()
        },
        if sampled {
            bytes(s.resources.rss_bytes)
        } else {
            "-".to_owned()
        },
        age(&s.created_at, now),
    ]
}

/// `active`, `exited(0)`, `exited(SIGKILL)`, `terminated(idle_timeout)`.
pub fn status(s: &SessionInfo) -> String {
    match (&s.status, &s.exit) {
        (SessionStatus::Exited, Some(exit)) => match (&exit.code, &exit.signal) {
            (Some(code), _) => format!("exited({code})"),
            (None, Some(signal)) => format!("exited({signal})"),
            (None, None) => "exited".to_owned(),
        },
        (SessionStatus::Terminated, Some(exit)) => format!("terminated({})", exit.reason),
        (status, _) => status.to_string(),
    }
}

/// A byte count in binary units, one decimal below 10: `512B`, `4.0K`,
/// `12M`, `1.5G`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "K", "M", "G", "T"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n}B")
    } else if value < 10.0 {
        format!("{value:.1}{}", UNITS[unit])
    } else {
        format!("{value:.0}{}", UNITS[unit])
    }
}

/// How long ago `created_at` was, as kubectl shows it: `45s`, `12m`, `3h`,
/// `2d`; `?` when the time cannot be read.
pub fn age(created_at: &str, now: OffsetDateTime) -> String {
    let Ok(then) = OffsetDateTime::parse(created_at, &Rfc3339) else {
        return "?".to_owned();
    };
    let secs = (now - then).whole_seconds().max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 2 * 3600 => format!("{}m", s / 60),
        s if s < 2 * 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

/// `text` with control characters replaced by `?`, safe to print.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::resolve::tests::session;
    use time::macros::datetime;

    #[test]
    fn the_table_lines_up() {
        let mut a = session("3f2a1b7c-0000-4000-8000-000000000001", Some("build\x1b[2J"));
        a.created_at = "2026-01-01T00:00:00Z".into();
        a.resources.rss_bytes = 5 * 1024 * 1024 + 512 * 1024;
        a.resources.cpu_percent = 12.345;
        a.resources.processes = 2;
        a.clients = 2;
        a.agent.state = ptyhub_protocol::api::AgentState::Waiting;
        let mut b = session("a0000000-0000-4000-8000-000000000003", None);
        b.created_at = "2025-12-30T00:00:00Z".into();
        b.provider = None;
        b.agent.state = ptyhub_protocol::api::AgentState::Ready;
        b.status = SessionStatus::Exited;
        b.exit = Some(ptyhub_protocol::api::ExitInfo {
            code: Some(7),
            signal: None,
            reason: ptyhub_protocol::api::ExitReason::Exited,
        });
        let table = render(&[a, b], datetime!(2026-01-01 00:05:00 UTC));
        assert_eq!(
            table,
            "\
ID         NAME        PROVIDER   STATUS      STATE     SIZE    CLIENTS   CPU     MEM    AGE
a0000000   -           (bash)     exited(7)   ready     80x24   0         -       -      2d
3f2a1b7c   build?[2J   shell      active      waiting   80x24   2         12.3%   5.5M   5m
"
        );
        let mut c = session("c0000000-0000-4000-8000-000000000004", Some("x"));
        c.created_at = "2026-01-01T00:04:00Z".into();
        c.node = Some("node-b".into());
        let table = render(&[c], datetime!(2026-01-01 00:05:00 UTC));
        assert_eq!(
            table,
            "\
ID         NAME   PROVIDER   STATUS   NODE     STATE     SIZE    CLIENTS   CPU    MEM   AGE
c0000000   x      shell      active   node-b   unknown   80x24   0         0.0%   0B    60s
"
        );
    }

    #[test]
    fn units() {
        assert_eq!(bytes(0), "0B");
        assert_eq!(bytes(1023), "1023B");
        assert_eq!(bytes(4096), "4.0K");
        assert_eq!(bytes(200 * 1024 * 1024), "200M");
        assert_eq!(bytes(3 << 30), "3.0G");
        let now = datetime!(2026-01-02 00:00:00 UTC);
        assert_eq!(age("2026-01-01T23:59:15Z", now), "45s");
        assert_eq!(age("2026-01-01T23:00:00Z", now), "60m");
        assert_eq!(age("2026-01-01T12:00:00Z", now), "12h");
        assert_eq!(age("2025-12-01T00:00:00Z", now), "32d");
        assert_eq!(age("2026-01-03T00:00:00Z", now), "0s");
        assert_eq!(age("yesterday", now), "?");
    }
}
