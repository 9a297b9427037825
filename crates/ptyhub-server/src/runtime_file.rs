//! The runtime file (docs/configuration.md): a running server writes its URL and
//! token for its own user, as Jupyter's runtime files do, so that client
//! commands (`ptyhub ls`) find it without being told.
//!
//! It lives at `$XDG_RUNTIME_DIR/ptyhub/server.json`, else
//! `~/.local/state/ptyhub/server.json`; the directory is 0700 and the file
//! 0600, written whole (temp file and rename) so a reader never sees half
//! of it. [`RuntimeFile`] removes it on drop, unless another server has
//! replaced it since. [`read`] skips a file whose server is gone.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The file's name inside the runtime directory.
pub const FILE_NAME: &str = "server.json";

/// What the file holds.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeInfo {
    /// The server's base URL (`http://127.0.0.1:7681`), without the token.
    pub url: String,
    /// The token; `None` under `--no-auth`.
    pub token: Option<String>,
    /// The server's process id.
    pub pid: u32,
    /// Under TLS, the certificate the server serves (`tls_cert`): a local
    /// client trusts it for this URL, as it would with `--ca`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
}

impl std::fmt::Debug for RuntimeInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeInfo")
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("pid", &self.pid)
            .field("tls_cert", &self.tls_cert)
            .finish()
    }
}

/// The default runtime directory: `$XDG_RUNTIME_DIR/ptyhub`, else
/// `$HOME/.local/state/ptyhub`; `None` when neither variable is set to an
/// absolute path.
pub fn default_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let absolute = |name: &str| env(name).map(PathBuf::from).filter(|p| p.is_absolute());
    if let Some(dir) = absolute("XDG_RUNTIME_DIR") {
        return Some(dir.join("ptyhub"));
    }
    absolute("HOME").map(|home| home.join(".local/state/ptyhub"))
}

/// The running server's file; removes it on drop.
#[derive(Debug)]
pub struct RuntimeFile {
    path: PathBuf,
    pid: u32,
}

impl RuntimeFile {
    /// Writes `info` to `dir/server.json` (creating `dir` with mode 0700),
    /// replacing the file of any earlier server.
    pub fn write(dir: &Path, info: &RuntimeInfo) -> io::Result<RuntimeFile> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        let meta = fs::metadata(dir)?;
        if meta.uid() != rustix::process::geteuid().as_raw() {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("{} belongs to another user", dir.display()),
            ));
        }
        if meta.permissions().mode() & 0o077 != 0 {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        }
        let path = dir.join(FILE_NAME);
        let tmp = dir.join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
        let result = (|| {
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            // A leftover temp file of a dead process with our pid may have
            // other permissions: make sure.
            file.set_permissions(fs::Permissions::from_mode(0o600))?;
            file.write_all(&serde_json::to_vec_pretty(info)?)?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            fs::rename(&tmp, &path)
        })();
        if let Err(e) = result {
            // Best effort: the temp file may not even exist.
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        Ok(RuntimeFile {
            path,
            pid: info.pid,
        })
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RuntimeFile {
    fn drop(&mut self) {
        // Remove it only if it is still ours: a second server started since
        // has replaced it, and its clients need it.
        if let Ok(Some(info)) = read_file(&self.path)
            && info.pid == self.pid
            && let Err(e) = fs::remove_file(&self.path)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), error = %e, "could not remove the runtime file");
        }
    }
}

/// Reads `path` as a runtime file; `None` when it does not exist.
pub fn read_file(path: &Path) -> io::Result<Option<RuntimeInfo>> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    })
}

/// The running server's info from `dir/server.json`, for client commands;
/// `None` when there is no file or its server is no longer running.
pub fn read(dir: &Path) -> io::Result<Option<RuntimeInfo>> {
    Ok(read_file(&dir.join(FILE_NAME))?.filter(|info| process_exists(info.pid)))
}

