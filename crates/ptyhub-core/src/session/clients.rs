//! Clients of a session: attaching (snapshot, resume or live), leaving,
//! and the sizes they ask for under the session's resize policy.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use ptyhub_pty::WindowSize;

use crate::CoreError;
use crate::client::{AttachOptions, AttachStart, Client};
use crate::output::{ClientId, Cursor, lock};
use crate::resize;

use super::{Change, Session};

impl Session {
    /// Attaches a client (see [`AttachOptions`]).
    pub fn attach(
        self: &Arc<Self>,
        opts: AttachOptions,
    ) -> Result<(Client, AttachStart), CoreError> {
        self.attach_as(opts, true)
    }

    /// Attaches an observer (the recorder): read-only, not counted in
    /// `clients` nor refused by `max_clients_per_session`, otherwise a
    /// client like any other (its own cursor, the same queue and lag rules).
    pub(crate) fn attach_observer(
        self: &Arc<Self>,
        opts: AttachOptions,
    ) -> Result<(Client, AttachStart), CoreError> {
        let opts = AttachOptions {
            readonly: true,
            size: None,
            ..opts
        };
        self.attach_as(opts, false)
    }

    fn attach_as(
        self: &Arc<Self>,
        opts: AttachOptions,
        counted: bool,
    ) -> Result<(Client, AttachStart), CoreError> {
        let id = self.next_client.fetch_add(1, Ordering::Relaxed);
        if counted {
            let mut meta = lock(&self.meta);
            if meta.clients >= self.config.max_clients_per_session {
                return Err(CoreError::TooManyClients(
                    self.config.max_clients_per_session,
                ));
            }
            meta.clients += 1;
        }
        let register = |st: &mut crate::output::OutState, at: u64| {
            st.clients.insert(
                id,
                Cursor {
                    at: Some(at),
                    lagged_at: at,
                },
            );
        };
        let start = {
            let resumed = opts.since.and_then(|n| {
                let mut st = lock(&self.output.state);
                (st.ring.start() <= n && n <= st.live()).then(|| {
                    register(&mut st, n);
                    AttachStart {
                        offset: n,
                        resumed: true,
                        snapshot: Vec::new(),
                    }
                })
            });
            match resumed {
                Some(start) => start,
                None if opts.snapshot => {
                    let (snapshot, offset, ()) = self.output.snapshot_then(register);
                    AttachStart {
                        offset,
                        resumed: false,
                        snapshot,
                    }
                }
                None => {
                    let mut st = lock(&self.output.state);
                    let live = st.live();
                    register(&mut st, live);
                    AttachStart {
                        offset: live,
                        resumed: false,
                        snapshot: Vec::new(),
                    }
                }
            }
        };
        let client = Client::new(self.clone(), id, opts.readonly, counted);
        if !opts.readonly
            && let Some(size) = opts.size
        {
            // A refused size (out of range) leaves the terminal as it is.
            if let Err(e) = self.client_size(id, Some(size), true) {
                tracing::debug!("attach size refused: {e}");
            }
        }
        if counted {
            self.changed(Change::Status);
        }
        Ok((client, start))
    }

    /// A client left.
    pub(crate) fn detach(&self, id: ClientId, counted: bool) {
        lock(&self.output.state).clients.remove(&id);
        self.output.progress.notify_waiters();
        if !counted {
            return;
        }
        {
            let mut meta = lock(&self.meta);
            meta.clients = meta.clients.saturating_sub(1);
        }
        if lock(&self.meta).client_sizes.contains_key(&id)
            && let Err(e) = self.client_size(id, None, false)
        {
            tracing::debug!("resize after a client left: {e}");
        }
        self.changed(Change::Status);
    }

    /// A writable client's size changed (attach, resize, leave): applies the
    /// resize policy.
    pub(crate) fn client_size(
        &self,
        client: ClientId,
        size: Option<WindowSize>,
        asked: bool,
    ) -> Result<(), CoreError> {
        let mut meta = lock(&self.meta);
        match size {
            Some(s) => {
                meta.client_sizes.insert(client, s);
            }
            None => {
                meta.client_sizes.remove(&client);
            }
        }
        let sizes: Vec<WindowSize> = meta.client_sizes.values().copied().collect();
        let latest = if asked { size } else { None };
        let target = resize::pick(meta.resize_policy, self.size(), latest, &sizes);
        drop(meta);
        self.apply_size(target)
    }
}
