//! systemd socket activation (docs/deployment.md): with `LISTEN_FDS` set and
//! `LISTEN_PID` equal to this process's pid, the server serves the listening
//! sockets passed from fd 3 on instead of binding its own; a passed socket
//! counts as loopback (for the `--no-auth`, root and Host rules) when its
//! address is. The descriptors are taken by the `listenfd` crate, which
//! checks that each is a listening TCP socket and marks it close-on-exec.

use std::net::{SocketAddr, TcpListener};

/// Why the passed sockets could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ActivationError {
    /// A passed descriptor is not a TCP stream socket.
    #[error("socket activation: descriptor {fd} is not a listening TCP socket: {source}")]
    NotTcp {
        /// The descriptor.
        fd: usize,
        /// What `listenfd` said.
        source: std::io::Error,
    },
}

/// The sockets systemd passed, or none when this process was not
/// activated. Call it before any thread is started: it removes
/// `LISTEN_FDS` and `LISTEN_PID` from the environment (sessions must not
/// see them).
pub fn inherited_listeners() -> Result<Vec<TcpListener>, ActivationError> {
    let ours = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|pid| pid.trim().parse::<u32>().ok())
        == Some(std::process::id());
    if std::env::var_os("LISTEN_FDS").is_none() || !ours {
        return Ok(Vec::new());
    }
    let mut fds = listenfd::ListenFd::from_env();
    let mut listeners = Vec::new();
    for index in 0..fds.len() {
        match fds.take_tcp_listener(index) {
            Ok(Some(listener)) => listeners.push(listener),
            Ok(None) => {}
            Err(source) => {
                return Err(ActivationError::NotTcp {
                    fd: 3 + index,
                    source,
                });
            }
        }
    }
    Ok(listeners)
}

/// The address the options' loopback rules look at for these listeners:
/// the first one that is not loopback, else the first.
pub fn effective_bind(addrs: &[SocketAddr]) -> Option<SocketAddr> {
    addrs
        .iter()
        .find(|a| !a.ip().is_loopback())
        .or_else(|| addrs.first())
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_socket_decides() {
        let lo: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let lo6: SocketAddr = "[::1]:2".parse().unwrap();
        let public: SocketAddr = "0.0.0.0:3".parse().unwrap();
        assert_eq!(effective_bind(&[lo, lo6]), Some(lo));
        assert_eq!(effective_bind(&[lo, public, lo6]), Some(public));
        assert_eq!(effective_bind(&[]), None);
    }
}
