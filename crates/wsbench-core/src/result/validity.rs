//! Whether a run's figures can carry a verdict (docs/method.md, "Validity"). A figure is
//! only as good as its run: one taken on a busy machine, with a load generator that waited
//! for a CPU, or from a system that did not deliver what it owed, describes the run rather
//! than the system, and a comparison drawn from it would say so wrongly. Each run says why,
//! and reports give no timing verdict from such runs.

use serde::{Deserialize, Serialize};

use super::SystemRun;
use super::blocks::median_of;

/// Above this share of the machine's CPU going to other work (median block), timings are
/// the other work's as much as the systems'. Measured on the project's 2-core VM: quiet,
/// median blocks of 13-29% (kernel threads and the host's other guests count too); beside
/// one busy loop 41%, beside two 46-51%.
pub const MAX_INTERFERENCE: f64 = 0.35;
/// Above this share of the time the load generator's threads wanted a CPU spent waiting for
/// one (median block), it measured its own queueing: probes were read late. Where the load
/// generator shares two cores with the server at fanout.toml's load it waits about half the
/// time (0.39-0.57 per block on the project's 2-core VM, measured); with two busy loops
/// beside it, 0.64-0.66.
pub const MAX_LOADGEN_WAIT: f64 = 0.60;

/// Whether a run's figures can carry a verdict, and why not.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Validity {
    /// No reason below.
    pub valid: bool,
    /// Why its figures cannot carry a verdict.
    pub reasons: Vec<Reason>,
}

impl Validity {
    /// The validity of a run with these reasons.
    pub fn of(reasons: Vec<Reason>) -> Validity {
        Validity {
            valid: reasons.is_empty(),
            reasons,
        }
    }

    /// Only the reasons whose kind `keep` picks.
    pub fn only(self, keep: impl Fn(ReasonKind) -> bool) -> Validity {
        Validity::of(self.reasons.into_iter().filter(|r| keep(r.kind)).collect())
    }
}

/// One reason a run is not valid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Reason {
    /// What kind of reason.
    pub kind: ReasonKind,
    /// In words, with the figures behind it.
    pub detail: String,
}

/// The kinds of [`Reason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ReasonKind {
    /// Other work (other processes, other guests) took more than [`MAX_INTERFERENCE`] of
    /// the machine.
    MachineBusy,
    /// The load generator waited for a CPU more than [`MAX_LOADGEN_WAIT`] of the time, or
    /// used nearly all it had.
    LoadGeneratorStarved,
    /// The system delivered less than it owed by the end of the drain: saturated at this
    /// load, or behind (the loss's causes are in the run's backlog).
    Lossy,
    /// The server dropped deliveries by its overflow policy.
    ServerDropped,
}

impl ReasonKind {
    /// Whether it is the run's conditions, not the system: then no comparison of speed
    /// holds; otherwise the system's own shortfall, a finding about its capacity.
    pub fn is_conditions(self) -> bool {
        matches!(
            self,
            ReasonKind::MachineBusy | ReasonKind::LoadGeneratorStarved
        )
    }

    /// The short word reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonKind::MachineBusy => "machine busy",
            ReasonKind::LoadGeneratorStarved => "load generator starved",
            ReasonKind::Lossy => "lossy",
            ReasonKind::ServerDropped => "server dropped",
        }
    }

    /// What a user can do about it.
    pub fn advice(self) -> &'static str {
        match self {
            ReasonKind::MachineBusy => "run it on a quieter machine (stop other work)",
            ReasonKind::LoadGeneratorStarved => {
                "give the load generator its own cores (--server-cpus, --loadgen-cpus), or \
                 lower the load"
            }
            ReasonKind::Lossy | ReasonKind::ServerDropped => {
                "lower the load to one every system carries, or find each one's capacity \
                 with a [search]"
            }
        }
    }
}

