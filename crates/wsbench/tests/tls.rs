//! TLS end to end: servers wsbench starts over TLS with a certificate made for the run,
//! targets at `wss://` trusted through a CA file or not at all, and what a client that
//! does not trust the server's certificate reports.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::*;

/// The seed's Node servers, each plain and over TLS at one load: everything owed arrives
/// over TLS too, the TLS servers' URLs are `wss://`, the records cost bytes on the wire
/// (counted at TCP), the run's CA and certificate are kept beside the result, and the
/// report gives what TLS adds as its own ratio rows.
#[test]
fn the_node_servers_are_measured_plain_and_over_tls() {
    if node_modules("the_node_servers_are_measured_plain_and_over_tls").is_none() {
        return;
    }
    let dir = temp_dir("tls");
    let path = small_of_200(
        &dir,
        "tls.toml",
        &[
            ("senders = 10", "senders = 2"),
            ("repeat = 2", "repeat = 1"),
        ],
    );
    let out = dir.join("out");
    let result = run_ok(&path, &out, &[]);
    assert!(out.join("tls/ca.pem").exists() && out.join("tls/cert.pem").exists());
    let mut wire = std::collections::BTreeMap::new();
    for run in &result.runs {
        let name = run.system.as_str();
        assert!(run.status.measured(), "{name}: {:?}", run.error);
        assert_eq!(run.connections.connected, 20, "{name}");
        assert!(run.messages.sent > 0, "{name}");
        assert_eq!(run.messages.delivered, run.messages.expected, "{name}");
        let secure = name.ends_with("-tls");
        assert_eq!(run.tls, secure, "{name}");
        assert_eq!(
            run.server_url.starts_with("wss://"),
            secure,
            "{}",
            run.server_url
        );
        wire.insert(name.to_owned(), run.wire.bytes_per_delivery);
    }
    for plain in ["node-ws", "node-socketio"] {
        // A record's header and tag (22 bytes with AES-GCM) on every message at least.
        let (p, t) = (wire[plain], wire[&format!("{plain}-tls")]);
        assert!(t >= p + 16.0, "{plain}: {p} B plain, {t} B over TLS");
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("| node-ws-tls/node-ws |"), "{md}");
    assert!(md.contains("| node-socketio-tls/node-ws-tls |"), "{md}");
    assert!(md.contains("### node over TLS"), "{md}");
    assert!(md.contains("## What TLS adds"), "{md}");
    assert!(md.contains("- node-ws-tls: TLS adds +"), "{md}");
    assert!(md.contains("(against node-socketio)"), "{md}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// A `wss://` target: trusted through `tls_ca_file`, every client connects and everything
/// arrives; trusting only the machine's roots, no client can, and the run says it was TLS
/// and what to give; `--tls-ca-file` gives it for one run.
#[test]
fn a_wss_target_is_trusted_through_a_ca_file_and_refused_without_it() {
    if node_modules("a_wss_target_is_trusted_through_a_ca_file_and_refused_without_it").is_none() {
        return;
    }
    let dir = temp_dir("tls-target");
    let (ca, cert, key) = certificates(&dir);
    let port = free_port();
    let server = root().join("servers/node/ws-server.js");
    let mut node = Command::new("node")
        .arg(&server)
        .env("PORT", port.to_string())
        .env("TLS_CERT", &cert)
        .env("TLS_KEY", &key)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_port(port);
    let target = format!("ws=wss://127.0.0.1:{port}/");
    let trusted = small_scenario(
        &dir,
        &[
            (
                "transports = [\"ws\", \"socketio\"]",
                "transports = [\"ws\"]",
            ),
            ("clients = 20", "clients = 10"),
            ("duration = \"2s\"", "duration = \"1s\""),
        ],
        &format!("tls_ca_file = \"{}\"\n", ca.display()),
    );
    let result = run_ok(&trusted, &dir.join("trusted"), &["--target", &target]);
    let run = &result.runs[0];
    assert!(
        run.tls && run.server_url.starts_with("wss://"),
        "{}",
        run.server_url
    );
    assert_eq!(run.connections.connected, 10);
    assert_eq!(run.messages.delivered, run.messages.expected);

    let untrusted = dir.join("untrusted.toml");
    let text = std::fs::read_to_string(&trusted).unwrap();
    let text = text.replace(&format!("tls_ca_file = \"{}\"\n", ca.display()), "");
    std::fs::write(&untrusted, text).unwrap();
    let (code, result) = run_with(&untrusted, &dir.join("untrusted"), &["--target", &target]);
    assert_eq!(code, Some(1));
    let run = &result.runs[0];
    assert_eq!(run.connections.connected, 0);
    assert_eq!(
        run.connections.failures.get("tls"),
        Some(&10),
        "{:?}",
        run.connections
    );
    let error = run.error.as_deref().unwrap_or_default();
    assert!(error.contains("TLS handshake failed"), "{error}");
    let flag = ["--target", &target, "--tls-ca-file", ca.to_str().unwrap()];
    let result = run_ok(&untrusted, &dir.join("flag"), &flag);
    assert_eq!(result.runs[0].connections.connected, 10);
    let _ = node.kill();
    let _ = node.wait();
    std::fs::remove_dir_all(dir).unwrap();
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A CA, and a certificate it signed for 127.0.0.1 with its key, as PEM files in `dir`.
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let paths = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    std::fs::write(&paths.0, ca_cert.pem()).unwrap();
    std::fs::write(&paths.1, cert.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    paths
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the server never listened"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// wsbench's own servers serve TLS given the run's certificate (`tls = true`): everything
/// owed arrives, over `wss://`, each delivery a record on the wire.
#[test]
fn the_built_in_servers_serve_the_runs_certificate() {
    let dir = temp_dir("tls-builtin");
    let path = small_scenario(
        &dir,
        &[("duration = \"2s\"", "duration = \"1s\"")],
        "tls = true\n",
    );
    let result = run_ok(&path, &dir.join("out"), &[]);
    for run in &result.runs {
        let name = run.system.as_str();
        assert!(
            run.tls && run.server_url.starts_with("wss://"),
            "{}",
            run.server_url
        );
        assert_eq!(run.connections.connected, 20, "{name}");
        assert!(run.messages.sent > 0, "{name}");
        assert_eq!(run.messages.delivered, run.messages.expected, "{name}");
        // 64-byte probes: 66 bytes a frame plain, and a record's header and tag over TLS.
        assert!(
            run.wire.bytes_per_delivery >= 66.0 + 16.0,
            "{name}: {:?}",
            run.wire
        );
        // Each client's setup in its steps: TCP connect, TLS handshake, upgrade.
        let c = &run.connections;
        let counts = (c.tcp_time.count, c.tls_time.count, c.upgrade_time.count);
        assert_eq!(counts, (20, 20, 20), "{name}");
        assert!(c.tls_time.p50_us <= c.connect_time.p50_us, "{c:?}");
    }
    let md = std::fs::read_to_string(dir.join("out/report.md")).unwrap();
    assert!(md.contains("TLS handshake p50 ms"), "{md}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Reconnecting over TLS after their server was killed and restarted (with the same
/// certificate and key), clients that keep their session resume it: every reconnection's
/// handshake is a resumed one, counted and said; without `tls_resumption` none is.
#[test]
fn sessions_are_resumed_on_reconnect_when_asked_and_counted() {
    let dir = temp_dir("tls-resume");
    let path = small_reconnect(&dir, "tls = true\ntls_resumption = true");
    let result = run_ok(&path, &dir.join("out"), &[]);
    for run in &result.runs {
        let name = run.system.as_str();
        assert!(run.status.measured() && run.tls, "{name}: {:?}", run.error);
        assert!(run.tls_resumption, "{name}");
        let back = run.outage.as_ref().expect("outage figures").reconnected;
        assert_eq!(back, 20, "{name}");
        let c = &run.connections;
        assert_eq!(c.tls_time.count, 40, "{name}: {c:?}");
        assert_eq!(c.tls_resumed, back, "{name}: {c:?}");
    }
    let md = std::fs::read_to_string(dir.join("out/report.md")).unwrap();
    assert!(md.contains("## TLS session resumption"), "{md}");
    assert!(md.contains("- ws: 20 of 40 TLS handshakes resumed"), "{md}");

    let plain = temp_dir("tls-full");
    let path = small_reconnect(&plain, "tls = true");
    let result = run_ok(&path, &plain.join("out"), &["--transport", "ws"]);
    let c = &result.runs[0].connections;
    assert!(!result.runs[0].tls_resumption);
    assert_eq!((c.tls_time.count, c.tls_resumed), (40, 0), "{c:?}");
    std::fs::remove_dir_all(dir).unwrap();
    std::fs::remove_dir_all(plain).unwrap();
}

/// Over TLS too, clients that stop reading are bounded by the overflow policy (what the
/// socket does not take waits as records, counted) and the others get everything.
#[test]
fn slow_consumers_over_tls_are_bounded_and_the_readers_served() {
    let dir = temp_dir("tls-slow");
    let path = small_slow_consumers(&dir, "tls = true");
    let result = run_ok(&path, &dir.join("out"), &[]);
    for run in &result.runs {
        let t = &run.system;
        assert!(run.status.measured() && run.tls, "{t}: {:?}", run.error);
        assert_eq!(run.messages.expected, run.messages.sent * 7, "{t}");
        assert_eq!(run.messages.delivered, run.messages.expected, "{t}");
        let counters = run.server.as_ref().unwrap().counters.unwrap();
        assert!(counters.deliveries_dropped > 0, "{t}: {counters:?}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// `wsbench serve --tls` says where clients connect: `wss://` for raw WebSocket, `https://`
/// for Socket.IO.
#[test]
fn serve_with_tls_says_its_secure_url() {
    use std::io::BufRead;
    for (server, scheme) in [("ws", "wss://"), ("socketio", "https://")] {
        let mut child = wsbench()
            .args(["serve", server, "--tls"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let _ = child.kill();
        let _ = child.wait();
        let event = wsbench_core::control::ServeEvent::from_line(&line).unwrap();
        let wsbench_core::control::ServeEvent::Ready { url, addr, .. } = event else {
            panic!("{line}");
        };
        assert_eq!(url, Some(format!("{scheme}{addr}/")), "{line}");
    }
}

/// `wsbench serve --tls-cert --tls-key` with a key that is not the certificate's, or files
/// that are not PEM: exit 2 before anything listens, naming the flags and the reason.
#[test]
fn a_certificate_and_key_that_cannot_be_served_are_refused_before_listening() {
    let dir = temp_dir("tls-bad-pair");
    let (first, second) = (dir.join("a"), dir.join("b"));
    std::fs::create_dir_all(&first).unwrap();
    std::fs::create_dir_all(&second).unwrap();
    let (_, cert, _) = certificates(&first);
    let (_, _, other_key) = certificates(&second);
    let not_pem = dir.join("not.pem");
    std::fs::write(&not_pem, "hello\n").unwrap();
    for (cert, key, why) in [
        (&cert, &other_key, "the certificate and key"),
        (&not_pem, &other_key, "no certificate"),
        (&cert, &not_pem, "not a PEM key"),
    ] {
        let out = wsbench()
            .args(["serve", "ws", "--listen", "127.0.0.1:0", "--tls-cert"])
            .arg(cert)
            .arg("--tls-key")
            .arg(key)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{why}: {stderr}");
        assert!(
            stderr.contains("--tls-cert/--tls-key") && stderr.contains(why),
            "{stderr}"
        );
        assert!(!String::from_utf8_lossy(&out.stdout).contains("ready"));
    }
    std::fs::remove_dir_all(dir).unwrap();
}
