//! Ends what escaped a session by killing its guard: the server is a child
//! subreaper (`ptyhub serve` makes it one at start), so such processes
//! are re-parented to it; [`ptyhub_pty::reaper::sweep`] runs at every
//! SIGCHLD (a guard's death is one) and every few seconds, and each process
//! it ended is logged with its session when it can be told.

use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

use crate::state::AppState;

/// The sweep's period when no SIGCHLD comes.
const PERIOD: Duration = Duration::from_secs(5);

/// Sweeps until the server shuts down, then once more.
pub async fn reap_escapees(state: Arc<AppState>) {
    let mut children = match signal(SignalKind::child()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!("cannot watch SIGCHLD, sweeping every {PERIOD:?} only: {e}");
            None
        }
    };
    let mut tick = tokio::time::interval(PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let stop = tokio::select! {
            () = state.shutdown.cancelled() => true,
            _ = tick.tick() => false,
            Some(()) = async {
                match &mut children {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            } => false,
        };
        sweep(&state).await;
        if stop {
            break;
        }
    }
}

async fn sweep(state: &AppState) {
    let Ok(ended) = tokio::task::spawn_blocking(ptyhub_pty::reaper::sweep).await else {
        return;
    };
    for e in ended {
        // A session's program leads its session: the sid names it, unless
        // the process called setsid itself.
        let session = state.registry.list().into_iter().find(|s| s.pid() == e.sid);
        match session {
            Some(s) => tracing::warn!(
                session = %s.id(),
                pid = e.pid,
                killed = e.killed,
                "processes left their session's supervision (its guard was killed): ended"
            ),
            None => tracing::warn!(
                pid = e.pid,
                sid = e.sid,
                killed = e.killed,
                "processes left a session's supervision (its guard was killed): ended"
            ),
        }
    }
}