/// Where deliveries not made by the drain's end were, read at that moment: what a loss is
/// attributed to (dropped by the server's policy, unread by the server, unread by the
/// clients). Byte counts compare what one side wrote with what the other read, at the
/// TCP payload level, over the whole run; `None` where a side did not count.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Backlog {
    /// Deliveries the server dropped by its overflow policy, from the window's start to
    /// the drain's end.
    pub server_dropped: Option<u64>,
    /// Clients the server disconnected for not keeping up, over the same span.
    pub server_kicked: Option<u64>,
    /// Bytes the clients had written that the server had not read.
    pub server_unread_bytes: Option<u64>,
    /// Bytes the server had written that the clients had not read.
    pub clients_unread_bytes: Option<u64>,
}

impl Backlog {
    /// The loss's causes in words: "0 dropped by the server's policy; 12 KiB sent by the
    /// clients unread by the server; 2 MiB written by the server unread by the clients".
    pub fn describe(&self) -> String {
        let kib = |b: u64| format!("{:.1} KiB", b as f64 / 1024.0);
        let mut parts = Vec::new();
        if let Some(d) = self.server_dropped {
            parts.push(format!("{d} dropped by the server's overflow policy"));
        }
        if let Some(b) = self.server_unread_bytes {
            parts.push(format!(
                "{} from the clients still unread by the server",
                kib(b)
            ));
        }
        if let Some(b) = self.clients_unread_bytes {
            parts.push(format!(
                "{} from the server still unread by the clients",
                kib(b)
            ));
        }
        if parts.is_empty() {
            "no server counters to attribute it".to_owned()
        } else {
            format!("at the drain's end: {}", parts.join("; "))
        }
    }
}

/// Judges `run` from its own figures.
pub fn judge(run: &SystemRun) -> Validity {
    let mut reasons = Vec::new();
    let mut add = |kind, detail| reasons.push(Reason { kind, detail });
    if let Some(busy) = median_of(&run.blocks, super::Block::interference)
        && busy > MAX_INTERFERENCE
    {
        add(
            ReasonKind::MachineBusy,
            format!(
                "{:.0}% of the machine's CPU went to other work (median block; at most {:.0}% \
                 for a verdict)",
                busy * 100.0,
                MAX_INTERFERENCE * 100.0
            ),
        );
    }
    let wait = median_of(&run.blocks, |b| b.loadgen_wait);
    if run.loadgen.bound || wait.is_some_and(|w| w > MAX_LOADGEN_WAIT) {
        add(
            ReasonKind::LoadGeneratorStarved,
            format!(
                "the load generator {}",
                match wait {
                    Some(w) if w > MAX_LOADGEN_WAIT => format!(
                        "waited for a CPU {:.0}% of the time its threads wanted one (median \
                         block; at most {:.0}% for a verdict)",
                        w * 100.0,
                        MAX_LOADGEN_WAIT * 100.0
                    ),
                    _ => format!(
                        "used {:.0}% of the CPU it had",
                        run.loadgen.cpu_utilisation * 100.0
                    ),
                }
            ),
        );
    }
    if planned_failure(run) {
        // The loss is the scenario's own: a server or node killed on purpose.
        return Validity::of(reasons);
    }
    let m = &run.messages;
    let dropped = run.backlog.as_ref().and_then(|b| b.server_dropped);
    if let Some(d) = dropped.filter(|d| *d > 0 && m.lost > 0) {
        add(
            ReasonKind::ServerDropped,
            format!("the server dropped {d} deliveries by its overflow policy"),
        );
    }
    if m.lost > 0 {
        let causes = run.backlog.as_ref().map_or_else(
            || "no server counters to attribute it".to_owned(),
            Backlog::describe,
        );
        add(
            ReasonKind::Lossy,
            format!(
                "{} of {} deliveries lost ({:.3}%): {causes}",
                m.lost,
                m.expected,
                m.lost as f64 / m.expected.max(1) as f64 * 100.0
            ),
        );
    }
    Validity::of(reasons)
}

