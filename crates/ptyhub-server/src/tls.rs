//! TLS (docs/deployment.md): `tls_cert` and `tls_key`, PEM files read
//! once at start into a rustls server configuration (the `ring` provider).
//! The accept loop wraps every TCP connection in it, so HTTPS and WSS share
//! the listener; the handshake counts against the pre-auth budget like any
//! unauthenticated request.
//!
//! A file that is missing, unreadable, holds no certificate or key, or a
//! key that does not belong to the certificate is refused at start with a
//! [`TlsError`] that names the key and the file.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

/// Why the TLS files were refused. Every message is one line and names the
/// config key and the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {key} {}: {source}", path.display())]
    Read {
        /// `tls_cert` or `tls_key`.
        key: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not PEM, or holds nothing of the expected kind.
    #[error("{key} {}: {message}", path.display())]
    Pem {
        /// `tls_cert` or `tls_key`.
        key: &'static str,
        /// The file.
        path: PathBuf,
        /// What was expected.
        message: String,
    },
    /// rustls refused the pair: most often a key that belongs to another
    /// certificate.
    #[error("tls_key {} does not go with tls_cert {}: {reason}", key.display(), cert.display())]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls's reason.
        reason: String,
    },
}

/// The loaded certificate chain and key: the paths (for messages and
/// comparison) and the server configuration made from them.
#[derive(Clone)]
pub struct TlsFiles {
    /// The certificate chain (PEM), the server's own first.
    pub cert: PathBuf,
    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    config: Arc<ServerConfig>,
}

impl fmt::Debug for TlsFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsFiles")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl PartialEq for TlsFiles {
    /// The same files (what was read from them is the same at start).
    fn eq(&self, other: &Self) -> bool {
        self.cert == other.cert && self.key == other.key
    }
}

impl TlsFiles {
    /// Reads and checks `cert` and `key`.
    pub fn load(cert: &Path, key: &Path) -> Result<TlsFiles, TlsError> {
        let read = |what: &'static str, path: &Path| {
            std::fs::read(path).map_err(|source| TlsError::Read {
                key: what,
                path: path.to_owned(),
                source,
            })
        };
        let pem_error = |what: &'static str, path: &Path, message: String| TlsError::Pem {
            key: what,
            path: path.to_owned(),
            message,
        };
        let cert_pem = read("tls_cert", cert)?;
        let chain = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| pem_error("tls_cert", cert, format!("not a PEM certificate file: {e}")))?;
        if chain.is_empty() {
            return Err(pem_error(
                "tls_cert",
                cert,
                "holds no certificate (expected -----BEGIN CERTIFICATE-----)".to_owned(),
            ));
        }
        let key_pem = read("tls_key", key)?;
        let private = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
            pem_error(
                "tls_key",
                key,
                format!("holds no private key (expected -----BEGIN PRIVATE KEY-----): {e}"),
            )
        })?;
        let config = server_config(chain, private).map_err(|e| TlsError::Mismatch {
            cert: cert.to_owned(),
            key: key.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(TlsFiles {
            cert: cert.to_owned(),
            key: key.to_owned(),
            config: Arc::new(config),
        })
    }

    /// The acceptor the accept loop wraps connections with.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.config.clone())
    }
}

