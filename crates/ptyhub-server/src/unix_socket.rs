//! `bind = "unix:/path"` (docs/deployment.md): the socket is created with
//! mode 0600 (`socket_mode` changes it), a stale socket left by a server
//! that died is replaced, a live one is not, and the file is removed when
//! the [`SocketFile`] guard drops (at exit).

use std::io;
use std::path::{Path, PathBuf};

use rustix::fs::Mode;
use tokio::net::UnixListener;

/// Removes the socket file on drop.
#[derive(Debug)]
pub struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Binds the Unix socket at `path` with permission bits `mode`.
pub fn bind(path: &Path, mode: u32) -> io::Result<(UnixListener, SocketFile)> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("a server is already listening on {}", path.display()),
                ));
            }
            // Nobody listens: a socket a dead server left behind.
            std::fs::remove_file(path)?;
        }
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    // Created with no access for group and others, so that no one can
    // connect before the mode below is set.
    let old = rustix::process::umask(Mode::from_raw_mode(0o177));
    let bound = UnixListener::bind(path);
    rustix::process::umask(old);
    let listener = bound?;
    let guard = SocketFile(path.to_owned());
    rustix::fs::chmod(path, Mode::from_raw_mode(mode))?;
    Ok((listener, guard))
}
