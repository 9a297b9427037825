//! The session object (docs/sessions.md, docs/http-api.md) and its enums.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A session's lifecycle state (the `status` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Being spawned.
    Starting,
    /// Input or output within `idle_after`.
    Active,
    /// No I/O for `idle_after`.
    Idle,
    /// The program ended by itself.
    Exited,
    /// Ended by the server: request, timeout, limit or shutdown.
    Terminated,
    /// Could not be started, or was lost.
    Error,
}

impl SessionStatus {
    /// The wire name (`"active"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Starting => "starting",
            SessionStatus::Active => "active",
            SessionStatus::Idle => "idle",
            SessionStatus::Exited => "exited",
            SessionStatus::Terminated => "terminated",
            SessionStatus::Error => "error",
        }
    }

    /// True once the program is gone (`exited`, `terminated`, `error`): the
    /// session only lingers for its final screen and exit status.
    pub fn is_ended(self) -> bool {
        matches!(
            self,
            SessionStatus::Exited | SessionStatus::Terminated | SessionStatus::Error
        )
    }
}

impl fmt::Display for SessionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a session ended (`exit.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExitReason {
    /// The program ended by itself.
    Exited,
    /// `DELETE /api/sessions/{id}` (or `ptyhub kill`).
    Deleted,
    /// No input and no output for `idle_timeout`.
    IdleTimeout,
    /// Older than `max_lifetime`.
    Lifetime,
    /// The process tree's RSS went over `memory_limit`.
    MemoryLimit,
    /// The process tree's CPU time went over `cpu_limit`.
    CpuLimit,
    /// More processes than `max_processes`.
    ProcessLimit,
    /// The server shut down.
    Shutdown,
    /// The session's guard process was killed (by the program itself, to
    /// leave supervision): the server ended whatever was left of the
    /// session.
    GuardLost,
    /// The node that ran it stopped answering (several machines): another
    /// node reports the session on its behalf.
    NodeLost,
}

impl ExitReason {
    /// The wire name (`"idle_timeout"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ExitReason::Exited => "exited",
            ExitReason::Deleted => "deleted",
            ExitReason::IdleTimeout => "idle_timeout",
            ExitReason::Lifetime => "lifetime",
            ExitReason::MemoryLimit => "memory_limit",
            ExitReason::CpuLimit => "cpu_limit",
            ExitReason::ProcessLimit => "process_limit",
            ExitReason::Shutdown => "shutdown",
            ExitReason::GuardLost => "guard_lost",
            ExitReason::NodeLost => "node_lost",
        }
    }
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a session ended (the `exit` field, and the `exit` event).
///
/// A program killed by a signal has `code: None` and the signal's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExitInfo {
    /// The exit status, `None` when a signal ended it (or it never started).
    pub code: Option<i32>,
    /// The signal's name (`"SIGKILL"`), `None` when it exited by itself.
    pub signal: Option<String>,
    /// Why it ended.
    pub reason: ExitReason,
}

/// Which clients' sizes decide the terminal size (as tmux's `window-size`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ResizePolicy {
    /// The client that last attached or resized.
    #[default]
    Latest,
    /// Per dimension, the smallest writable client.
    Smallest,
    /// Per dimension, the largest writable client.
    Largest,
    /// Only `POST /resize` changes it.
    Fixed,
}

impl ResizePolicy {
    /// The wire name (`"latest"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ResizePolicy::Latest => "latest",
            ResizePolicy::Smallest => "smallest",
            ResizePolicy::Largest => "largest",
            ResizePolicy::Fixed => "fixed",
        }
    }
}

impl fmt::Display for ResizePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Resource use summed over the session's whole process tree (procfs).
///
/// The floats must be finite: serde_json writes NaN and infinities as
/// `null`, which no client can decode back.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Resources {
    /// Resident memory in bytes.
    pub rss_bytes: u64,
    /// User plus system CPU time, in seconds.
    pub cpu_seconds: f64,
    /// CPU use over the last sampling interval; 100 is one full core.
    pub cpu_percent: f64,
    /// Threads, over all processes.
    pub threads: u64,
    /// Processes in the tree.
    pub processes: u64,
    /// When the program itself started (RFC 3339, from procfs): with `pid`,
    /// its identity. `None` until sampled.
    #[serde(default)]
    pub program_started_at: Option<String>,
    /// When these numbers were read (RFC 3339); `None` until the first
    /// sample, when every number is still 0.
    #[serde(default)]
    pub sampled_at: Option<String>,
}

