//! What a server does when a client's outgoing queue is full.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The overflow policy of every client's bounded outgoing queue.
///
/// A client that stops reading must neither stall the others nor grow the server's memory
/// without bound; both policies guarantee that, and each counts what it did.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum OverflowPolicy {
    /// Drop the message for that client and count it; the client stays connected.
    #[default]
    Drop,
    /// Disconnect the client and count it.
    Disconnect,
}

impl OverflowPolicy {
    /// The name used on the command line and in files.
    pub fn as_str(self) -> &'static str {
        match self {
            OverflowPolicy::Drop => "drop",
            OverflowPolicy::Disconnect => "disconnect",
        }
    }
}

impl fmt::Display for OverflowPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OverflowPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "drop" => Ok(OverflowPolicy::Drop),
            "disconnect" => Ok(OverflowPolicy::Disconnect),
            other => Err(format!(
                "unknown overflow policy '{other}' (expected 'drop' or 'disconnect')"
            )),
        }
    }
}
