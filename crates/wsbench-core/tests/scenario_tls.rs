//! TLS in scenarios: `tls`, `tls_ca_file`, `tls_insecure`, a system's own `tls`, and
//! `wss://`/`https://` targets, each mistake located before anything starts.

use std::path::PathBuf;

use wsbench_core::scenario::TlsTrust;
use wsbench_core::system::TlsFiles;

mod common;

use common::*;

const NODE_TLS: &str = r#"
[systems.node-ws]
protocol = "ws"
command = ["node", "servers/node/ws-server.js"]
env = { PORT = "{port}", TLS_CERT = "{cert}", TLS_KEY = "{key}" }
tls = true
"#;

/// A system with its own `tls = true` is served with the run's certificate through its
/// placeholders; a `wss://` target is spoken to over TLS; the others stay plain.
#[test]
fn a_systems_tls_and_a_secure_target_are_spoken_to_over_tls() {
    let text = with_line(
        "transports",
        "transports = [\"ws\", \"socketio\", \"node-ws\"]",
    ) + "\n[target]\nsocketio = \"https://127.0.0.1:9/\"\n"
        + NODE_TLS;
    let s = parse(&text).unwrap();
    let tls = |n: &str| s.system(&n.parse().unwrap()).unwrap().tls;
    assert_eq!(
        (tls("ws"), tls("socketio"), tls("node-ws")),
        (false, true, true)
    );
    assert_eq!(s.tls_trust, TlsTrust::System);
    let node = s.system(&"node-ws".parse().unwrap()).unwrap();
    let wsbench_core::system::ServerSpec::Command(spec) = &node.server else {
        panic!("{node:?}");
    };
    let files = TlsFiles {
        ca: PathBuf::from("/r/tls/ca.pem"),
        cert: PathBuf::from("/r/tls/cert.pem"),
        key: PathBuf::from("/r/tls/key.pem"),
    };
    let env = spec.env(4242, Some(&files));
    assert!(
        env.contains(&("TLS_CERT".to_owned(), "/r/tls/cert.pem".to_owned())),
        "{env:?}"
    );
    assert!(
        env.contains(&("TLS_KEY".to_owned(), "/r/tls/key.pem".to_owned())),
        "{env:?}"
    );
    assert!(
        parse(&format!("{VALID}tls_insecure = true\n"))
            .unwrap()
            .tls_trust
            == TlsTrust::Insecure
    );
}

#[test]
fn tls_mistakes_are_located_and_say_what_to_do() {
    let pem = std::env::temp_dir().join(format!("wsbench-ca-{}.pem", std::process::id()));
    std::fs::write(&pem, "-----BEGIN CERTIFICATE-----\n").unwrap();
    std::fs::write(pem.with_extension("txt"), "not a certificate\n").unwrap();
    let cases = [
        (
            format!("{VALID}tls = \"yes\"\n"),
            "scenarios/x.toml:13:7: tls: must be true or false, not",
        ),
        (
            format!("{VALID}tls_ca_file = \"no/such/ca.pem\"\n"),
            "scenarios/x.toml:13:15: tls_ca_file: cannot read scenarios/no/such/ca.pem",
        ),
        (
            format!(
                "{VALID}tls_insecure = true\ntls_ca_file = \"{}\"\n",
                pem.display()
            ),
            "scenarios/x.toml:13:16: tls_insecure: trusts any certificate: it cannot be \
             combined with tls_ca_file",
        ),
        (
            format!(
                "{VALID}tls_ca_file = \"{}\"\n",
                pem.with_extension("txt").display()
            ),
            "holds no PEM certificate",
        ),
        (
            with_line("transports", "transports = [\"node-ws\"]")
                + &NODE_TLS.replace(", TLS_CERT = \"{cert}\", TLS_KEY = \"{key}\"", ""),
            "tls: node-ws is served over TLS but its server is not given the run's \
             certificate: put {cert} and {key} in its command or env",
        ),
        (
            with_line("transports", "transports = [\"socketio-polling\"]")
                + "\n[target]\nsocketio-polling = \"https://127.0.0.1:9/\"\n",
            "tls: socketio-polling's clients are rust_socketio's, which speak plain http:// only",
        ),
    ];
    for (text, expected) in &cases {
        let err = parse(text).expect_err(expected);
        assert!(err.contains(expected), "expected «{expected}», got «{err}»");
    }
    let _ = std::fs::remove_file(pem.with_extension("txt"));
    let _ = std::fs::remove_file(pem);
    // The built-in servers are given the run's certificate.
    let s = parse(&format!("{VALID}tls = true\n")).unwrap();
    assert!(s.systems().iter().all(|s| s.tls));
}

/// `--tls-insecure` and `--tls-ca-file` replace the file's trust for one run; given
/// together they are refused, naming the flag.
#[test]
fn the_command_lines_trust_replaces_the_files() {
    use wsbench_core::scenario::{Overrides, Scenario};
    let file = std::path::Path::new("scenarios/x.toml");
    let insecure = Overrides {
        tls_insecure: true,
        ..Default::default()
    };
    let s = Scenario::parse(file, VALID, &insecure).unwrap();
    assert_eq!(s.tls_trust, TlsTrust::Insecure);
    let both = Overrides {
        tls_ca_file: Some(PathBuf::from("ca.pem")),
        ..insecure
    };
    let err = Scenario::parse(file, VALID, &both).unwrap_err().to_string();
    assert!(
        err.contains("--tls-insecure: trusts any certificate"),
        "{err}"
    );
    let missing = Overrides {
        tls_ca_file: Some(PathBuf::from("no/such/ca.pem")),
        ..Default::default()
    };
    let err = Scenario::parse(file, VALID, &missing)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("--tls-ca-file: no/such/ca.pem holds no readable PEM"),
        "{err}"
    );
}
