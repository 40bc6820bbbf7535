//! `[proxy]` in scenarios: its settings read as written, in front of one server or of a
//! cluster, and each mistake located before anything starts.

mod common;

use common::*;

#[test]
fn a_proxys_settings_are_read_as_written() {
    let plain = parse(&format!("{VALID}\n[proxy]\n")).unwrap();
    let proxy = plain.proxy.expect("a proxy");
    assert!(proxy.upgrade && proxy.sticky.is_none() && proxy.sticky());
    let cluster = format!("{VALID}nodes = 3\n[proxy]\nupgrade = false\nsticky = false\n");
    let proxy = parse(&cluster).unwrap().proxy.expect("a proxy");
    assert!(!proxy.upgrade && !proxy.sticky());
    assert!(parse(VALID).unwrap().proxy.is_none());
}

/// `sticky` in front of one server, a node killed behind the proxy, an unknown key: each
/// said, located, all at once.
#[test]
fn proxy_mistakes_are_located_all_at_once() {
    let one = format!("{VALID}\n[proxy]\nsticky = true\nbalance = \"ip\"\n");
    let err = parse(&one).expect_err("two mistakes");
    for expected in [
        "proxy.sticky: applies in front of a cluster (nodes = 2 or more)",
        "proxy.balance",
    ] {
        assert!(err.contains(expected), "expected «{expected}», got «{err}»");
    }
    let killed = format!("{VALID}nodes = 3\nkill_node_at = \"1s\"\n[proxy]\n");
    let err = parse(&killed).expect_err("a node killed behind the proxy");
    assert!(
        err.contains("kill_node_at: cannot be combined with [proxy] yet"),
        "{err}"
    );
}
