//! Test fixtures shared by the unit tests of several modules.

use std::collections::BTreeMap;

use crate::api::{ResizePolicy, Resources, SessionInfo, SessionStatus};

/// A plausible running session.
pub(crate) fn session() -> SessionInfo {
    SessionInfo {
        id: "0b9f4a4e-6d0e-4a43-9d0c-5b2b1f0e7a11".to_owned(),
        name: None,
        labels: BTreeMap::new(),
        provider: Some("shell".to_owned()),
        command: vec!["/bin/bash".to_owned()],
        cwd: "/home/me".to_owned(),
        pid: Some(4242),
        status: SessionStatus::Active,
        exit: None,
        created_at: "2026-11-25T10:00:00Z".to_owned(),
        last_input_at: None,
        last_output_at: Some("2026-11-25T10:00:01Z".to_owned()),
        cols: 80,
        rows: 24,
        resize_policy: ResizePolicy::Latest,
        clients: 1,
        bytes_in: 6,
        bytes_out: 1024,
        resources: Resources::default(),
        title: None,
        node: None,
        agent: Default::default(),
        recording: None,
    }
}
