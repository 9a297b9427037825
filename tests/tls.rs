//! TLS and the client's other transports, end to end against the real
//! binary: a CA and a server certificate made here (rcgen), HTTPS API calls
//! and a WSS attach, the `Secure` login cookie, the terminal client over
//! `https://` with `--ca` / `PTYHUB_CA` (and refused without it), bad
//! certificate files refused at start, the README's `openssl` example, and
//! the client over a `unix:` socket (HTTP and the WebSocket).

mod client_support;
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use client_support::{DEADLINE, Pty, bin, run};
use common::{TOKEN, TempDir, TestServer};
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_rustls::rustls;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// A private CA and a server certificate it signed (for `localhost` and
/// `127.0.0.1`), as PEM files in a directory of their own.
struct Pki {
    dir: TempDir,
}

impl Pki {
    fn new() -> Pki {
        let dir = TempDir::new("pki");
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::new()).unwrap();
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "ptyhub test CA");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);

        let key = rcgen::KeyPair::generate().unwrap();
        let params =
            rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        std::fs::write(dir.path("ca.pem"), ca_cert.pem()).unwrap();
        std::fs::write(dir.path("server.crt"), cert.pem()).unwrap();
        std::fs::write(dir.path("server.key"), key.serialize_pem()).unwrap();
        // Another key, which does not go with the certificate.
        let other = rcgen::KeyPair::generate().unwrap();
        std::fs::write(dir.path("other.key"), other.serialize_pem()).unwrap();
        Pki { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path(name)
    }

    fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(self.path("ca.pem")).unwrap()
    }

    /// The config lines that turn TLS on.
    fn config(&self) -> String {
        format!(
            "tls_cert = \"{}\"\ntls_key = \"{}\"\n",
            self.path("server.crt").display(),
            self.path("server.key").display()
        )
    }
}

/// An HTTP client that trusts `ca` (and nothing else), and follows no
/// redirect.
fn https_client(ca: &[u8]) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A TLS server started with `pki`'s files, its HTTP client trusting the CA.
fn tls_server(pki: &Pki) -> TestServer {
    let mut server = TestServer::start_with(&pki.config(), &[]);
    server.http = https_client(&pki.ca_pem());
    server
}

#[tokio::test]
async fn https_serves_the_api_and_the_login_cookie_is_secure() {
    let pki = Pki::new();
    let server = tls_server(&pki);
    assert!(
        server.base.starts_with("https://127.0.0.1:"),
        "{}",
        server.base
    );

    // The API over HTTPS.
    let created = server.create(&["cat"]).await;
    let id = created["id"].as_str().unwrap();
    let list = server.get_json("/api/sessions").await;
    assert!(list.to_string().contains(id), "{list}");
    let health = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    // A client that does not trust the CA is refused by its own TLS check:
    // the certificate really is the one served.
    let untrusting = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .build()
        .unwrap();
    let err = untrusting
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("UnknownIssuer"), "{err:?}");

    // Plain HTTP on the TLS port gets no answer.
    let plain = reqwest::Client::new()
        .get(format!("http://{}/healthz", server.addr))
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    assert!(plain.is_err(), "{plain:?}");

    // The browser's login: the cookie is Secure under TLS, and so is the
    // one that logout sends to remove it.
    let login = server
        .http
        .get(server.url(&format!("/?token={TOKEN}")))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 302);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("ptyhub_login="), "{cookie}");
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly; SameSite=Strict"), "{cookie}");
    let pair = cookie.split(';').next().unwrap();
    let logout = server
        .http
        .post(server.url("/logout"))
        .header("cookie", pair)
        .header("origin", &server.base)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    let cleared = logout.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cleared.contains("Max-Age=0") && cleared.ends_with("; Secure"),
        "{cleared}"
    );
}

#[tokio::test]
async fn a_plain_server_s_cookie_is_not_secure() {
    let server = TestServer::start();
    let login = server.login().await;
    let cookie = login.headers()["set-cookie"].to_str().unwrap();
    assert!(!cookie.contains("Secure"), "{cookie}");
}

