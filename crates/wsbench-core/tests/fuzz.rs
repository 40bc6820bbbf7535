//! Property tests: no input makes the scenario parser or the probe parser panic, and what
//! they accept round-trips. `PROPTEST_CASES` sets how many inputs each tries (`.ci/run` asks
//! for more than the default).

use std::path::Path;

use proptest::prelude::*;
use wsbench_core::probe::Probe;
use wsbench_core::scenario::{Overrides, Scenario};

/// Scenario lines of every kind the parser reads, some right, most wrong.
fn scenario_line() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "name",
        "transports",
        "clients",
        "ramp",
        "mode",
        "room_size",
        "senders",
        "rate",
        "payload",
        "encoding",
        "warmup",
        "duration",
        "drain",
        "repeat",
        "workers",
        "socketio_client",
        "stalled",
        "overflow",
        "queue_capacity",
        "nodes",
        "kill_node_at",
        "at",
        "down",
        "field",
        "start",
        "factor",
        "step",
        "max",
        "p99",
        "loss",
        "bisect",
        "common_load",
        "tls_resumption",
        "upgrade",
        "sticky",
        "ws",
        "socketio",
        "nonsense",
    ]);
    let value = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:?}")),
        "[a-z0-9 .:/-]{0,12}".prop_map(|s| format!("\"{s}\"")),
        prop::sample::select(vec![
            "\"ws\"",
            "[\"ws\", \"socketio\"]",
            "[]",
            "[1, 2]",
            "\"20s\"",
            "\"0s\"",
            "\"99999999h\"",
            "true",
            "{}",
            "[[1]]",
            "\"rooms\"",
            "\"echo\"",
            "0.5",
        ])
        .prop_map(str::to_owned),
    ];
    prop_oneof![
        (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
        prop::sample::select(vec![
            "[outage]",
            "[proxy]",
            "[search]",
            "[target]",
            "[thresholds]",
            "[thresholds.ws]",
            "[",
            "=",
            "\"\"\""
        ])
        .prop_map(str::to_owned),
        "\\PC{0,20}",
    ]
}

proptest! {
    #[test]
    fn no_scenario_text_makes_the_parser_panic(lines in prop::collection::vec(scenario_line(), 0..24)) {
        let text = lines.join("\n");
        let parsed = Scenario::parse(Path::new("fuzz.toml"), &text, &Overrides::default());
        if let Err(errors) = parsed {
            // Every mistake is located and says something.
            prop_assert!(!errors.0.is_empty());
            for e in &errors.0 {
                prop_assert!(e.line >= 1 && e.column >= 1, "{e}");
                prop_assert!(!e.message.is_empty(), "{e}");
            }
        }
    }

    #[test]
    fn arbitrary_bytes_parse_as_a_probe_or_not_at_all(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = Probe::decode(&bytes);
    }

    #[test]
    fn every_probe_round_trips(sender in any::<u32>(), seq in any::<u64>(), intended in any::<u64>(), extra in 0usize..2000) {
        let probe = Probe { sender, seq, intended_ns: intended };
        let bytes = probe.encode(wsbench_core::probe::HEADER_LEN + extra);
        prop_assert_eq!(Probe::decode(&bytes), Some(probe));
    }
}
