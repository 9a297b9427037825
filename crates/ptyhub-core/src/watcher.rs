//! The per-session watcher task: publishes status changes, turns `active`
//! into `idle` after `idle_after` without I/O, ends the session after
//! `idle_timeout` or `max_lifetime`, and forgets it `linger` after its end.
//! All deadlines are `sleep_until`, re-armed from the last activity; nothing
//! polls.

use std::sync::Arc;
use std::time::Duration;

use ptyhub_protocol::api::{ExitReason, SessionStatus};
use tokio::time::{Instant, sleep_until};

use crate::registry::Registry;
use crate::session::{Change, Session};

pub(crate) async fn watch(registry: Arc<Registry>, session: Arc<Session>) {
    let config = registry.config().clone();
    let mut changes = session.subscribe_changes();
    let mut output = session.subscribe_output();
    let created = Instant::now() - session.age();
    let far = Duration::from_secs(100 * 365 * 24 * 3600);
    loop {
        if session.is_ended() {
            break;
        }
        let last_io = created + Duration::from_millis(session.last_io_ms());
        let idle_at = last_io + config.idle_after;
        let timeout_at = config.idle_timeout.map(|t| last_io + t);
        let lifetime_at = config.max_lifetime.map(|t| created + t);
        let idle = session.status() == SessionStatus::Idle;
        let next = [(!idle).then_some(idle_at), timeout_at, lifetime_at]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(Instant::now() + far);
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() { break; }
                let (_, change) = *changes.borrow_and_update();
                registry.emit_change(&session, change);
            }
            // Output while idle makes the session active again.
            changed = output.changed(), if idle => {
                if changed.is_err() { break; }
                session.set_status(SessionStatus::Active);
            }
            () = sleep_until(next) => {
                let now = Instant::now();
                if lifetime_at.is_some_and(|t| now >= t) {
                    end(&session, ExitReason::Lifetime);
                } else if timeout_at.is_some_and(|t| now >= t && created + Duration::from_millis(session.last_io_ms()) + config.idle_timeout.unwrap_or(far) <= now) {
                    end(&session, ExitReason::IdleTimeout);
                } else if !idle && created + Duration::from_millis(session.last_io_ms()) + config.idle_after <= now {
                    session.set_status(SessionStatus::Idle);
                }
            }
        }
    }
    // Publish the exit (it may have raced the loop's last turn).
    if changes.has_changed().unwrap_or(false) {
        changes.borrow_and_update();
    }
    registry.emit_change(&session, Change::Exit);
    // Linger without keeping the session alive: removed meanwhile (by the
    // API), it is freed at once.
    let id = session.id();
    let weak = Arc::downgrade(&session);
    drop(session);
    tokio::time::sleep(config.linger).await;
    if weak.upgrade().is_some() {
        registry.remove(id);
    }
}

fn end(session: &Session, reason: ExitReason) {
    if let Err(e) = session.terminate(reason) {
        tracing::warn!(id = %session.id(), "ending the session ({reason}): {e}");
    }
}
