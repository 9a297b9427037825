//! [`Registry`]: every session of one server, by id and by unique name, and
//! the bus of their changes. A map and a bus only: it starts nothing and
//! calls nobody; the [`crate::Supervisor`] creates sessions into it and its
//! tasks (timers, sampler, agent state) publish through it. Made by the
//! supervisor and shared as an `Arc`; there is no global.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use ptyhub_protocol::api::SessionInfo;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::CoreError;
use crate::session::{Change, Session};

/// A change to the set of sessions, for dashboards (`/api/events`).
#[derive(Clone, Debug)]
pub enum RegistryEvent {
    /// A session started.
    Created(SessionInfo),
    /// Its status, clients, title, name or labels changed.
    Status(SessionInfo),
    /// Its program ended.
    Exit(SessionInfo),
    /// Its agent state (busy, waiting, ready) changed.
    Agent(SessionInfo),
    /// Its program sent a terminal notification (OSC 9, 777, 99 or BEL).
    Notification {
        /// The session object.
        session: SessionInfo,
        /// The notification's title (OSC 777), if any.
        title: Option<String>,
        /// Its text, if any (BEL has none).
        body: Option<String>,
    },
    /// An ended session was forgotten (after `linger`, or deleted).
    Removed {
        /// The session's id.
        id: String,
    },
}

/// Events buffered per subscriber before a slow one misses some (it is then
/// told it lagged and re-reads the listing).
const EVENT_BUFFER: usize = 256;

/// Every session of one server.
pub struct Registry {
    sessions: RwLock<HashMap<Uuid, Arc<Session>>>,
    events: broadcast::Sender<RegistryEvent>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

impl Registry {
    /// An empty registry.
    pub(crate) fn new() -> Arc<Registry> {
        Arc::new(Registry {
            sessions: RwLock::new(HashMap::new()),
            events: broadcast::Sender::new(EVENT_BUFFER),
        })
    }

    /// Refuses a new session over `max_sessions` running ones, or with the
    /// name of a running one.
    pub(crate) fn check_room(
        &self,
        max_sessions: usize,
        name: Option<&str>,
    ) -> Result<(), CoreError> {
        let sessions = read(&self.sessions);
        let running = sessions.values().filter(|s| !s.is_ended()).count();
        if running >= max_sessions {
            return Err(CoreError::TooManySessions(max_sessions));
        }
        if let Some(name) = name
            && name_in_use(sessions.values(), name, None)
        {
            return Err(CoreError::NameTaken(name.to_owned()));
        }
        Ok(())
    }

    /// Adds a started session and publishes `Created`.
    pub(crate) fn insert(&self, session: Arc<Session>) {
        write(&self.sessions).insert(session.id(), session.clone());
        self.emit(RegistryEvent::Created(session.info()));
    }

    pub(crate) fn emit(&self, event: RegistryEvent) {
        // No subscriber is not an error: nobody is watching.
        let _ = self.events.send(event);
    }

    pub(crate) fn emit_change(&self, session: &Session, change: Change) {
        let info = session.info();
        self.emit(match change {
            Change::Status => RegistryEvent::Status(info),
            Change::Exit => RegistryEvent::Exit(info),
        });
    }

    /// Follows session changes.
    pub fn subscribe(&self) -> broadcast::Receiver<RegistryEvent> {
        self.events.subscribe()
    }

    /// A session by id, unique id prefix, or name.
    pub fn get(&self, key: &str) -> Result<Arc<Session>, CoreError> {
        let sessions = read(&self.sessions);
        if let Ok(id) = Uuid::parse_str(key)
            && let Some(s) = sessions.get(&id)
        {
            return Ok(s.clone());
        }
        // A name is unique among running sessions; an ended one that
        // lingers may share it with a newer one, which wins.
        let mut named: Vec<&Arc<Session>> = sessions
            .values()
            .filter(|s| s.name().as_deref() == Some(key))
            .collect();
        named.sort_by_key(|s| (!s.is_ended(), std::cmp::Reverse(s.age())));
        if let Some(s) = named.last() {
            return Ok((*s).clone());
        }
        Err(CoreError::NotFound(key.to_owned()))
    }

    /// Renames a session; `name_taken` when a running session other than
    /// it has that name (an ended one that lingers gives its name up).
    pub fn rename(&self, session: &Session, name: Option<String>) -> Result<(), CoreError> {
        let sessions = read(&self.sessions);
        if let Some(name) = &name
            && name_in_use(sessions.values(), name, Some(session.id()))
        {
            return Err(CoreError::NameTaken(name.clone()));
        }
        session.update(Some(name), None, None);
        Ok(())
    }

    /// Every session, oldest first.
    pub fn list(&self) -> Vec<Arc<Session>> {
        let mut all: Vec<_> = read(&self.sessions).values().cloned().collect();
        all.sort_by_key(|s| std::cmp::Reverse(s.age()));
        all
    }

    /// Forgets a session (its processes end when the last handle goes)
    /// and publishes `Removed`.
    pub fn remove(&self, id: Uuid) -> Option<Arc<Session>> {
        let removed = write(&self.sessions).remove(&id);
        if removed.is_some() {
            self.emit(RegistryEvent::Removed { id: id.to_string() });
        }
        removed
    }
}

/// Whether a running session other than `except` is named `name`.
fn name_in_use<'a>(
    sessions: impl Iterator<Item = &'a Arc<Session>>,
    name: &str,
    except: Option<Uuid>,
) -> bool {
    sessions
        .filter(|s| Some(s.id()) != except && !s.is_ended())
        .any(|s| s.name().as_deref() == Some(name))
}
