//! The byte stream to a server, for the WebSocket (the HTTP calls get the
//! same settings through reqwest, see [`super::api`]): TCP, TLS over TCP
//! for `https://`, or a Unix socket for `unix:` URLs; and the TLS
//! configuration both share: the system's roots plus `--ca FILE`
//! (`PTYHUB_CA`), rustls with ring.

use std::path::Path;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

use super::endpoint::{Endpoint, Target};
use super::error::{Error, Result};

/// A connection's byte stream, whichever the transport.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The TLS client configuration: the system's trusted roots (the
/// distribution's CA bundle), plus every certificate in `ca` (a private
/// CA, or a self-signed server certificate).
pub fn client_config(ca: Option<&Path>) -> Result<ClientConfig> {
    let mut roots = RootCertStore::empty();
    // A missing or partly unreadable system store is not an error: `--ca`
    // may be all the client needs.
    let system = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(system.certs);
    if let Some(ca) = ca {
        let bad = |why: String| Error::other(format!("--ca {}: {why}", ca.display()));
        let pem = std::fs::read(ca).map_err(|e| bad(format!("cannot read it: {e}")))?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(format!("not a PEM certificate file: {e}")))?;
        if certs.is_empty() {
            return Err(bad(
                "holds no certificate (expected -----BEGIN CERTIFICATE-----)".to_owned(),
            ));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| bad(format!("not a usable certificate: {e}")))?;
        }
    }
    // ring's provider is deprecated for lacking post-quantum key exchange;
    // aws-lc-rs, which has it, needs a C and cmake build. TLS 1.3 with
    // X25519 is what browsers and curl negotiate with it.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::other(format!("cannot set up TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// Opens the byte stream to `endpoint`'s server (TLS done for
/// `https://`). The error is phrased for the user: no server there, or a
/// certificate that is not trusted.
pub async fn open(endpoint: &Endpoint) -> Result<Box<dyn Io>> {
    let no_server = |e: std::io::Error| Error::NoServer {
        url: endpoint.url.clone(),
        reason: e.to_string(),
    };
    match endpoint.target() {
        Target::Unix { socket, .. } => {
            let stream = UnixStream::connect(&socket).await.map_err(no_server)?;
            Ok(Box::new(stream))
        }
        Target::Tcp {
            host, port, tls, ..
        } => {
            let stream = TcpStream::connect((host.trim_matches(['[', ']']), port))
                .await
                .map_err(no_server)?;
            // Keystrokes are small writes: no Nagle delay.
            let _ = stream.set_nodelay(true);
            if !tls {
                return Ok(Box::new(stream));
            }
            let config = client_config(endpoint.ca.as_deref())?;
            let name = ServerName::try_from(host.trim_matches(['[', ']']).to_owned())
                .map_err(|e| Error::other(format!("bad server name {host:?}: {e}")))?;
            let stream = TlsConnector::from(Arc::new(config))
                .connect(name, stream)
                .await
                .map_err(|e| match tls_failure(&e) {
                    Some(reason) => Error::Untrusted {
                        url: endpoint.url.clone(),
                        reason,
                    },
                    None => no_server(e),
                })?;
            Ok(Box::new(stream))
        }
    }
}

/// The TLS reason somewhere in `e`'s chain of causes (an untrusted or
/// mismatched certificate, a refused handshake), as rustls words it.
pub fn tls_failure(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cause = Some(e);
    while let Some(e) = cause {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        // An io::Error hides the error it wraps from `source()`.
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(tls) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>())
        {
            return Some(tls.to_string());
        }
        // reqwest's connector boxes the error on its way up, so that the
        // type is gone by then; rustls's words for it are not.
        let text = e.to_string();
        if RUSTLS_WORDS.iter().any(|w| text.starts_with(w)) {
            return Some(text);
        }
        cause = e.source();
    }
    None
}

/// How rustls's `Error` displays the failures a user can meet: a
/// certificate not trusted or not for this name, a handshake refused.
const RUSTLS_WORDS: [&str; 4] = [
    "invalid peer certificate",
    "received fatal alert",
    "peer is incompatible",
    "peer misbehaved",
];
