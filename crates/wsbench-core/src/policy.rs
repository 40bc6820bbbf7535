//! What a server does when a client's outgoing queue is full.

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

named!(OverflowPolicy, "overflow policy", Drop => "drop", Disconnect => "disconnect");
