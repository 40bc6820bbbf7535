//! Compression and payloads in scenarios: `compression` at the top and in a system's
//! table, what the clients offer, `payload_kind`, each mistake located before anything
//! starts.

use wsbench_core::scenario::{DeflateOffer, PayloadKind};

mod common;

use common::*;

const NODE_DEFLATE: &str = r#"
[systems.node-ws]
protocol = "ws"
command = ["node", "servers/node/ws-server.js"]
env = { PORT = "{port}", COMPRESSION = "1" }
compression = true
"#;

/// A system's own `compression = true` makes its clients offer it, the others do not;
/// at the top it covers every system, with the offer's settings.
#[test]
fn compression_is_offered_where_the_scenario_says() {
    let text = with_line("transports", "transports = [\"ws\", \"node-ws\"]") + NODE_DEFLATE;
    let s = parse(&text).unwrap();
    let offered = |n: &str| s.system(&n.parse().unwrap()).unwrap().compression;
    assert_eq!((offered("ws"), offered("node-ws")), (false, true));
    assert_eq!(s.deflate, DeflateOffer::default());
    assert_eq!(s.payload_kind, PayloadKind::Padded);
    let all = format!(
        "{}\ncompression = true\ncompression_window_bits = 10\n\
         compression_no_context_takeover = true\n",
        with_line("payload", "payload = 512\npayload_kind = \"json\"")
    );
    let s = parse(&all).unwrap();
    assert!(s.systems().iter().all(|s| s.compression));
    assert_eq!(
        s.deflate.header(),
        "permessage-deflate; client_max_window_bits; server_max_window_bits=10; \
         server_no_context_takeover; client_no_context_takeover"
    );
    assert_eq!(s.payload_kind, PayloadKind::Json);
}

#[test]
fn compression_and_payload_mistakes_are_located() {
    let least = PayloadKind::Json.min_payload();
    let cases = [
        (
            format!("{VALID}compression = \"yes\"\n"),
            "scenarios/x.toml:13:15: compression: must be true or false".to_owned(),
        ),
        (
            format!("{VALID}compression_window_bits = 16\n"),
            "scenarios/x.toml:13:27: compression_window_bits: must be".to_owned(),
        ),
        (
            format!("{VALID}payload_kind = \"lorem\"\n"),
            "scenarios/x.toml:13:16: payload_kind: unknown payload kind 'lorem' (expected \
             padded, random or json)"
                .to_owned(),
        ),
        (
            format!("{VALID}payload_kind = \"json\"\n"),
            format!(
                "scenarios/x.toml:7:11: payload: payload_kind = \"json\" needs at least \
                 {least} bytes, not 64"
            ),
        ),
        (
            with_line("transports", "transports = [\"socketio-polling\"]")
                + "\ncompression = true\n",
            "compression: socketio-polling's clients are rust_socketio's, which offer no \
             permessage-deflate"
                .to_owned(),
        ),
    ];
    for (text, expected) in &cases {
        let err = parse(text).expect_err(expected);
        assert!(err.contains(expected), "expected «{expected}», got «{err}»");
    }
}
