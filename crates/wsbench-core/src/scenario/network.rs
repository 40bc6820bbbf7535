//! `[network]`: an emulated link (Linux netem) that every packet between the clients and
//! the servers crosses: one-way delay and its jitter, a share of packets lost, a rate. The
//! run applies it in a network namespace of its own (docs/method.md, "An emulated link").

use serde::{Deserialize, Serialize};

use super::HumanDuration;
use super::checker::{Checker, Fields};

/// The link's settings, as netem takes them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Network {
    /// Added to every packet, each way (a round trip pays it twice).
    #[serde(default)]
    pub delay: HumanDuration,
    /// Each packet's delay varies by up to this much either side of `delay`.
    #[serde(default)]
    pub jitter: HumanDuration,
    /// Share of packets dropped, each way (0.01: 1%); TCP retransmits them.
    #[serde(default)]
    pub loss: f64,
    /// Bits per second the link carries, both ways together (`None`: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_bits: Option<u64>,
}

impl Network {
    /// Whether it needs netem (a delay, jitter or loss); a rate alone is a token bucket.
    pub fn needs_netem(&self) -> bool {
        !self.delay.0.is_zero() || !self.jitter.0.is_zero() || self.loss > 0.0
    }

    /// The queueing discipline that makes the link (`tc qdisc add dev lo root ARGS`):
    /// netem for a delay, jitter or loss (with the rate, if any), a token bucket (tbf) for
    /// a rate alone; empty for no setting at all.
    pub fn qdisc_args(&self) -> Vec<String> {
        if self.needs_netem() {
            let mut args = vec!["netem".to_owned()];
            args.extend(self.netem_args());
            return args;
        }
        let Some(bits) = self.rate_bits else {
            return Vec::new();
        };
        // A bucket of 10 ms at the rate, and at least two full frames; packets wait up
        // to a second for tokens before the queue drops them (as a real link's buffer).
        let burst = (bits / 8 / 100).max(3_100);
        [
            "tbf",
            "rate",
            &format!("{bits}bit"),
            "burst",
            &burst.to_string(),
            "latency",
            "1s",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// The netem arguments (`tc qdisc add dev lo root netem ARGS`).
    fn netem_args(&self) -> Vec<String> {
        let us = |d: HumanDuration| format!("{}us", d.0.as_micros());
        let mut args = vec!["delay".to_owned(), us(self.delay)];
        if !self.jitter.0.is_zero() {
            args.push(us(self.jitter));
        }
        if self.loss > 0.0 {
            args.extend(["loss".to_owned(), format!("{}%", self.loss * 100.0)]);
        }
        if let Some(bits) = self.rate_bits {
            args.extend(["rate".to_owned(), format!("{bits}bit")]);
        }
        args
    }

    /// In words, for the method notes and the terminal: what it sets.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.delay.0.is_zero() || !self.jitter.0.is_zero() {
            let jitter = if self.jitter.0.is_zero() {
                String::new()
            } else {
                format!(" ± {}", self.jitter)
            };
            parts.push(format!("{}{jitter} of delay each way", self.delay));
        }
        if self.loss > 0.0 {
            parts.push(format!("{}% of packets lost each way", self.loss * 100.0));
        }
        if let Some(bits) = self.rate_bits {
            parts.push(format!("{} kbit/s", bits / 1000));
        }
        if parts.is_empty() {
            parts.push("no delay, loss or rate".to_owned());
        }
        parts.join(", ")
    }
}

/// Reads a rate as tc writes one: `1mbit`, `500kbit`, `2gbit`, `64000bit`.
fn rate(text: &str) -> Option<u64> {
    let t = text.trim().to_ascii_lowercase();
    let (n, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit() && c != '.')?);
    let scale = match unit {
        "bit" => 1.0,
        "kbit" => 1e3,
        "mbit" => 1e6,
        "gbit" => 1e9,
        _ => return None,
    };
    let bits = n.parse::<f64>().ok()? * scale;
    (bits >= 8_000.0 && bits.is_finite()).then_some(bits as u64)
}

/// `[network]`: `Some(None)` without one, `None` where a value is wrong (reported).
pub(super) fn network(check: &Checker<'_>, f: &Fields<'_>) -> Option<Option<Network>> {
    let Some(v) = f.get("network") else {
        return Some(None);
    };
    let t = Fields::new(check.table("network", v)?, "network", v.span.clone());
    let duration = |key: &str, max_ms: u64| match t.get(key) {
        None => Some(HumanDuration::default()),
        Some(d) => {
            let got = check.duration(&t.name(key), d)?;
            if got.0.as_millis() > u128::from(max_ms) {
                return check.fail(
                    d.span.clone(),
                    &t.name(key),
                    format!("must be at most {max_ms}ms, not {got}"),
                );
            }
            Some(got)
        }
    };
    let delay = duration("delay", 10_000);
    let jitter = duration("jitter", 10_000);
    let loss = match t.get("loss") {
        None => Some(0.0),
        Some(l) => check.number(&t.name("loss"), l).and_then(|n| {
            if (0.0..1.0).contains(&n) {
                Some(n)
            } else {
                check.fail(
                    l.span.clone(),
                    &t.name("loss"),
                    format!("is a share of packets, from 0 up to (not including) 1, not {n}"),
                )
            }
        }),
    };
    let rate_bits = match t.get("rate") {
        None => Some(None),
        Some(r) => check
            .string(&t.name("rate"), r)
            .and_then(|s| match rate(s) {
                Some(bits) => Some(Some(bits)),
                None => check.fail(
                    r.span.clone(),
                    &t.name("rate"),
                    format!(
                        "`{s}` is not a rate: a number and kbit, mbit or gbit (at least 8kbit), \
                     e.g. \"1mbit\""
                    ),
                ),
            }),
    };
    t.reject_unknown(check, &["delay", "jitter", "loss", "rate"]);
    let (delay, jitter) = (delay?, jitter?);
    if jitter > delay {
        let span = t.get("jitter").map_or(v.span.clone(), |j| j.span.clone());
        return check.fail(span, "network.jitter", "must be at most delay");
    }
    Some(Some(Network {
        delay,
        jitter,
        loss: loss?,
        rate_bits: rate_bits?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_as_tc_writes_them() {
        assert_eq!(rate("1mbit"), Some(1_000_000));
        assert_eq!(rate("1.5Mbit"), Some(1_500_000));
        assert_eq!(rate("500kbit"), Some(500_000));
        assert_eq!(rate("10"), None);
        assert_eq!(rate("1mb"), None);
        assert_eq!(rate("100bit"), None);
    }

    #[test]
    fn netem_is_given_microseconds_and_percentages() {
        let n = Network {
            delay: HumanDuration(std::time::Duration::from_millis(25)),
            jitter: HumanDuration(std::time::Duration::from_millis(5)),
            loss: 0.01,
            rate_bits: Some(1_000_000),
        };
        assert_eq!(
            n.qdisc_args().join(" "),
            "netem delay 25000us 5000us loss 1% rate 1000000bit"
        );
        let rate = Network {
            rate_bits: Some(1_000_000),
            ..Network::default()
        };
        assert!(!rate.needs_netem());
        assert_eq!(
            rate.qdisc_args().join(" "),
            "tbf rate 1000000bit burst 3100 latency 1s"
        );
        assert!(Network::default().qdisc_args().is_empty());
    }
}
