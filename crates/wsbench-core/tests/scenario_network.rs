//! `[network]` in scenarios: the link's settings read as written, each mistake located
//! before anything starts.

mod common;

use common::*;

#[test]
fn a_links_settings_are_read_as_written() {
    let s = parse(&format!(
        "{VALID}\n[network]\ndelay = \"25ms\"\njitter = \"5ms\"\nloss = 0.01\nrate = \"1mbit\"\n"
    ))
    .unwrap();
    let n = s.network.expect("a link");
    assert_eq!(n.delay.0.as_millis(), 25);
    assert_eq!(n.jitter.0.as_millis(), 5);
    assert_eq!(n.loss, 0.01);
    assert_eq!(n.rate_bits, Some(1_000_000));
    assert!(parse(VALID).unwrap().network.is_none());
}

#[test]
fn network_mistakes_are_located_all_at_once() {
    let text = format!(
        "{VALID}\n[network]\ndelay = \"-5ms\"\nloss = 1.5\nrate = \"fast\"\nreorder = 0.1\n"
    );
    let err = parse(&text).expect_err("four mistakes");
    for expected in [
        "scenarios/x.toml:15:9: network.delay:",
        "scenarios/x.toml:16:8: network.loss: is a share of packets, from 0 up to (not including) 1, not 1.5",
        "scenarios/x.toml:17:8: network.rate: `fast` is not a rate",
        "network.reorder",
    ] {
        assert!(err.contains(expected), "expected «{expected}», got «{err}»");
    }
    let jitter = format!("{VALID}\n[network]\ndelay = \"5ms\"\njitter = \"10ms\"\n");
    let err = parse(&jitter).expect_err("jitter over delay");
    assert!(
        err.contains("network.jitter: must be at most delay"),
        "{err}"
    );
}
