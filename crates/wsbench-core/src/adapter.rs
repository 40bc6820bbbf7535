//! How wsbench's clients speak to a server that is not wsbench's own: the `[adapter.NAME]`
//! table of a scenario, one per system.
//!
//! Without an adapter the clients keep wsbench's conventions (raw WebSocket: the bare probe
//! on `/`, `/echo`, `/room/rN`; Socket.IO: the event `broadcast` on namespace `/`, `join`
//! and `echo` with acks). An adapter renames what a server expects — a message template
//! around the probe, event names, a namespace and path, headers, auth — while receivers
//! keep exact accounting by finding the probe anywhere in what they receive
//! ([`crate::probe::Probe::find`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The placeholder a message template must hold once: where the probe goes.
pub const PROBE: &str = "{probe}";
/// Placeholders of the messages sent after connecting and of header values.
pub const CLIENT: &str = "{client}";
/// The client's room (`r<N>`; `r0` outside rooms mode).
pub const ROOM: &str = "{room}";

/// One system's adapter; each field applies to the protocols its doc names, and a field
/// left out keeps wsbench's convention.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Adapter {
    /// Raw WebSocket: the message a sender writes, `{probe}` where the probe goes (e.g.
    /// `{"type":"chat","text":"{probe}"}`); the scenario's `payload` is the whole message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Raw WebSocket: subprotocols offered in the handshake.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subprotocols: Vec<String>,
    /// Raw WebSocket: messages written once after connecting (e.g. a subscribe message);
    /// `{client}` and `{room}` are replaced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_connect: Vec<String>,
    /// Raw WebSocket: the path of echo clients (default `/echo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub echo_path: Option<String>,
    /// Raw WebSocket: the path of room clients, `{room}` replaced (default `/room/{room}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_path: Option<String>,
    /// Both: extra handshake headers, `Name: value`; `{client}` and `{room}` are replaced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<String>,
    /// Both: extra query parameters of the handshake URL.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, String>,
    /// Socket.IO: the event a sender emits (default `broadcast`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// Socket.IO: the event receivers count (default: `event`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receive_event: Option<String>,
    /// Socket.IO: the event that joins a room, acknowledged (default `join`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_event: Option<String>,
    /// Socket.IO: the round-trip event, answered with an ack (default `echo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub echo_event: Option<String>,
    /// Socket.IO: the namespace (default `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Socket.IO: the engine.io path (default `/socket.io/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Socket.IO: the CONNECT packet's auth payload, JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,
    /// Socket.IO: the engine.io transports allowed, in socket.io-client's order (default:
    /// the system's protocol decides).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transports: Vec<EngineTransport>,
}

/// An engine.io transport.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum EngineTransport {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    Websocket,
}

named!(EngineTransport, "engine.io transport", Polling => "polling", Websocket => "websocket");

/// How a Socket.IO client reaches its server, from `transports`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineMode {
    /// WebSocket from the first request.
    Websocket,
    /// Long-polling only.
    Polling,
    /// Long-polling, then an upgrade to WebSocket (socket.io-client's default).
    PollingThenUpgrade,
}

impl Adapter {
    /// The event a sender emits.
    pub fn event(&self) -> &str {
        self.event.as_deref().unwrap_or("broadcast")
    }

    /// The event receivers count.
    pub fn receive_event(&self) -> &str {
        self.receive_event.as_deref().unwrap_or(self.event())
    }

    /// The event that joins a room.
    pub fn join_event(&self) -> &str {
        self.join_event.as_deref().unwrap_or("join")
    }

    /// The round-trip event.
    pub fn echo_event(&self) -> &str {
        self.echo_event.as_deref().unwrap_or("echo")
    }

    /// The Socket.IO namespace.
    pub fn namespace(&self) -> &str {
        self.namespace.as_deref().unwrap_or("/")
    }

