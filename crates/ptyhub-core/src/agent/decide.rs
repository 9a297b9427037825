//! The agent state machine: the latest verdict of each signal, and which
//! one decides. Pure (time comes in as arguments) so that its rules are
//! tested without a program.
//!
//! Rules: the strongest source with a verdict decides (hook, then
//! notification, title, screen, quiet). A stronger verdict stands until a signal of
//! its own kind replaces it, or until [`EXPIRE`] passed without one while
//! output flowed. `busy` → `ready` from the screen or quiet sources needs
//! `quiet` without output, so a redrawing spinner stays `busy`.

use std::time::{Duration, Instant};

use ptyhub_protocol::api::{AgentSource, AgentState};

/// How long a strong verdict stands without a new signal of its kind while
/// output flows.
pub const EXPIRE: Duration = Duration::from_secs(120);

/// One source's latest say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// What it says.
    pub state: AgentState,
    /// The text behind it.
    pub detail: Option<String>,
    /// When it was last said (or confirmed).
    pub at: Instant,
}

/// The decision: state, source and detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The state.
    pub state: AgentState,
    /// Which source decided it.
    pub source: AgentSource,
    /// Its detail.
    pub detail: Option<String>,
}

/// Every source's verdict, by strength (index = `AgentSource as usize`).
#[derive(Debug, Default)]
pub struct Verdicts {
    by_source: [Option<Verdict>; 5],
}

fn index(source: AgentSource) -> usize {
    match source {
        AgentSource::Quiet => 0,
        AgentSource::Screen => 1,
        AgentSource::Title => 2,
        AgentSource::Notification => 3,
        AgentSource::Hook => 4,
    }
}

const SOURCES: [AgentSource; 5] = [
    AgentSource::Hook,
    AgentSource::Notification,
    AgentSource::Title,
    AgentSource::Screen,
    AgentSource::Quiet,
];

impl Verdicts {
    /// Records what `source` says now (`None`: it says nothing any more).
    pub fn set(&mut self, source: AgentSource, verdict: Option<Verdict>) {
        self.by_source[index(source)] = verdict;
    }

    /// What `source` says.
    pub fn get(&self, source: AgentSource) -> Option<&Verdict> {
        self.by_source[index(source)].as_ref()
    }

    /// The decision at `now`, given the current one and when the program
    /// last wrote (`None`: never). `quiet` is `agent_quiet`.
    pub fn decide(
        &self,
        now: Instant,
        current: Option<&Decision>,
        last_output: Option<Instant>,
        quiet: Duration,
    ) -> Option<Decision> {
        for source in SOURCES {
            let Some(v) = self.get(source) else { continue };
            // A verdict stands until EXPIRE passed without its kind while
            // output flowed (the quiet source is always current).
            let expired = source != AgentSource::Quiet
                && now.duration_since(v.at) >= EXPIRE
                && last_output.is_some_and(|out| out > v.at);
            if expired {
                continue;
            }
            let weak = matches!(source, AgentSource::Screen | AgentSource::Quiet);
            if weak
                && v.state == AgentState::Ready
                && current.is_some_and(|c| c.state == AgentState::Busy)
                && last_output.is_some_and(|out| now.duration_since(out) < quiet)
            {
                // No flapping: busy stays until quiet without output.
                return current.cloned();
            }
            return Some(Decision {
                state: v.state,
                source,
                detail: v.detail.clone(),
            });
        }
        current.cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUIET: Duration = Duration::from_secs(3);

    fn v(state: AgentState, at: Instant) -> Option<Verdict> {
        Some(Verdict {
            state,
            detail: None,
            at,
        })
    }

    #[test]
    fn the_strongest_source_decides() {
        let t = Instant::now();
        let mut vs = Verdicts::default();
        assert_eq!(vs.decide(t, None, None, QUIET), None);
        vs.set(AgentSource::Quiet, v(AgentState::Busy, t));
        vs.set(AgentSource::Screen, v(AgentState::Waiting, t));
        let d = vs.decide(t, None, Some(t), QUIET).unwrap();
        assert_eq!(
            (d.state, d.source),
            (AgentState::Waiting, AgentSource::Screen)
        );
        vs.set(AgentSource::Hook, v(AgentState::Ready, t));
        let d = vs.decide(t, Some(&d), Some(t), QUIET).unwrap();
        assert_eq!((d.state, d.source), (AgentState::Ready, AgentSource::Hook));
    }

    #[test]
    fn a_strong_verdict_expires_only_while_output_flows() {
        let t = Instant::now();
        let mut vs = Verdicts::default();
        vs.set(AgentSource::Notification, v(AgentState::Waiting, t));
        vs.set(AgentSource::Quiet, v(AgentState::Ready, t));
        let later = t + EXPIRE + Duration::from_secs(1);
        // No output since: it stands.
        let d = vs.decide(later, None, Some(t), QUIET).unwrap();
        assert_eq!(d.source, AgentSource::Notification);
        // Output since, 2 minutes on: the weaker source takes over.
        vs.set(AgentSource::Quiet, v(AgentState::Busy, later));
        let d = vs.decide(later, None, Some(later), QUIET).unwrap();
        assert_eq!((d.state, d.source), (AgentState::Busy, AgentSource::Quiet));
    }

    #[test]
    fn busy_needs_quiet_before_ready() {
        let t = Instant::now();
        let mut vs = Verdicts::default();
        vs.set(AgentSource::Quiet, v(AgentState::Busy, t));
        let busy = vs.decide(t, None, Some(t), QUIET).unwrap();
        // The screen says ready (a prompt drawn) while output still flows.
        vs.set(AgentSource::Screen, v(AgentState::Ready, t));
        let now = t + Duration::from_secs(1);
        assert_eq!(
            vs.decide(now, Some(&busy), Some(t), QUIET),
            Some(busy.clone())
        );
        let now = t + QUIET;
        let d = vs.decide(now, Some(&busy), Some(t), QUIET).unwrap();
        assert_eq!(
            (d.state, d.source),
            (AgentState::Ready, AgentSource::Screen)
        );
    }
}
