//! The per-session agent task: the one writer of the session's agent
//! state. It takes hook and notification inputs as they come, and reads
//! the title, the screen and the output clock itself, at most every
//! [`CHECK_EVERY`] while output flows (never per chunk), so that a flood
//! costs it a few wake-ups a second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ptyhub_protocol::api::{AgentInfo, AgentSource, AgentState};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::decide::{Decision, Verdict, Verdicts};
use super::{AgentInput, AgentRules, Found, clean_detail};
use crate::output::lock;
use crate::registry::{Registry, RegistryEvent};
use crate::session::Session;

/// How often the screen and quiet are checked while output flows.
pub(crate) const CHECK_EVERY: Duration = Duration::from_millis(250);

/// The machine's state between events.
struct Machine {
    verdicts: Verdicts,
    current: Option<Decision>,
    notifications: u64,
    /// The last published info (to publish changes only).
    published: AgentInfo,
}

impl Machine {
    fn input(
        &mut self,
        input: AgentInput,
        now: Instant,
    ) -> Option<(Option<String>, Option<String>)> {
        match input {
            AgentInput::Hook { state, detail } => {
                self.verdicts.set(
                    AgentSource::Hook,
                    Some(Verdict {
                        state,
                        detail,
                        at: now,
                    }),
                );
                None
            }
            AgentInput::Output(Found::Progress(working)) => {
                let verdict = working.then(|| Verdict {
                    state: AgentState::Busy,
                    detail: Some("progress".to_owned()),
                    at: now,
                });
                // Progress ended: only a progress verdict is withdrawn.
                let is_progress = self
                    .verdicts
                    .get(AgentSource::Notification)
                    .is_some_and(|v| v.state == AgentState::Busy);
                if working || is_progress {
                    self.verdicts.set(AgentSource::Notification, verdict);
                }
                None
            }
            AgentInput::Output(Found::Notify { title, body }) => {
                self.notifications += 1;
                let detail = [title.as_deref(), body.as_deref()]
                    .into_iter()
                    .flatten()
                    .filter(|t| !t.trim().is_empty())
                    .collect::<Vec<_>>()
                    .join(": ");
                self.verdicts.set(
                    AgentSource::Notification,
                    Some(Verdict {
                        state: AgentState::Waiting,
                        detail: Some(clean_detail(&detail)).filter(|d| !d.is_empty()),
                        at: now,
                    }),
                );
                Some((
                    title.map(|t| clean_detail(&t)),
                    body.map(|b| clean_detail(&b)),
                ))
            }
        }
    }

    fn title(&mut self, rules: &AgentRules, title: &str, now: Instant) {
        let state = if rules.busy_title.as_ref().is_some_and(|r| r.is_match(title)) {
            Some(AgentState::Busy)
        } else if rules
            .ready_title
            .as_ref()
            .is_some_and(|r| r.is_match(title))
        {
            Some(AgentState::Ready)
        } else {
            None
        };
        self.verdicts.set(
            AgentSource::Title,
            state.map(|state| Verdict {
                state,
                detail: Some(clean_detail(title)),
                at: now,
            }),
        );
    }

    fn screen(&mut self, rules: &AgentRules, lines: &[String], now: Instant) {
        let groups = [
            (AgentState::Waiting, &rules.waiting_patterns),
            (AgentState::Busy, &rules.busy_patterns),
            (AgentState::Ready, &rules.ready_patterns),
        ];
        let found = groups.into_iter().find_map(|(state, patterns)| {
            lines
                .iter()
                .find(|l| patterns.iter().any(|p| p.is_match(l)))
                .map(|l| (state, l))
        });
        // A verdict the screen repeats keeps its first time: it is the
        // same signal, not a new one.
        let verdict = found.map(|(state, line)| {
            let detail = Some(clean_detail(line));
            let at = match self.verdicts.get(AgentSource::Screen) {
                Some(v) if v.state == state && v.detail == detail => v.at,
                _ => now,
            };
            Verdict { state, detail, at }
        });
        self.verdicts.set(AgentSource::Screen, verdict);
    }

    /// Looks at `session`'s screen (only when the rules have screen
    /// patterns: reading it takes the screen's lock) and at `title` when
    /// given (the title's own changes are looked at as they come), at
    /// `now`.
    fn look(&mut self, rules: &AgentRules, session: &Session, title: Option<&str>, now: Instant) {
        if let Some(title) = title {
            self.title(rules, title, now);
        }
        if rules.has_screen() {
            let (lines, ..) = session.screen_text();
            self.screen(rules, &lines, now);
        }
    }

    fn quiet(&mut self, last_output: Option<Instant>, quiet: Duration, now: Instant) {
        let verdict = last_output.map(|out| Verdict {
            state: if now.duration_since(out) < quiet {
                AgentState::Busy
            } else {
                AgentState::Ready
            },
            detail: None,
            at: now,
        });
        self.verdicts.set(AgentSource::Quiet, verdict);
    }

    /// Decides; the new info when it differs from the published one.
    fn decide(
        &mut self,
        now: Instant,
        last_output: Option<Instant>,
        quiet: Duration,
    ) -> Option<AgentInfo> {
        let decision = self
            .verdicts
            .decide(now, self.current.as_ref(), last_output, quiet);
        let state_changed =
            decision.as_ref().map(|d| d.state) != self.current.as_ref().map(|d| d.state);
        let mut info = self.published.clone();
        if let Some(d) = &decision {
            if state_changed || info.since.is_none() {
                info.since = OffsetDateTime::now_utc().format(&Rfc3339).ok();
            }
            info.state = d.state;
            info.source = Some(d.source);
            info.detail = d.detail.clone();
        }
        info.notifications = self.notifications;
        self.current = decision;
        (info != self.published).then(|| {
            self.published = info.clone();
            info
        })
    }
}

