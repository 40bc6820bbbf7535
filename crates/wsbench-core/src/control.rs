//! The line protocol between `wsbench serve` and the process that started it.
//!
//! The child prints exactly one [`ServeEvent::Ready`] line on stdout once it listens. After
//! that, each line its parent writes on the child's stdin is a request ([`REQUEST_COUNTERS`]),
//! answered by one JSON line on stdout. Everything else the child has to say goes to stderr,
//! so stdout stays machine-readable.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::CountersSnapshot;

/// The request a parent writes, as one line, to read the child's counters.
pub const REQUEST_COUNTERS: &str = "counters";

/// One JSON line printed by a `wsbench serve` child on stdout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum ServeEvent {
    /// The server listens and accepts clients.
    Ready {
        /// `ws` or `socketio`.
        transport: String,
        /// The bound address, with the port the OS chose.
        addr: SocketAddr,
        /// The server's process id, for `/proc` sampling.
        pid: u32,
        /// Where clients connect: `ws://` or, served over TLS, `wss://` (`https://` for
        /// Socket.IO's polling). Absent from servers that predate it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
        /// How it writes broadcasts (`wsbench serve ws --io`), where it says.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        io: Option<crate::io_path::SendPath>,
        /// Why not the path asked for, where it does not take it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        io_note: Option<String>,
    },
    /// The answer to [`REQUEST_COUNTERS`].
    Counters(CountersSnapshot),
    /// A request the child did not understand.
    Error {
        /// What was wrong with it.
        message: String,
    },
}

impl ServeEvent {
    /// The event as one line of JSON, without the newline.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("serve events always serialize")
    }

    /// Parses one line printed by a child.
    pub fn from_line(line: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(line.trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_survives_a_round_trip_through_one_line() {
        let events = [
            ServeEvent::Ready {
                transport: "ws".into(),
                addr: "127.0.0.1:4000".parse().unwrap(),
                pid: 42,
                url: Some("wss://127.0.0.1:4000/".into()),
                io: Some(crate::io_path::SendPath::Uring),
                io_note: None,
            },
            ServeEvent::Counters(CountersSnapshot {
                connections_open: 3,
                ..Default::default()
            }),
            ServeEvent::Error {
                message: "unknown request 'x'".into(),
            },
        ];
        for event in events {
            let line = event.to_line();
            assert!(!line.contains('\n'));
            assert_eq!(ServeEvent::from_line(&line).unwrap(), event);
        }
    }

    #[test]
    fn ready_line_names_its_fields() {
        let line = ServeEvent::Ready {
            transport: "socketio".into(),
            addr: "127.0.0.1:5000".parse().unwrap(),
            pid: 7,
            url: None,
            io: None,
            io_note: None,
        }
        .to_line();
        assert_eq!(
            line,
            r#"{"event":"ready","transport":"socketio","addr":"127.0.0.1:5000","pid":7}"#
        );
    }
}