/// Whether a process with this pid exists (it may be another program that
/// reused the pid: the client then fails to connect, with a clear error).
fn process_exists(pid: u32) -> bool {
    pid != 0 && Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            static N: AtomicUsize = AtomicUsize::new(0);
            let path = std::env::temp_dir().join(format!(
                "ptyhub-runtime-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            TempDir(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn info(pid: u32) -> RuntimeInfo {
        RuntimeInfo {
            url: "http://127.0.0.1:7681".into(),
            token: Some("tok".into()),
            pid,
            tls_cert: None,
        }
    }

    #[test]
    fn default_dir_prefers_xdg_runtime_dir() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            default_dir(&env(&[
                ("XDG_RUNTIME_DIR", "/run/user/1000"),
                ("HOME", "/home/me")
            ])),
            Some(PathBuf::from("/run/user/1000/ptyhub"))
        );
        assert_eq!(
            default_dir(&env(&[("HOME", "/home/me")])),
            Some(PathBuf::from("/home/me/.local/state/ptyhub"))
        );
        assert_eq!(
            default_dir(&env(&[
                ("XDG_RUNTIME_DIR", "relative"),
                ("HOME", "/home/me")
            ])),
            Some(PathBuf::from("/home/me/.local/state/ptyhub"))
        );
        assert_eq!(default_dir(&env(&[])), None);
    }

    #[test]
    fn written_private_read_back_removed_on_drop() {
        let dir = TempDir::new();
        let sub = dir.0.join("ptyhub");
        let me = info(std::process::id());
        let file = RuntimeFile::write(&sub, &me).unwrap();
        assert_eq!(file.path(), sub.join(FILE_NAME));
        assert_eq!(
            fs::metadata(&sub).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert_eq!(
            fs::metadata(file.path()).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(read(&sub).unwrap(), Some(me.clone()));
        let text = fs::read_to_string(file.path()).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["url"], "http://127.0.0.1:7681");
        assert_eq!(json["token"], "tok");
        // No temp file left behind.
        assert_eq!(fs::read_dir(&sub).unwrap().count(), 1);
        let path = file.path().to_owned();
        drop(file);
        assert!(!path.exists());
        assert_eq!(read(&sub).unwrap(), None);
    }

    #[test]
    fn a_loose_directory_is_tightened() {
        let dir = TempDir::new();
        fs::create_dir_all(&dir.0).unwrap();
        fs::set_permissions(&dir.0, fs::Permissions::from_mode(0o755)).unwrap();
        let _file = RuntimeFile::write(&dir.0, &info(std::process::id())).unwrap();
        assert_eq!(
            fs::metadata(&dir.0).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }

    #[test]
    fn a_newer_server_s_file_is_left_alone() {
        let dir = TempDir::new();
        let first = RuntimeFile::write(&dir.0, &info(std::process::id())).unwrap();
        // Another server (pid 1 stands in for it) replaces the file.
        let second = RuntimeFile::write(&dir.0, &info(1)).unwrap();
        drop(first);
        assert_eq!(read_file(second.path()).unwrap().map(|i| i.pid), Some(1));
        std::mem::forget(second);
    }

    #[test]
    fn a_dead_server_s_file_is_skipped() {
        let dir = TempDir::new();
        // pid_max is at most 2^22 on Linux: this pid never exists.
        let file = RuntimeFile::write(&dir.0, &info(u32::MAX - 1)).unwrap();
        assert!(read_file(file.path()).unwrap().is_some());
        assert_eq!(read(&dir.0).unwrap(), None);
    }

    #[test]
    fn garbage_is_an_error_naming_the_file() {
        let dir = TempDir::new();
        fs::create_dir_all(&dir.0).unwrap();
        fs::write(dir.0.join(FILE_NAME), "not json").unwrap();
        let err = read(&dir.0).unwrap_err();
        assert!(err.to_string().contains(FILE_NAME), "{err}");
        assert_eq!(read(&dir.0.join("missing")).unwrap(), None);
    }

    #[test]
    fn debug_hides_the_token() {
        assert!(!format!("{:?}", info(1)).contains("\"tok\""));
    }
}