/// Runs until the session has ended; the state then stays as it was.
pub(crate) async fn run(registry: Arc<Registry>, session: Arc<Session>) {
    let Some(mut inputs) = lock(&session.agent.receiver).take() else {
        return;
    };
    let quiet = session.config.agent_quiet;
    let rules = session.agent.spec.rules.clone();
    let off = session.agent.spec.detection_off;
    let mut title = session.subscribe_title();
    let mut output = session.subscribe_output();
    let mut changes = session.subscribe_changes();
    // Output and a title may have come before this task subscribed (the
    // reading task starts with the session): look at them once now.
    output.mark_changed();
    title.mark_changed();
    let mut m = Machine {
        verdicts: Verdicts::default(),
        current: None,
        notifications: 0,
        published: AgentInfo::default(),
    };
    let mut check_at: Option<tokio::time::Instant> = None;
    loop {
        if session.is_ended() {
            // Take what the last output said, then stop.
            while let Ok(input) = inputs.try_recv() {
                let note = m.input(input, Instant::now());
                publish(&registry, &session, &mut m, note, quiet);
            }
            // The last screen and title too: a program that prints its
            // question or error and exits before the next check (Claude
            // Code without network) ends in the state they say.
            if !off {
                let t = title.borrow_and_update().clone();
                m.look(&rules, &session, Some(&t), Instant::now());
                publish(&registry, &session, &mut m, None, quiet);
            }
            break;
        }
        // Busy from quiet turns ready at last output + quiet.
        let quiet_due = match (
            m.verdicts.get(AgentSource::Quiet),
            session.last_output_instant(),
        ) {
            (Some(v), Some(out)) if v.state == AgentState::Busy && !off => {
                Some(tokio::time::Instant::from_std(out + quiet))
            }
            _ => None,
        };
        let next = [check_at, quiet_due].into_iter().flatten().min();
        let mut note = None;
        tokio::select! {
            input = inputs.recv() => match input {
                Some(input) => note = m.input(input, Instant::now()),
                None => break,
            },
            changed = title.changed(), if !off => {
                if changed.is_err() { break; }
                let t = title.borrow_and_update().clone();
                m.title(&rules, &t, Instant::now());
            }
            changed = output.changed(), if check_at.is_none() && !off => {
                if changed.is_err() { break; }
                output.borrow_and_update();
                check_at = Some(tokio::time::Instant::now() + CHECK_EVERY);
            }
            () = sleep_until_opt(next) => {
                check_at = None;
                let now = Instant::now();
                m.look(&rules, &session, None, now);
                m.quiet(session.last_output_instant(), quiet, now);
            }
            changed = changes.changed() => {
                if changed.is_err() { break; }
                changes.borrow_and_update();
            }
        }
        publish(&registry, &session, &mut m, note, quiet);
    }
}

async fn sleep_until_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn publish(
    registry: &Registry,
    session: &Session,
    m: &mut Machine,
    note: Option<(Option<String>, Option<String>)>,
    quiet: Duration,
) {
    let changed = m.decide(Instant::now(), session.last_output_instant(), quiet);
    if let Some(info) = changed {
        let state = info.state;
        let before = session.agent.info.send_replace(info).state;
        if state != before {
            // The recording's marker of the change (`agent:waiting`, ...).
            session.record_marker(&format!("agent:{state}"));
        }
        registry.emit(RegistryEvent::Agent(session.info()));
    }
    if let Some((title, body)) = note {
        registry.emit(RegistryEvent::Notification {
            session: session.info(),
            title,
            body,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine() -> Machine {
        Machine {
            verdicts: Verdicts::default(),
            current: None,
            notifications: 0,
            published: AgentInfo::default(),
        }
    }

    #[test]
    fn notifications_count_and_progress_ends() {
        let q = Duration::from_secs(3);
        let mut m = machine();
        let t = Instant::now();
        m.input(AgentInput::Output(Found::Progress(true)), t);
        let info = m.decide(t, Some(t), q).unwrap();
        assert_eq!(
            (info.state, info.source),
            (AgentState::Busy, Some(AgentSource::Notification))
        );
        m.input(AgentInput::Output(Found::Progress(false)), t);
        m.quiet(Some(t), q, t + q);
        let info = m.decide(t + q, Some(t), q).unwrap();
        assert_eq!(
            (info.state, info.source),
            (AgentState::Ready, Some(AgentSource::Quiet))
        );
        let note = m.input(
            AgentInput::Output(Found::Notify {
                title: Some("T".into()),
                body: Some("b\x07<i>".into()),
            }),
            t,
        );
        assert_eq!(note, Some((Some("T".into()), Some("b\u{fffd}<i>".into()))));
        let info = m.decide(t + q, Some(t), q).unwrap();
        assert_eq!(info.state, AgentState::Waiting);
        assert_eq!(info.detail.as_deref(), Some("T: b\u{fffd}<i>"));
        assert_eq!(info.notifications, 1);
        assert_eq!(
            m.decide(t + q, Some(t), q),
            None,
            "no change, nothing published"
        );
    }
}
