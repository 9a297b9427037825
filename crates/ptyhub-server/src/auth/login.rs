//! Browser logins: the web UI trades `?token=` for a login secret of its
//! own in an `HttpOnly; SameSite=Strict` cookie. A browser never stores the
//! API token (cookies reach every port of a host, so another web service
//! on the same machine would receive it); a login secret is random, expires
//! after [`LOGIN_TTL`], and is revoked by `POST /logout`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{generate_token, tokens_equal};

/// How long a browser login lasts.
pub const LOGIN_TTL: Duration = Duration::from_secs(12 * 60 * 60);
/// At most this many logins are live; a new one beyond it replaces the
/// oldest.
pub const MAX_LOGINS: usize = 256;

/// The live login secrets of one server.
#[derive(Default)]
pub struct Logins {
    /// `(secret, expiry)`, oldest first.
    live: Mutex<Vec<(String, Instant)>>,
}

impl std::fmt::Debug for Logins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logins")
            .field("live", &self.lock().len())
            .finish()
    }
}

impl Logins {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(String, Instant)>> {
        // Plain data: a panic elsewhere leaves it consistent.
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A fresh login secret, valid for [`LOGIN_TTL`].
    pub fn create(&self) -> std::io::Result<String> {
        let secret = generate_token()?;
        let now = Instant::now();
        let mut live = self.lock();
        live.retain(|(_, until)| *until > now);
        if live.len() >= MAX_LOGINS {
            live.remove(0);
        }
        live.push((secret.clone(), now + LOGIN_TTL));
        Ok(secret)
    }

    /// Whether `secret` is a live login, compared in constant time with
    /// each one.
    pub fn is_valid(&self, secret: &str) -> bool {
        let now = Instant::now();
        let live = self.lock();
        let mut found = false;
        for (s, until) in live.iter() {
            found |= tokens_equal(s.as_bytes(), secret.as_bytes()) && *until > now;
        }
        found
    }

    /// Revokes `secret`; whether it was live.
    pub fn revoke(&self, secret: &str) -> bool {
        let mut live = self.lock();
        let before = live.len();
        live.retain(|(s, _)| !tokens_equal(s.as_bytes(), secret.as_bytes()));
        live.len() != before
    }

    #[cfg(test)]
    pub(crate) fn expire_all(&self) {
        for (_, until) in self.lock().iter_mut() {
            *until = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_is_random_revocable_and_expires() {
        let logins = Logins::default();
        let a = logins.create().unwrap();
        let b = logins.create().unwrap();
        assert_ne!(a, b);
        assert!(logins.is_valid(&a) && logins.is_valid(&b));
        assert!(!logins.is_valid("nope"));
        assert!(logins.revoke(&a));
        assert!(!logins.is_valid(&a) && logins.is_valid(&b));
        assert!(!logins.revoke(&a));
        logins.expire_all();
        assert!(!logins.is_valid(&b));
    }

    #[test]
    fn logins_are_bounded() {
        let logins = Logins::default();
        let first = logins.create().unwrap();
        for _ in 0..MAX_LOGINS {
            logins.create().unwrap();
        }
        assert!(!logins.is_valid(&first));
        assert_eq!(logins.lock().len(), MAX_LOGINS);
    }
}
