//! Sweeps and searches: one scenario run at several values of its numeric fields.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::Scenario;
use crate::scenario::HumanDuration;

/// A field that may be given as a list (a sweep) or raised by a search.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SweepField {
    /// Clients per system.
    Clients,
    /// Clients that also send.
    Senders,
    /// Messages per second per sender.
    Rate,
    /// Bytes per message.
    Payload,
    /// Server nodes per system.
    Nodes,
}

impl SweepField {
    /// Every sweepable field, in the order a sweep's axes are listed.
    pub const ALL: [SweepField; 5] = [
        SweepField::Clients,
        SweepField::Nodes,
        SweepField::Payload,
        SweepField::Rate,
        SweepField::Senders,
    ];

    /// Its name in scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            SweepField::Clients => "clients",
            SweepField::Senders => "senders",
            SweepField::Rate => "rate",
            SweepField::Payload => "payload",
            SweepField::Nodes => "nodes",
        }
    }

    /// Whether its values are whole numbers.
    pub fn is_integer(self) -> bool {
        self != SweepField::Rate
    }
}

impl fmt::Display for SweepField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SweepField {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SweepField::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = SweepField::ALL.iter().map(|f| f.as_str()).collect();
                format!(
                    "'{s}' cannot be searched (expected one of {})",
                    names.join(", ")
                )
            })
    }
}

/// A saturation search: raise one field step by step, per system, until a limit breaks;
/// the highest value that held is the system's capacity under that limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Search {
    /// The field raised.
    pub field: SweepField,
    /// First value tried.
    pub start: f64,
    /// Each next value is this many times the last (when `step` is not set).
    pub factor: f64,
    /// Each next value is the last plus this, instead of a factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<f64>,
    /// Highest value tried.
    pub max: f64,
    /// Limit: latency p99 at most (median of repeats).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99: Option<HumanDuration>,
    /// Limit: share of expected deliveries lost at most.
    pub loss: f64,
    /// Find the capacity by bisection over the values (doubling the step until a limit
    /// breaks, then halving the gap) rather than trying them one after the other.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bisect: bool,
    /// After every system's search, each is measured at this share of the smallest
    /// capacity found (the highest value at or below it), where latency and CPU are
    /// compared; 0: no common-load step.
    #[serde(default = "half")]
    pub common_load: f64,
}

/// The default common load: half the smallest capacity.
fn half() -> f64 {
    0.5
}

/// Most steps a search takes, whatever its start, factor and maximum.
const MAX_STEPS: usize = 1000;

impl Search {
    /// The search's limits as thresholds, so that a step is judged by the same rule as a
    /// scenario's `[thresholds]`.
    pub fn limits(&self) -> super::Thresholds {
        super::Thresholds {
            p99: self.p99,
            loss: Some(self.loss),
            ..Default::default()
        }
    }

    /// Every value the search may try, in order.
    pub fn values(&self) -> Vec<f64> {
        let mut values = Vec::new();
        let mut v = self.start;
        while v <= self.max && values.len() < MAX_STEPS {
            values.push(v);
            let next = match self.step {
                Some(step) => v + step,
                None => (v * self.factor).round(),
            };
            if next <= v {
                // A factor too small to move a rounded value: the search cannot go on.
                break;
            }
            v = next;
        }
        values
    }
}

/// One swept field and its values, in the order run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SweepAxis {
    /// The field.
    pub field: SweepField,
    /// Its values.
    pub values: Vec<f64>,
}

/// One point of a sweep: the value of each swept field, and the scenario run there.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPoint {
    /// Swept field → value (empty without a sweep).
    pub values: BTreeMap<String, f64>,
    /// The scenario with those values and no sweep.
    pub scenario: Scenario,
}

/// Every combination of the axes' values, first axis slowest: the order a sweep runs in.
pub(super) fn combinations<T: Clone>(axes: &[(SweepField, Vec<T>)]) -> Vec<Vec<(SweepField, T)>> {
    let mut out = vec![Vec::new()];
    for (field, values) in axes {
        out = out
            .into_iter()
            .flat_map(|done: Vec<(SweepField, T)>| {
                values.iter().map(move |v| {
                    let mut next = done.clone();
                    next.push((*field, v.clone()));
                    next
                })
            })
            .collect();
    }
    out
}

impl Scenario {
    /// Every point to run, first axis slowest (one point, with no values, without a
    /// sweep), each as the check worked it out: the run measures exactly these. Empty for
    /// a scenario read back from a result (each run there records its point).
    pub fn points(&self) -> &[SweepPoint] {
        &self.points
    }

    /// The search's steps in order, each as the check worked it out (empty without a
    /// search, and for a scenario read back from a result).
    pub fn steps(&self) -> &[SweepPoint] {
        &self.steps
    }

    /// The swept fields' values at every point, in the order run (one empty set without a
    /// sweep): what a report orders its rows by, from the recorded axes alone.
    pub fn point_values(&self) -> Vec<BTreeMap<String, f64>> {
        let axes: Vec<(SweepField, Vec<f64>)> = self
            .sweep
            .iter()
            .map(|a| (a.field, a.values.clone()))
            .collect();
        combinations(&axes)
            .into_iter()
            .map(|c| c.into_iter().map(|(f, v)| (f.to_string(), v)).collect())
            .collect()
    }

    /// The largest number of clients any point, or any step of a search, opens (for
    /// descriptor limits).
    pub fn max_clients(&self) -> u64 {
        self.max_of(|s| s.clients)
    }

    /// The largest number of senders of any point or search step (each needs a timer).
    pub fn max_senders(&self) -> u64 {
        self.max_of(|s| s.senders)
    }

    fn max_of(&self, get: fn(&Scenario) -> u64) -> u64 {
        self.points
            .iter()
            .chain(&self.steps)
            .map(|p| get(&p.scenario))
            .fold(get(self), u64::max)
    }
}
