//! A session's timer task: publishes status changes, turns `active`
//! into `idle` after `idle_after` without I/O, ends the session after
//! `idle_timeout` or `max_lifetime`, and forgets it `linger` after its end.
//! All deadlines are `sleep_until`, re-armed from the last activity; nothing
//! polls.

use std::sync::Arc;
use std::time::Duration;

use ptyhub_protocol::api::{ExitReason, SessionStatus};
use tokio::time::{Instant, sleep_until};

use super::Books;
use crate::Limits;
use crate::registry::Registry;
use crate::session::{Change, Session};

/// Runs until the session has ended and lingered.
pub(super) async fn run(registry: Arc<Registry>, books: Arc<Books>, session: Arc<Session>) {
    let idle_after = session.config.idle_after;
    let linger = session.config.linger;
    let limits = session.limits();
    let mut changes = session.subscribe_changes();
    let mut output = session.subscribe_output();
    // The title and the size show in the session object, and dashboards
    // follow them live (`session_status`).
    let mut title = session.subscribe_title();
    let mut size = session.subscribe_size();
    let created = Instant::now() - session.age();
    let far = Duration::from_secs(100 * 365 * 24 * 3600);
    loop {
        if session.is_ended() {
            break;
        }
        let last_io = created + Duration::from_millis(session.last_io_ms());
        let idle = session.status() == SessionStatus::Idle;
        let (next, _) = next_due(limits, idle_after, created, last_io, idle)
            .unwrap_or((Instant::now() + far, Due::Idle));
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() { break; }
                let (_, change) = *changes.borrow_and_update();
                if change == Change::Exit {
                    break; // published once, below
                }
                registry.emit_change(&session, change);
            }
            changed = title.changed() => {
                if changed.is_err() { break; }
                title.borrow_and_update();
                registry.emit_change(&session, Change::Status);
            }
            changed = size.changed() => {
                if changed.is_err() { break; }
                size.borrow_and_update();
                registry.emit_change(&session, Change::Status);
            }
            // Output while idle makes the session active again.
            changed = output.changed(), if idle => {
                if changed.is_err() { break; }
                session.set_status(SessionStatus::Active);
            }
            () = sleep_until(next) => {
                // Activity may have moved the deadline meanwhile: decide on
                // fresh numbers.
                let last_io = created + Duration::from_millis(session.last_io_ms());
                match next_due(limits, idle_after, created, last_io, idle) {
                    Some((at, due)) if at <= Instant::now() => match due {
                        Due::Lifetime => end(&session, ExitReason::Lifetime),
                        Due::IdleTimeout => end(&session, ExitReason::IdleTimeout),
                        Due::Idle => session.set_status(SessionStatus::Idle),
                    },
                    _ => {}
                }
            }
        }
    }
    // The loop ends only once the session has ended: publish the exit once.
    if let Some(exit) = session.exit() {
        books.record_end(exit.reason);
    }
    registry.emit_change(&session, Change::Exit);
    // Linger without keeping the session alive: removed meanwhile (by the
    // API), it is freed at once.
    let id = session.id();
    let weak = Arc::downgrade(&session);
    drop(session);
    tokio::time::sleep(linger).await;
    if weak.upgrade().is_some() {
        registry.remove(id);
    }
}

/// What comes due next for a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Due {
    /// `idle_after` without I/O: status `idle`.
    Idle,
    /// `idle_timeout` without I/O: the session ends.
    IdleTimeout,
    /// `max_lifetime` reached: the session ends.
    Lifetime,
}

/// The earliest deadline of a session and what it is, from its creation,
/// its last input or output, and whether it is idle already.
pub(crate) fn next_due(
    limits: &Limits,
    idle_after: Duration,
    created: Instant,
    last_io: Instant,
    idle: bool,
) -> Option<(Instant, Due)> {
    [
        (!idle).then(|| (last_io + idle_after, Due::Idle)),
        limits.idle_timeout.map(|t| (last_io + t, Due::IdleTimeout)),
        limits.max_lifetime.map(|t| (created + t, Due::Lifetime)),
    ]
    .into_iter()
    .flatten()
    // On a tie the end wins over `idle`.
    .min_by_key(|&(at, due)| (at, due != Due::Lifetime, due == Due::Idle))
}

fn end(session: &Session, reason: ExitReason) {
    if let Err(e) = session.terminate(reason) {
        tracing::warn!(id = %session.id(), "ending the session ({reason}): {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE_AFTER: Duration = Duration::from_secs(30);

    fn limits() -> Limits {
        Limits {
            idle_timeout: Some(Duration::from_secs(3600)),
            max_lifetime: Some(Duration::from_secs(600)),
            ..Limits::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn deadlines_follow_activity() {
        let c = limits();
        let created = Instant::now();
        // Fresh: idle after 30 s.
        assert_eq!(
            next_due(&c, IDLE_AFTER, created, created, false),
            Some((created + Duration::from_secs(30), Due::Idle))
        );
        // Time passes (paused clock), activity re-arms the idle deadline.
        tokio::time::advance(Duration::from_secs(20)).await;
        let now = Instant::now();
        assert_eq!(
            next_due(&c, IDLE_AFTER, created, now, false),
            Some((now + Duration::from_secs(30), Due::Idle))
        );
        // Once idle, the next thing is the lifetime (10 min) before the
        // idle timeout (1 h).
        assert_eq!(
            next_due(&c, IDLE_AFTER, created, now, true),
            Some((created + Duration::from_secs(600), Due::Lifetime))
        );
        // Without a lifetime, the idle timeout.
        let mut no_life = c.clone();
        no_life.max_lifetime = None;
        assert_eq!(
            next_due(&no_life, IDLE_AFTER, created, now, true),
            Some((now + Duration::from_secs(3600), Due::IdleTimeout))
        );
        // Nothing configured, already idle: nothing is due.
        no_life.idle_timeout = None;
        assert_eq!(next_due(&no_life, IDLE_AFTER, created, now, true), None);
    }
}