/// A `ptyhub.v1` WebSocket over TLS (`wss://`), the origin check seeing
/// the server's own `https://` origin.
#[tokio::test]
async fn wss_attaches_and_the_origin_is_the_https_one() {
    let pki = Pki::new();
    let server = tls_server(&pki);
    let created = server.create(&["cat"]).await;
    let id = created["id"].as_str().unwrap().to_owned();

    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile_certs(&pki.path("ca.pem")) {
        roots.add(cert).unwrap();
    }
    #[allow(deprecated)] // ring: no post-quantum key exchange, enough for a test
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));

    let open = |origin: Option<String>| {
        let connector = connector.clone();
        let addr = server.addr.clone();
        let id = id.clone();
        async move {
            let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
            let tls = connector.connect(name, tcp).await.unwrap();
            let mut req = format!("wss://{addr}/api/sessions/{id}/ws")
                .into_client_request()
                .unwrap();
            let h = req.headers_mut();
            h.insert(
                "sec-websocket-protocol",
                HeaderValue::from_static("ptyhub.v1"),
            );
            h.insert(
                "authorization",
                HeaderValue::from_str(&format!("Bearer {TOKEN}")).unwrap(),
            );
            if let Some(origin) = origin {
                h.insert("origin", HeaderValue::from_str(&origin).unwrap());
            }
            tokio_tungstenite::client_async(req, tls).await
        }
    };

    // The http:// origin of the same host and port is another origin.
    let refused = open(Some(format!("http://{}", server.addr))).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 403),
        other => panic!("expected 403, got {:?}", other.map(|_| ())),
    }

    let (mut socket, response) = open(Some(server.base.clone())).await.expect("upgrade");
    assert_eq!(response.status(), 101);
    let hello = tokio::time::timeout(DEADLINE, socket.next()).await.unwrap();
    match hello {
        Some(Ok(Message::Text(t))) => assert!(t.contains("\"hello\""), "{t}"),
        other => panic!("expected hello, got {other:?}"),
    }
    socket
        .send(Message::binary(b"over-wss\n".to_vec()))
        .await
        .unwrap();
    let mut output = Vec::new();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !String::from_utf8_lossy(&output).contains("over-wss\r\nover-wss") {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Ok(Some(Ok(Message::Binary(b)))) => output.extend_from_slice(&b),
            Ok(Some(Ok(_))) => {}
            other => panic!(
                "no echo over wss ({other:?}); output {:?}",
                String::from_utf8_lossy(&output)
            ),
        }
    }
    socket.close(None).await.unwrap();
}