/// The session object, as listed, returned and sent in `hello`/`status`.
///
/// Every field is always serialized, absent values as `null` (but `node`,
/// which only a clustered server sets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionInfo {
    /// The session's UUID, hyphenated lower case.
    pub id: String,
    /// A human name, unique among sessions when set.
    pub name: Option<String>,
    /// Free key/value labels.
    pub labels: BTreeMap<String, String>,
    /// The provider it was started from; `None` for an arbitrary command.
    pub provider: Option<String>,
    /// The argv that was run.
    pub command: Vec<String>,
    /// The program's working directory.
    pub cwd: String,
    /// The program's pid (not the guard's); `None` before it runs.
    pub pid: Option<i32>,
    /// The lifecycle state.
    pub status: SessionStatus,
    /// How it ended; `None` while it runs.
    pub exit: Option<ExitInfo>,
    /// When it was created, RFC 3339 in UTC.
    pub created_at: String,
    /// The last input from any client or the API, RFC 3339 in UTC.
    pub last_input_at: Option<String>,
    /// The last output from the program, RFC 3339 in UTC.
    pub last_output_at: Option<String>,
    /// The terminal's width in columns.
    pub cols: u16,
    /// The terminal's height in rows.
    pub rows: u16,
    /// How client sizes decide the terminal size.
    pub resize_policy: ResizePolicy,
    /// How many clients are attached.
    pub clients: u32,
    /// Bytes written to the program (input from every client and `/input`).
    #[serde(default)]
    pub bytes_in: u64,
    /// Bytes the program wrote (the live output offset).
    #[serde(default)]
    pub bytes_out: u64,
    /// Resource use of the process tree.
    pub resources: Resources,
    /// The window title the program set (OSC 0/2), if any.
    pub title: Option<String>,
    /// The node that runs it, when several machines form one service
    /// (`[cluster]`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Busy, waiting or ready, and why.
    #[serde(default)]
    pub agent: crate::api::AgentInfo,
    /// Its recording; `None` when it is not recorded.
    #[serde(default)]
    pub recording: Option<super::RecordingInfo>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn session_serializes_nulls_explicitly() {
        let value = serde_json::to_value(crate::fixtures::session()).unwrap();
        for key in ["name", "exit", "last_input_at", "title"] {
            assert_eq!(value[key], serde_json::Value::Null, "{key}");
        }
        assert_eq!(value["status"], "active");
        assert_eq!(value["resize_policy"], "latest");
        assert_eq!(
            value["resources"],
            json!({"rss_bytes": 0, "cpu_seconds": 0.0, "cpu_percent": 0.0,
                   "threads": 0, "processes": 0, "program_started_at": null,
                   "sampled_at": null})
        );
        let back: SessionInfo = serde_json::from_value(value).unwrap();
        assert_eq!(back, crate::fixtures::session());
    }

    #[test]
    fn exit_info_shapes() {
        let killed = ExitInfo {
            code: None,
            signal: Some("SIGKILL".to_owned()),
            reason: ExitReason::MemoryLimit,
        };
        assert_eq!(
            serde_json::to_value(&killed).unwrap(),
            json!({"code": null, "signal": "SIGKILL", "reason": "memory_limit"})
        );
        let exited: ExitInfo =
            serde_json::from_value(json!({"code": 3, "signal": null, "reason": "exited"})).unwrap();
        assert_eq!(exited.code, Some(3));
    }

    #[test]
    fn enum_wire_names_match_as_str() {
        use SessionStatus as S;
        for s in [
            S::Starting,
            S::Active,
            S::Idle,
            S::Exited,
            S::Terminated,
            S::Error,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        use ExitReason as R;
        for r in [
            R::Exited,
            R::Deleted,
            R::IdleTimeout,
            R::Lifetime,
            R::MemoryLimit,
            R::CpuLimit,
            R::ProcessLimit,
            R::Shutdown,
        ] {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        use ResizePolicy as P;
        for p in [P::Latest, P::Smallest, P::Largest, P::Fixed] {
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
        }
        assert_eq!(ResizePolicy::default(), ResizePolicy::Latest);
        assert!(S::Error.is_ended() && !S::Idle.is_ended());
    }
}