    /// The engine.io path.
    pub fn engine_path(&self) -> &str {
        self.path.as_deref().unwrap_or("/socket.io/")
    }

    /// How Socket.IO clients connect, when the adapter says (else the protocol decides).
    pub fn engine_mode(&self) -> Option<EngineMode> {
        use EngineTransport::{Polling, Websocket};
        // socket.io-client tries its transports in order: websocket first never polls
        // (wsbench does not model its fallback), polling first upgrades if it may.
        match self.transports.as_slice() {
            [] => None,
            [Websocket, ..] => Some(EngineMode::Websocket),
            [Polling] => Some(EngineMode::Polling),
            [Polling, ..] => Some(EngineMode::PollingThenUpgrade),
        }
    }

    /// The message template split around `{probe}`: the bytes before and after it (both
    /// empty without a template: the message is the bare probe).
    pub fn template_parts(&self) -> (&str, &str) {
        match &self.template {
            Some(t) => t.split_once(PROBE).unwrap_or((t, "")),
            None => ("", ""),
        }
    }

    /// Bytes the template adds around the probe: the probe is the payload less these.
    pub fn template_overhead(&self) -> usize {
        let (before, after) = self.template_parts();
        before.len() + after.len()
    }

    /// The headers as (name, value) pairs, placeholders replaced for `client` in `room`.
    pub fn header_pairs(&self, client: u64, room: u64) -> Vec<(String, String)> {
        self.headers
            .iter()
            .filter_map(|h| split_header(h))
            .map(|(n, v)| (n.to_owned(), fill(v, client, room)))
            .collect()
    }

    /// Whether any field is set: a system with an adapter is no longer assumed to be
    /// wsbench's own kind of server.
    pub fn is_set(&self) -> bool {
        self != &Adapter::default()
    }
}

/// `Name: value` split at its colon, trimmed; `None` if it is not a header line.
pub fn split_header(line: &str) -> Option<(&str, &str)> {
    let (name, value) = line.split_once(':')?;
    let name = name.trim();
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    let ok = !name.is_empty()
        && name.chars().all(token)
        && !value.chars().any(|c| c == '\r' || c == '\n');
    ok.then_some((name, value.trim()))
}

/// `text` with `{client}` and `{room}` replaced (the room as `r<N>`, as wsbench names
/// rooms).
pub fn fill(text: &str, client: u64, room: u64) -> String {
    text.replace(CLIENT, &client.to_string())
        .replace(ROOM, &format!("r{room}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_wsbench_conventions() {
        let a = Adapter::default();
        assert_eq!(a.event(), "broadcast");
        assert_eq!(a.receive_event(), "broadcast");
        assert_eq!(a.namespace(), "/");
        assert_eq!(a.engine_path(), "/socket.io/");
        assert_eq!(a.template_parts(), ("", ""));
        assert_eq!(a.engine_mode(), None);
        assert!(!a.is_set());
    }

    #[test]
    fn a_template_splits_around_the_probe() {
        let a = Adapter {
            template: Some(r#"{"type":"chat","text":"{probe}"}"#.to_owned()),
            ..Adapter::default()
        };
        assert_eq!(a.template_parts(), (r#"{"type":"chat","text":""#, r#""}"#));
        assert_eq!(a.template_overhead(), 25);
    }

    #[test]
    fn headers_are_name_colon_value() {
        assert_eq!(
            split_header("Authorization: Bearer x"),
            Some(("Authorization", "Bearer x"))
        );
        assert_eq!(split_header("no colon"), None);
        assert_eq!(split_header(": empty name"), None);
        assert_eq!(split_header("Bad Name: v"), None);
        let a = Adapter {
            headers: vec!["X-Client: c{client}-{room}".to_owned()],
            ..Adapter::default()
        };
        assert_eq!(
            a.header_pairs(7, 2),
            vec![("X-Client".to_owned(), "c7-r2".to_owned())]
        );
    }
}
