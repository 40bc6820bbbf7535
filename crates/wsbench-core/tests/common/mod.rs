//! What the scenario tests share: a valid scenario and its parser.
#![allow(dead_code)]

use std::path::Path;

use wsbench_core::scenario::{Overrides, Scenario};
use wsbench_core::system::{Protocol, SystemName};

pub fn name(p: Protocol) -> SystemName {
    SystemName::of(p)
}

pub const VALID: &str = r#"name = "fanout"
transports = ["ws", "socketio"]
clients = 1000
ramp = "2s"
senders = 10
rate = 10
payload = 64
encoding = "text"
warmup = "5s"
duration = "20s"
drain = "2s"
repeat = 1
"#;

pub fn parse(text: &str) -> Result<Scenario, String> {
    Scenario::parse(Path::new("scenarios/x.toml"), text, &Overrides::default())
        .map_err(|e| e.to_string())
}

/// The valid scenario with one line replaced (or removed when `with` is empty).
pub fn with_line(starts: &str, with: &str) -> String {
    VALID
        .lines()
        .filter_map(|l| {
            if l.starts_with(starts) {
                (!with.is_empty()).then(|| with.to_owned())
            } else {
                Some(l.to_owned())
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
