//! Naming a session as `docker` does: its full id, its name, or a unique
//! prefix of its id; an ambiguous prefix lists the candidates.

use ptyhub_protocol::api::SessionInfo;

use super::error::{Error, Result};

/// The shortest id prefix `ls` shows.
pub const MIN_SHORT_ID: usize = 8;

/// The session that `query` names among `sessions`: an exact id first, then
/// an exact name, then a unique id prefix (case-insensitive).
pub fn resolve<'a>(sessions: &'a [SessionInfo], query: &str) -> Result<&'a SessionInfo> {
    let unknown = || Error::UnknownSession {
        query: query.to_owned(),
    };
    if query.is_empty() {
        return Err(unknown());
    }
    if let Some(s) = sessions.iter().find(|s| s.id == query) {
        return Ok(s);
    }
    // A name is unique among running sessions; an ended one that lingers
    // may share it with a newer one, which wins.
    let mut named = sessions.iter().filter(|s| s.name.as_deref() == Some(query));
    if let Some(s) = named
        .clone()
        .find(|s| s.exit.is_none())
        .or(named.next_back())
    {
        return Ok(s);
    }
    let prefix = query.to_ascii_lowercase();
    let matches: Vec<&SessionInfo> = sessions
        .iter()
        .filter(|s| s.id.starts_with(&prefix))
        .collect();
    match matches.as_slice() {
        [] => Err(unknown()),
        [one] => Ok(one),
        many => {
            let width = short_id_len(sessions);
            Err(Error::Ambiguous {
                query: query.to_owned(),
                candidates: many.iter().map(|s| describe(s, width)).collect(),
            })
        }
    }
}

/// The length of id prefix that tells every one of `sessions` apart, at
/// least [`MIN_SHORT_ID`].
pub fn short_id_len(sessions: &[SessionInfo]) -> usize {
    let mut ids: Vec<&str> = sessions.iter().map(|s| s.id.as_str()).collect();
    ids.sort_unstable();
    let longest_common = ids
        .windows(2)
        .map(|w| {
            w[0].bytes()
                .zip(w[1].bytes())
                .take_while(|(a, b)| a == b)
                .count()
        })
        .max()
        .unwrap_or(0);
    (longest_common + 1).max(MIN_SHORT_ID)
}

/// `3f2a1b7c (build)`, or the id prefix alone for a session with no name.
pub fn describe(s: &SessionInfo, width: usize) -> String {
    let id: String = s.id.chars().take(width).collect();
    match &s.name {
        Some(name) => format!("{id} ({})", super::table::printable(name)),
        None => id,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn session(id: &str, name: Option<&str>) -> SessionInfo {
        let json = serde_json::json!({
            "id": id, "name": name, "labels": {}, "provider": "shell",
            "command": ["bash"], "cwd": "/", "pid": 1, "status": "active",
            "exit": null, "created_at": "2026-01-01T00:00:00Z",
            "last_input_at": null, "last_output_at": null, "cols": 80,
            "rows": 24, "resize_policy": "latest", "clients": 0,
            "resources": {"rss_bytes": 0, "cpu_seconds": 0.0,
                          "cpu_percent": 0.0, "threads": 1, "processes": 1},
            "title": null
        });
        serde_json::from_value(json).unwrap()
    }

    fn sessions() -> Vec<SessionInfo> {
        vec![
            session("3f2a1b7c-0000-4000-8000-000000000001", Some("build")),
            session("3f9e0d12-0000-4000-8000-000000000002", None),
            session("a0000000-0000-4000-8000-000000000003", Some("3f")),
        ]
    }

    #[test]
    fn ids_names_and_prefixes() {
        let all = sessions();
        let id = |q: &str| resolve(&all, q).map(|s| s.id.clone());
        assert_eq!(id("build").unwrap(), all[0].id);
        assert_eq!(id(&all[1].id).unwrap(), all[1].id);
        assert_eq!(id("3f2").unwrap(), all[0].id);
        assert_eq!(id("3F9E").unwrap(), all[1].id);
        // A name beats a prefix.
        assert_eq!(id("3f").unwrap(), all[2].id);
        assert!(matches!(id("b"), Err(Error::UnknownSession { .. })));
        assert!(matches!(id(""), Err(Error::UnknownSession { .. })));
    }

    #[test]
    fn a_name_finds_the_running_session_before_an_ended_one() {
        let mut ended = session("b0000000-0000-4000-8000-000000000004", Some("build"));
        ended.exit = Some(ptyhub_protocol::api::ExitInfo {
            code: Some(0),
            signal: None,
            reason: ptyhub_protocol::api::ExitReason::Exited,
        });
        let mut all = vec![ended.clone()];
        all.extend(sessions());
        assert_eq!(resolve(&all, "build").unwrap().id, all[1].id);
        // Only ended ones: the newest (listed last).
        let mut newer = ended.clone();
        newer.id = "c0000000-0000-4000-8000-000000000005".into();
        let only = vec![ended, newer];
        assert_eq!(resolve(&only, "build").unwrap().id, only[1].id);
    }

    #[test]
    fn an_ambiguous_prefix_lists_the_candidates() {
        let all = sessions();
        let err = resolve(&all, "3").unwrap_err();
        assert_eq!(
            err.to_string(),
            "\"3\" matches 2 sessions: 3f2a1b7c (build), 3f9e0d12; give more of the id, or the name"
        );
    }

    #[test]
    fn short_ids_tell_sessions_apart() {
        assert_eq!(short_id_len(&sessions()), 8);
        let close = vec![
            session("3f2a1b7c-00aa-4000-8000-000000000001", None),
            session("3f2a1b7c-00bb-4000-8000-000000000002", None),
        ];
        assert_eq!(short_id_len(&close), 12);
        assert_eq!(short_id_len(&[]), 8);
    }
}