/// Whether the run killed its server, or a node of its cluster, on purpose: then what was
/// lost is what the scenario measures (recovery), not a shortfall.
fn planned_failure(run: &SystemRun) -> bool {
    run.outage.is_some()
        || run
            .cluster
            .as_ref()
            .is_some_and(|c| c.nodes.iter().any(|n| n.killed_at_s.is_some()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::Block;

    fn run(blocks: Vec<Block>, lost: u64, dropped: u64) -> SystemRun {
        let mut run: SystemRun =
            serde_json::from_value(serde_json::json!({
                "transport": "ws", "repeat": 0, "status": "complete", "error": null,
                "server_url": "", "window": {"warmup_s": 0.0, "measured_s": 1.0, "drain_s": 0.0},
                "connections": {"requested": 1, "connected": 1, "disconnected": 0,
                    "failures": {}, "connect_time": crate::histogram::LatencyHistogram::default().figures()},
                "messages": {"sent": 10, "unsent": 0, "expected": 100, "delivered": 100 - lost,
                    "lost": lost, "duplicated": 0, "out_of_order": 0, "foreign": 0,
                    "delivered_per_s": 0.0},
                "latency": crate::histogram::LatencyHistogram::default().figures(),
                "send_lag": crate::histogram::LatencyHistogram::default().figures(),
                "server": null,
                "loadgen": {"workers": 1, "cpu_s": 0.1, "cpu_utilisation": 0.1,
                    "cpu_us_per_received": 1.0, "bound": false, "memory_per_client_bytes": 0.0},
                "wire": {"bytes_read": 0, "bytes_written": 0, "bytes_per_delivery": 0.0,
                    "overhead_ratio": 0.0, "source": ""},
            }))
            .expect("a run");
        run.blocks = blocks;
        run.backlog = Some(Backlog {
            server_dropped: Some(dropped),
            ..Backlog::default()
        });
        run
    }

    fn block(foreign: f64, loadgen_wait: f64) -> Block {
        Block {
            length_s: 1.0,
            foreign: Some(foreign),
            stolen: Some(0.0),
            loadgen_wait: Some(loadgen_wait),
            ..Block::default()
        }
    }

    fn kinds(v: &Validity) -> Vec<ReasonKind> {
        v.reasons.iter().map(|r| r.kind).collect()
    }

    #[test]
    fn a_quiet_lossless_run_is_valid() {
        let v = judge(&run(vec![block(0.05, 0.2); 3], 0, 0));
        assert!(v.valid && v.reasons.is_empty(), "{v:?}");
    }

    #[test]
    fn a_busy_machine_and_a_waiting_load_generator_are_named_with_their_figures() {
        let v = judge(&run(vec![block(0.44, 0.7); 3], 0, 0));
        assert!(!v.valid);
        assert_eq!(
            kinds(&v),
            [ReasonKind::MachineBusy, ReasonKind::LoadGeneratorStarved]
        );
        assert!(v.reasons[0].detail.contains("44%"), "{v:?}");
        assert!(v.reasons[1].detail.contains("70%"), "{v:?}");
        assert!(v.reasons.iter().all(|r| r.kind.is_conditions()));
    }

    #[test]
    fn loss_is_a_reason_with_its_causes_and_policy_drops_another() {
        let v = judge(&run(vec![block(0.0, 0.1)], 30, 30));
        assert_eq!(kinds(&v), [ReasonKind::ServerDropped, ReasonKind::Lossy]);
        assert!(v.reasons[1].detail.contains("30 of 100"), "{v:?}");
        assert!(
            v.reasons[1].detail.contains("30 dropped by the server"),
            "{v:?}"
        );
        assert!(!v.reasons[1].kind.is_conditions());
        // Drops without loss (the stalled clients of a slow-consumer run): valid.
        assert!(judge(&run(vec![block(0.0, 0.1)], 0, 30)).valid);
        // A loss from killing the server on purpose is what the scenario measures.
        let mut outage = run(vec![block(0.0, 0.1)], 30, 0);
        outage.outage = Some(Default::default());
        assert!(judge(&outage).valid);
    }
}