/// The server configuration: ring, TLS 1.2 and 1.3, HTTP/1.1 by ALPN (the
/// accept loop serves HTTP/1 only), the key checked against the
/// certificate by rustls.
fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<ServerConfig, rustls::Error> {
    // ring's provider is deprecated for lacking post-quantum key exchange;
    // aws-lc-rs, which has it, needs a C and cmake build. TLS 1.3 with
    // X25519 is what browsers and curl negotiate with it.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::{Flags, Options, OptionsError};

    fn pair(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        let cert_path = dir.join(format!("{name}.crt"));
        let key_path = dir.join(format!("{name}.key"));
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        (cert_path, key_path)
    }

    #[test]
    fn a_matching_pair_loads() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = pair(dir.path(), "a");
        let files = TlsFiles::load(&cert, &key).unwrap();
        assert_eq!(files.cert, cert);
        assert!(format!("{files:?}").contains("a.crt"));
    }

    #[test]
    fn bad_files_are_refused_with_their_key_and_path() {
        let dir = tempfile::tempdir().unwrap();
        let (cert_a, key_a) = pair(dir.path(), "a");
        let (_, key_b) = pair(dir.path(), "b");
        let missing = dir.path().join("missing.pem");
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a pem file\n").unwrap();

        let err = TlsFiles::load(&missing, &key_a).unwrap_err().to_string();
        assert!(
            err.starts_with("cannot read tls_cert ") && err.contains("missing.pem"),
            "{err}"
        );
        let err = TlsFiles::load(&cert_a, &missing).unwrap_err().to_string();
        assert!(err.starts_with("cannot read tls_key "), "{err}");
        let err = TlsFiles::load(&garbage, &key_a).unwrap_err().to_string();
        assert!(
            err.contains("tls_cert") && err.contains("no certificate"),
            "{err}"
        );
        // A certificate where the key should be.
        let err = TlsFiles::load(&cert_a, &cert_a).unwrap_err().to_string();
        assert!(
            err.contains("tls_key") && err.contains("no private key"),
            "{err}"
        );
        let err = TlsFiles::load(&cert_a, &key_b).unwrap_err().to_string();
        assert!(err.contains("does not go with"), "{err}");
        assert!(err.contains("b.key") && err.contains("a.crt"), "{err}");
    }

    fn load(config: &str, flags: &Flags) -> Result<Options, OptionsError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, config).unwrap();
        Options::load_as(Some(&path), &|_: &str| None, flags, false)
    }

    #[test]
    fn the_options_read_the_pair_from_any_layer() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = pair(dir.path(), "a");
        let (_, other) = pair(dir.path(), "b");
        let lines = format!(
            "bind = \"0.0.0.0:7681\"\ntls_cert = \"{}\"\ntls_key = \"{}\"\n",
            cert.display(),
            key.display()
        );
        let o = load(&lines, &Flags::default()).unwrap();
        assert_eq!(o.tls.as_ref().map(|t| t.cert.clone()), Some(cert.clone()));
        // TLS on a public bind: no warning about plain HTTP.
        assert!(o.warnings().is_empty(), "{:?}", o.warnings());
        // Without it, the warning.
        let o = load("bind = \"0.0.0.0:7681\"\n", &Flags::default()).unwrap();
        assert!(
            o.warnings().iter().any(|w| w.contains("TLS is off")),
            "{:?}",
            o.warnings()
        );
        // The flags over the file: this key does not go with the file's
        // certificate.
        let flags = Flags {
            tls_key: Some(other.clone()),
            ..Flags::default()
        };
        let err = load(&lines, &flags).unwrap_err();
        assert!(
            matches!(err, OptionsError::Tls(TlsError::Mismatch { .. })),
            "{err}"
        );
        // One of the two alone, named with its layer.
        let flags = Flags {
            tls_cert: Some(cert.clone()),
            ..Flags::default()
        };
        let err = load("", &flags).unwrap_err().to_string();
        assert!(
            err.contains("`tls_key`") && err.contains("--tls-cert"),
            "{err}"
        );
        let half = format!("tls_key = \"{}\"\n", key.display());
        let err = load(&half, &Flags::default()).unwrap_err().to_string();
        assert!(
            err.contains("`tls_cert`") && err.contains("c.toml"),
            "{err}"
        );
        // Not on a Unix socket.
        let unix = format!("{lines}bind = \"unix:/tmp/x.sock\"\n")
            .replace("bind = \"0.0.0.0:7681\"\n", "");
        let err = load(&unix, &Flags::default()).unwrap_err().to_string();
        assert!(err.contains("TLS is for TCP listeners"), "{err}");
    }
}