/// The certificates of a PEM file.
fn rustls_pemfile_certs(path: &Path) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_file_iter(path)
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The client binary for `url`, with the token and an empty runtime
/// directory; no CA unless the test adds one.
fn client_for(url: &str, runtime: &TempDir) -> Command {
    let mut cmd = Command::new(bin());
    cmd.env("PTYHUB_URL", url)
        .env("PTYHUB_TOKEN", TOKEN)
        .env("XDG_RUNTIME_DIR", runtime.dir())
        .env_remove("PTYHUB_CA")
        .env_remove("PTYHUB_DETACH_PREFIX");
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_speaks_https_with_its_ca() {
    let pki = Pki::new();
    let server = tls_server(&pki);
    let rt = TempDir::new("rt");
    let ca = pki.path("ca.pem");
    let ca = ca.to_str().unwrap();

    // Without the CA: one clear line, naming --ca.
    let refused = run(client_for(&server.base, &rt), &["ls"], None);
    let line = refused.error();
    assert!(
        line.contains("cannot trust the server at https://"),
        "{line}"
    );
    assert!(
        line.contains("--ca FILE") && line.contains("PTYHUB_CA"),
        "{line}"
    );

    // With --ca: new, send, screen, ls, kill.
    let new = run(
        client_for(&server.base, &rt),
        &["new", "--name", "tls-one", "--ca", ca],
        None,
    );
    let id = new.ok().trim().to_owned();
    let sent = run(
        client_for(&server.base, &rt),
        &["send", "tls-one", "echo via-$((6*7))", "--ca", ca],
        None,
    );
    sent.ok();
    server.wait_screen(&id, "via-42").await;
    let screen = run(
        client_for(&server.base, &rt),
        &["screen", "tls-one", "--ca", ca],
        None,
    );
    assert!(screen.ok().contains("via-42"), "{screen:?}");

    // PTYHUB_CA works as --ca does.
    let mut by_env = client_for(&server.base, &rt);
    by_env.env("PTYHUB_CA", ca);
    let listed = run(by_env, &["ls", "--json"], None);
    let listed: Value = serde_json::from_str(listed.ok()).unwrap();
    assert_eq!(listed["sessions"][0]["name"], "tls-one", "{listed}");

    // A CA file that is not one: a clear line too.
    let bad = run(
        client_for(&server.base, &rt),
        &["ls", "--ca", pki.path("server.key").to_str().unwrap()],
        None,
    );
    assert!(bad.error().contains("holds no certificate"), "{bad:?}");

    // attach over wss:// in a real terminal: type, see, detach.
    let env = [
        ("PTYHUB_URL", server.base.as_str()),
        ("PTYHUB_TOKEN", TOKEN),
        ("PTYHUB_CA", ca),
        ("XDG_RUNTIME_DIR", rt.dir().to_str().unwrap()),
    ];
    attach_type_detach(&env, "tls-one", "via-42", "echo typed-$((7*7))", "typed-49");
    run(
        client_for(&server.base, &rt),
        &["kill", "tls-one", "--ca", ca],
        None,
    )
    .ok();
}

/// With no URL and no token given, a local client finds the server in its
/// runtime file, and trusts the certificate that server serves for that
/// URL (here a chain: the server's certificate and the CA).
#[tokio::test]
async fn the_runtime_file_s_certificate_is_trusted_for_its_server() {
    let pki = Pki::new();
    let chain = pki.path("chain.pem");
    let mut pem = std::fs::read(pki.path("server.crt")).unwrap();
    pem.extend(pki.ca_pem());
    std::fs::write(&chain, pem).unwrap();
    let config = format!(
        "tls_cert = \"{}\"\ntls_key = \"{}\"\n",
        chain.display(),
        pki.path("server.key").display()
    );
    let mut server = TestServer::start_with(&config, &[]);
    server.http = https_client(&pki.ca_pem());
    server.create(&["cat"]).await;
    let mut cmd = Command::new(bin());
    cmd.env_remove("PTYHUB_URL")
        .env_remove("PTYHUB_TOKEN")
        .env_remove("PTYHUB_CA")
        .env("XDG_RUNTIME_DIR", server.dir.path());
    let listed = run(cmd, &["ls", "--json"], None);
    let listed: Value = serde_json::from_str(listed.ok()).unwrap();
    assert_eq!(listed["sessions"].as_array().unwrap().len(), 1, "{listed}");
}

/// `ptyhub serve` with TLS files that cannot serve: refused at start, one
/// line that names the key and the file.
#[test]
fn bad_tls_files_are_refused_at_start() {
    let pki = Pki::new();
    let cert = pki.path("server.crt");
    let key = pki.path("server.key");
    let missing = pki.path("missing.pem");
    let other = pki.path("other.key");
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let cases: Vec<(Vec<String>, Vec<String>)> = vec![
        (
            vec![
                "--tls-cert".into(),
                s(&missing),
                "--tls-key".into(),
                s(&key),
            ],
            vec!["cannot read tls_cert".into(), s(&missing)],
        ),
        (
            vec![
                "--tls-cert".into(),
                s(&cert),
                "--tls-key".into(),
                s(&missing),
            ],
            vec!["cannot read tls_key".into(), s(&missing)],
        ),
        (
            vec!["--tls-cert".into(), s(&key), "--tls-key".into(), s(&key)],
            vec!["tls_cert".into(), "holds no certificate".into()],
        ),
        (
            vec!["--tls-cert".into(), s(&cert), "--tls-key".into(), s(&other)],
            vec!["does not go with".into(), s(&other)],
        ),
        (
            vec!["--tls-cert".into(), s(&cert)],
            vec!["tls_key".into(), "give both".into()],
        ),
        (
            vec![
                "--tls-cert".into(),
                s(&cert),
                "--tls-key".into(),
                s(&key),
                "--bind".into(),
                format!("unix:{}", pki.path("s.sock").display()),
            ],
            vec!["TLS is for TCP listeners".into()],
        ),
    ];
    for (args, needles) in cases {
        let args: Vec<&str> = if args.iter().any(|a| a == "--bind") {
            args.iter().map(String::as_str).collect()
        } else {
            ["--bind", "127.0.0.1:0"]
                .into_iter()
                .chain(args.iter().map(String::as_str))
                .collect()
        };
        let err = refused_at_start(&pki, &args);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        for needle in needles {
            assert!(err.contains(&needle), "{args:?}: {needle:?} not in {err}");
        }
    }
}

/// Runs `ptyhub serve ARGS`, which must refuse to start: no URL on stdout,
/// `ptyhub: error: ` on stderr. Returns stderr.
fn refused_at_start(pki: &Pki, args: &[&str]) -> String {
    let out = Command::new(bin())
        .arg("serve")
        .args(args)
        .env("PTYHUB_TOKEN", TOKEN)
        .env("XDG_RUNTIME_DIR", pki.dir.dir())
        .env_remove("PTYHUB_CONFIG")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{args:?} started: {err}");
    assert!(out.stdout.is_empty(), "{args:?} printed a URL");
    assert!(err.starts_with("ptyhub: error: "), "{err}");
    err
}

/// `[cluster]` with TLS is refused: the nodes talk plain HTTP to each
/// other (docs/cluster.md, what is not built).
#[test]
fn tls_on_a_cluster_node_is_refused_at_start() {
    let pki = Pki::new();
    let config = pki.path("cluster.toml");
    std::fs::write(
        &config,
        format!(
            "{}[cluster]\nredis_url = \"redis://127.0.0.1:1/0\"\nnode = \"n\"\n\
             advertise_url = \"http://127.0.0.1:1\"\n",
            pki.config()
        ),
    )
    .unwrap();
    let err = refused_at_start(
        &pki,
        &[
            "--bind",
            "127.0.0.1:0",
            "--config",
            config.to_str().unwrap(),
        ],
    );
    assert!(
        err.contains("cluster") && err.contains("plain HTTP"),
        "{err}"
    );
}

/// The shell block that follows `marker` in README.md.
fn readme_block(marker: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
    let readme = std::fs::read_to_string(path).expect("README.md");
    let after = &readme[readme.find(marker).expect("the marker is in README.md")..];
    let start = after.find("```sh\n").expect("a shell block follows") + "```sh\n".len();
    let end = start + after[start..].find("```").expect("the block ends");
    after[start..end].to_owned()
}

/// The README's TLS example: its `openssl` command makes a certificate
/// that the server serves and that the client, given it with `--ca`,
/// trusts.
#[tokio::test]
async fn the_readme_s_openssl_certificate_works_with_ca() {
    let block = readme_block("Serve HTTPS without a proxy");
    let openssl = block.replace("\\\n", " ");
    let openssl = openssl
        .lines()
        .find(|l| l.trim_start().starts_with("openssl "))
        .expect("the block makes a certificate with openssl");
    let dir = TempDir::new("readme-tls");
    let made = Command::new("sh")
        .args(["-c", openssl])
        .current_dir(dir.dir())
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    assert!(
        block.contains("--tls-cert ptyhub.crt --tls-key ptyhub.key"),
        "{block}"
    );
    assert!(block.contains("--ca ptyhub.crt"), "{block}");
    let config = format!(
        "tls_cert = \"{}\"\ntls_key = \"{}\"\n",
        dir.path("ptyhub.crt").display(),
        dir.path("ptyhub.key").display()
    );
    let mut server = TestServer::start_with(&config, &[]);
    server.http = https_client(&std::fs::read(dir.path("ptyhub.crt")).unwrap());
    server.create(&["cat"]).await;
    let rt = TempDir::new("rt");
    let crt = dir.path("ptyhub.crt");
    let listed = run(
        client_for(&server.base, &rt),
        &["ls", "--json", "--ca", crt.to_str().unwrap()],
        None,
    );
    let listed: Value = serde_json::from_str(listed.ok()).unwrap();
    assert_eq!(listed["sessions"].as_array().unwrap().len(), 1, "{listed}");
}

/// A server on a Unix socket (under a `base_path`, as its printed URL
/// says): the client's HTTP calls and its WebSocket attach over the socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_talks_over_a_unix_socket() {
    let dir = TempDir::new("unix");
    let sock = dir.path("ptyhub.sock");
    let config = dir.path("c.toml");
    std::fs::write(
        &config,
        format!(
            "bind = \"unix:{}\"\nterminate_grace = \"1s\"\n",
            sock.display()
        ),
    )
    .unwrap();
    let mut server = Command::new(bin())
        .args(["serve", "--base-path", "/pty", "--config"])
        .arg(&config)
        .env("PTYHUB_TOKEN", TOKEN)
        .env("XDG_RUNTIME_DIR", dir.dir())
        .env("HOME", dir.dir())
        .env("SHELL", "/bin/bash")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map(Stopped)
        .unwrap();
    let up = common::wait_for(DEADLINE, || sock.exists());
    assert!(up, "the socket appears");
    let url = format!("unix:{}/pty", sock.display());
    let rt = TempDir::new("rt");

    let created = run(
        client_for(&url, &rt),
        &["new", "--name", "by-socket", "--json"],
        None,
    );
    let created: Value = serde_json::from_str(created.ok()).unwrap();
    assert_eq!(created["name"], "by-socket");
    run(
        client_for(&url, &rt),
        &["send", "by-socket", "echo sock-$((6*7))"],
        None,
    )
    .ok();
    let mut screen = String::new();
    let shown = common::wait_for(DEADLINE, || {
        screen = run(client_for(&url, &rt), &["screen", "by-socket"], None)
            .ok()
            .to_owned();
        screen.contains("sock-42")
    });
    assert!(shown, "{screen}");

    // The WebSocket over the socket: attach in a real terminal.
    let env = [
        ("PTYHUB_URL", url.as_str()),
        ("PTYHUB_TOKEN", TOKEN),
        ("XDG_RUNTIME_DIR", rt.dir().to_str().unwrap()),
    ];
    attach_type_detach(
        &env,
        "by-socket",
        "sock-42",
        "echo attached-$((8*8))",
        "attached-64",
    );

    // No server at a socket path: one clear line.
    let gone = run(
        client_for(&format!("unix:{}", dir.path("none.sock").display()), &rt),
        &["ls"],
        None,
    );
    assert!(
        gone.error().contains("no ptyhub server at unix:"),
        "{gone:?}"
    );

    run(client_for(&url, &rt), &["kill", "by-socket"], None).ok();
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&server.0),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    assert!(server.0.wait().unwrap().success());
    assert!(!sock.exists(), "the socket is removed at exit");
}

/// `ptyhub attach NAME` in a real terminal, the server as `env` says: the
/// screen shows `seen`, `command` typed shows `echoed`, then Ctrl-\ d
/// detaches and the client exits 0.
fn attach_type_detach(env: &[(&str, &str)], name: &str, seen: &str, command: &str, echoed: &str) {
    let script = r#""$0" "$@"; echo "rc=$?""#;
    let mut pty = Pty::spawn(script, &[bin(), "attach", name], env, 80, 24);
    pty.expect(seen);
    pty.type_bytes(format!("{command}\r").as_bytes());
    pty.expect(echoed);
    pty.type_bytes(b"\x1cd");
    assert_eq!(pty.wait(), 0);
    pty.expect("rc=0");
}

/// A server process stopped (SIGTERM, then waited for) when the test ends,
/// also when an assertion failed first.
struct Stopped(std::process::Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = rustix::process::kill_process(
                rustix::process::Pid::from_child(&self.0),
                rustix::process::Signal::TERM,
            );
            let _ = self.0.wait();
        }
    }
}
