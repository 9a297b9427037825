//! The pre-auth budget: every connection counts as unauthenticated from
//! accept until a request on it carries valid credentials (a keep-alive
//! connection after a request without them, and a `tty` upgrade waiting
//! for its auth message, included). Unauthenticated connections are
//! limited per client address ([`PER_ADDRESS`]) and in total ([`TOTAL`]);
//! past either limit the *oldest* unauthenticated connection (of that
//! address, or of all) is closed, never the new one, so a client that
//! presents the token is served whatever flood of silent connections is
//! held. One that stays unauthenticated for [`PREAUTH_TIMEOUT`] after its
//! last request began is closed too.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

/// An unauthenticated connection is closed this long after it was accepted
/// or after its last request began (the request head must be complete by
/// then; a `tty` socket must have sent its auth message).
pub const PREAUTH_TIMEOUT: Duration = Duration::from_secs(10);
/// Unauthenticated connections from one client address.
pub const PER_ADDRESS: usize = 32;
/// Unauthenticated connections in total.
pub const TOTAL: usize = 1024;

/// The unauthenticated connections of one server.
#[derive(Debug)]
pub struct Budget {
    per_address: usize,
    total: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    next: u64,
    /// By age: the first key is the oldest connection.
    open: BTreeMap<u64, Entry>,
    by_address: HashMap<IpAddr, usize>,
}

#[derive(Debug)]
struct Entry {
    address: IpAddr,
    since: Instant,
    close: CancellationToken,
}

/// One connection's place in the [`Budget`]: cancelled when the budget
/// closes the connection, released on authentication or drop.
#[derive(Debug)]
pub struct Ticket {
    id: u64,
    budget: Arc<Budget>,
    close: CancellationToken,
    authenticated: AtomicBool,
}

impl Budget {
    /// A budget with these limits (each at least 1).
    pub fn new(per_address: usize, total: usize) -> Arc<Budget> {
        Arc::new(Budget {
            per_address: per_address.max(1),
            total: total.max(1),
            inner: Mutex::new(Inner::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Entries are plain data: a panic elsewhere leaves them consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a new connection from `address`; closes the oldest
    /// unauthenticated ones past the limits (never this one).
    pub fn admit(self: &Arc<Self>, address: IpAddr) -> Arc<Ticket> {
        let close = CancellationToken::new();
        let mut inner = self.lock();
        let id = inner.next;
        inner.next += 1;
        inner.open.insert(
            id,
            Entry {
                address,
                since: Instant::now(),
                close: close.clone(),
            },
        );
        let n = inner.by_address.entry(address).or_insert(0);
        *n += 1;
        if *n > self.per_address {
            let oldest = inner
                .open
                .iter()
                .find(|(_, e)| e.address == address)
                .map(|(k, _)| *k);
            if let Some(k) = oldest {
                inner.evict(k);
                tracing::debug!(%address, "unauthenticated connections per address: closed the oldest");
            }
        }
        if inner.open.len() > self.total
            && let Some(k) = inner.open.keys().next().copied()
        {
            inner.evict(k);
            tracing::debug!("unauthenticated connections in total: closed the oldest");
        }
        drop(inner);
        Arc::new(Ticket {
            id,
            budget: self.clone(),
            close,
            authenticated: AtomicBool::new(false),
        })
    }

    /// Closes the oldest unauthenticated connection, if any (to free a
    /// descriptor when the process has none left).
    pub fn evict_oldest(&self) -> bool {
        let mut inner = self.lock();
        match inner.open.keys().next().copied() {
            Some(k) => {
                inner.evict(k);
                true
            }
            None => false,
        }
    }

    /// Closes the unauthenticated connections idle for [`PREAUTH_TIMEOUT`].
    pub fn sweep(&self, now: Instant) {
        let mut inner = self.lock();
        let stale: Vec<u64> = inner
            .open
            .iter()
            .filter(|(_, e)| now.saturating_duration_since(e.since) >= PREAUTH_TIMEOUT)
            .map(|(k, _)| *k)
            .collect();
        for k in stale {
            inner.evict(k);
        }
    }

    /// How many connections are unauthenticated now.
    pub fn unauthenticated(&self) -> usize {
        self.lock().open.len()
    }

    fn release(&self, id: u64) {
        let mut inner = self.lock();
        inner.remove(id);
    }

    fn touch(&self, id: u64) {
        if let Some(e) = self.lock().open.get_mut(&id) {
            e.since = Instant::now();
        }
    }
}

impl Inner {
    fn remove(&mut self, id: u64) -> Option<Entry> {
        let entry = self.open.remove(&id)?;
        if let Some(n) = self.by_address.get_mut(&entry.address) {
            *n -= 1;
            if *n == 0 {
                self.by_address.remove(&entry.address);
            }
        }
        Some(entry)
    }

    fn evict(&mut self, id: u64) {
        if let Some(entry) = self.remove(id) {
            entry.close.cancel();
        }
    }
}

impl Ticket {
    /// A request carried valid credentials: the connection leaves the
    /// budget for good.
    pub fn authenticated(&self) {
        if !self.authenticated.swap(true, Ordering::AcqRel) {
            self.budget.release(self.id);
        }
    }

    /// Whether a request on this connection carried valid credentials.
    pub fn is_authenticated(&self) -> bool {
        self.authenticated.load(Ordering::Acquire)
    }

    /// A request began on a connection still unauthenticated: its
    /// [`PREAUTH_TIMEOUT`] starts again.
    pub fn request_began(&self) {
        if !self.is_authenticated() {
            self.budget.touch(self.id);
        }
    }

    /// Completes when the budget closes this connection.
    pub async fn closed(&self) {
        self.close.cancelled().await;
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if !self.is_authenticated() {
            self.budget.release(self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));

    #[test]
    fn the_oldest_of_an_address_goes_first_never_the_new_one() {
        let budget = Budget::new(2, 10);
        let first = budget.admit(A);
        let other = budget.admit(B);
        let second = budget.admit(A);
        let third = budget.admit(A);
        assert!(first.close.is_cancelled());
        assert!(!second.close.is_cancelled() && !third.close.is_cancelled());
        assert!(!other.close.is_cancelled());
        assert_eq!(budget.unauthenticated(), 3);
    }

    #[test]
    fn at_the_total_the_oldest_of_all_goes() {
        let budget = Budget::new(10, 3);
        let t: Vec<_> = [A, B, A, B].into_iter().map(|a| budget.admit(a)).collect();
        assert!(t[0].close.is_cancelled());
        assert!(t[1..].iter().all(|t| !t.close.is_cancelled()));
        assert_eq!(budget.unauthenticated(), 3);
    }

    #[test]
    fn authenticated_and_dropped_connections_leave_the_budget() {
        let budget = Budget::new(1, 10);
        let a = budget.admit(A);
        a.authenticated();
        let b = budget.admit(A);
        // `a` is authenticated: `b` is the only one counted, nobody closed.
        assert!(!a.close.is_cancelled() && !b.close.is_cancelled());
        drop(b);
        assert_eq!(budget.unauthenticated(), 0);
        drop(a);
        assert_eq!(budget.unauthenticated(), 0);
    }

    #[test]
    fn stale_connections_are_swept() {
        let budget = Budget::new(10, 10);
        let a = budget.admit(A);
        budget.sweep(Instant::now());
        assert!(!a.close.is_cancelled());
        budget.sweep(Instant::now() + PREAUTH_TIMEOUT);
        assert!(a.close.is_cancelled());
        assert_eq!(budget.unauthenticated(), 0);
    }
}
