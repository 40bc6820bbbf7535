//! What a capacity search found: per system, the highest value held and why it stopped,
//! and the common load every system was compared at after it.

use serde::{Deserialize, Serialize};

use crate::system::SystemName;

/// The result of a saturation search for one system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SearchOutcome {
    /// The system searched.
    #[serde(rename = "transport")]
    pub system: SystemName,
    /// The field raised.
    pub field: String,
    /// Highest value at which every limit held; `None` if the first step already broke one.
    pub highest_held: Option<f64>,
    /// The value at which a limit broke; `None` if the search reached its maximum.
    pub first_broken: Option<f64>,
    /// Why it stopped, in words.
    pub stopped: String,
    /// Its capacity as a rate: deliveries per second made at the highest value that held
    /// (median of that step's repeats).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_per_s: Option<f64>,
    /// The steps that decided it (the highest that held, the first that broke) whose runs
    /// cannot carry a figure (a busy machine, a starved load generator), with why: the
    /// capacity is then this machine's as much as the system's, and judges no claim.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spoilt: Vec<String>,
}

/// Where a search's systems were compared after it: a load every one of them carried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CommonLoad {
    /// The field searched.
    pub field: String,
    /// The share of the smallest capacity asked for (`[search] common_load`).
    pub share: f64,
    /// The smallest capacity found, and whose it was.
    pub smallest: Option<(SystemName, f64)>,
    /// The value every system was measured at: the highest of the search's values at or
    /// below `share` of the smallest capacity; `None` when there is none.
    pub value: Option<f64>,
    /// Why there is no common load, where there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub none: Option<String>,
}
