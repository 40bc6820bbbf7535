//! Systems under test: the one seam of the "which transport" axis.
//!
//! A *system* is what a scenario's `transports` names and what every report row is about:
//! a name, the [`Protocol`] its clients speak, and the server they speak it to (one of
//! wsbench's own, or a server of the user's). Everything that differs between protocols is
//! a field of its [`ProtocolSpec`], read from one table, so that the runner, the load
//! generator and the reports ask the descriptor instead of matching on names.
//!
//! Adding a protocol is one entry here plus its client in the load generator
//! (`wsbench-loadgen/src/clients/`); see `docs/method.md` for what each figure means.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

mod command;

pub use command::{
    CERT_PLACEHOLDER, CommandSpec, KEY_PLACEHOLDER, PORT_PLACEHOLDER, TlsFiles, WSBENCH_PLACEHOLDER,
};

/// How a system's clients speak to it.
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
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// Raw WebSocket: every message is the probe itself.
    Ws,
    /// Socket.IO v5 over engine.io v4's websocket transport.
    Socketio,
    /// Socket.IO v5 over engine.io v4's HTTP long-polling transport only.
    SocketioPolling,
}

/// Which library family a protocol belongs to: the two sides of the seed's question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Plain WebSocket, nothing on top.
    WebSocket,
    /// Socket.IO, whichever engine.io transport carries it.
    SocketIo,
}

impl Family {
    /// Every family, in the order errors name them.
    pub const ALL: [Family; 2] = [Family::WebSocket, Family::SocketIo];

    /// What a user calls its systems: "raw WebSocket".
    pub fn label(self) -> &'static str {
        match self {
            Family::WebSocket => "raw WebSocket",
            Family::SocketIo => "Socket.IO",
        }
    }

    /// The `[adapter.NAME]` keys that apply to its systems only (besides
    /// [`ADAPTER_KEYS_ANY`]): a key of another family's is named as a mistake.
    pub fn adapter_keys(self) -> &'static [&'static str] {
        match self {
            Family::WebSocket => &[
                "template",
                "subprotocols",
                "on_connect",
                "echo_path",
                "room_path",
            ],
            Family::SocketIo => &[
                "event",
                "receive_event",
                "join_event",
                "echo_event",
                "namespace",
                "path",
                "auth",
                "transports",
            ],
        }
    }
}

/// The `[adapter.NAME]` keys that apply to a system of any family.
pub const ADAPTER_KEYS_ANY: [&str; 2] = ["headers", "query"];

/// One of the servers `wsbench serve` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BuiltinServer {
    /// Raw WebSocket on tokio-tungstenite: paths `/`, `/room/NAME`, `/echo`.
    Ws,
    /// Socket.IO on socketioxide: events `broadcast`, `join`, `echo` on namespace `/`.
    Socketio,
    /// Raw WebSocket as tokio-tungstenite's own example server writes it (`ws-stock`): the
    /// same paths, none of the tuned server's write path. Not a protocol's built-in
    /// system: a scenario starts it as a command (`wsbench serve ws-stock`).
    WsStock,
}

impl BuiltinServer {
    /// Every built-in server.
    pub const ALL: [BuiltinServer; 3] = [
        BuiltinServer::Ws,
        BuiltinServer::Socketio,
        BuiltinServer::WsStock,
    ];

    /// How it makes one delivery, and so where its CPU per delivery goes, for the reports'
    /// method notes (docs/cost-breakdown.md measures each step).
    pub fn delivery_path(self) -> &'static str {
        match self {
            BuiltinServer::Ws => {
                "a broadcast is encoded once into one frame for all its recipients and \
                 written straight to each recipient's socket, the recipients shared among \
                 the runtime's threads: one `send` and no task wakeup per delivery while it \
                 keeps up (only what a socket does not take at once waits in that client's \
                 bounded queue for its own task), so most of its CPU per delivery is the \
                 kernel's `send`; once it falls behind, what has arrived from each client \
                 and from every sender meanwhile goes to each recipient in one `send` \
                 (docs/method.md, \"The servers under test\")."
            }
            BuiltinServer::Socketio => {
                "socketioxide encodes a broadcast's Socket.IO packet once, then for each \
                 recipient reserves a place in that socket's channel, builds its engine.io \
                 text (a copy) and wakes the socket's writer task, which frames it with \
                 tungstenite (another copy) and flushes: one `send`, one task wakeup and two \
                 copies per delivery, user-space work the ws server does not do."
            }
            BuiltinServer::WsStock => {
                "a broadcast clones the message into every other peer's unbounded channel \
                 under one lock, and each peer's task frames it with tungstenite and sends \
                 it: one task wakeup, one framing and one `send` per delivery, and no bound \
                 on what waits for a slow peer, as tokio-tungstenite's example server does."
            }
        }
    }
}

named!(BuiltinServer, "server", Ws => "ws", Socketio => "socketio", WsStock => "ws-stock");

/// Which library the clients speak their protocol with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientLibrary {
    /// wsbench's lean clients (raw WebSocket; Socket.IO over websocket).
    Lean,
    /// rust_socketio: long-polling, or the library a Rust user would pick.
    RustSocketio,
}

/// Everything wsbench needs to know about a protocol, in one place.
#[derive(Debug)]
pub struct ProtocolSpec {
    /// The protocol described.
    pub protocol: Protocol,
    /// Its name in scenarios, flags and results; also the name of its built-in system.
    pub name: &'static str,
    /// Which side of the seed's question it is on.
    pub family: Family,
    /// The `wsbench serve` server that speaks it; without one, a system of this protocol
    /// needs a server of the user's (`[target]`).
    pub server: Option<BuiltinServer>,
    /// URL schemes a `[target]` of this protocol may use.
    pub target_schemes: &'static [&'static str],
    /// The scheme its clients open: a target's URL in another of [`Self::target_schemes`]
    /// (Socket.IO's `http://`) is opened with this one, or its TLS form (`wss`) for a
    /// secure URL (`https://`, `wss://`).
    pub client_scheme: &'static str,
    /// The WebSocket path and query clients open on a server (`None`: the target URL's own
    /// path, which raw WebSocket servers route on).
    pub endpoint_path: Option<(&'static str, &'static str)>,
    /// The client library that speaks it (Socket.IO's may be overridden by the scenario or
    /// an adapter that starts with long-polling: `client_library::ClientLibrary::choose`).
    pub client: ClientLibrary,
    /// Whether clients keep what the application sends while disconnected and write it
    /// once reconnected (socket.io-client's send buffer); raw WebSocket has nowhere to.
    pub send_buffer: bool,
    /// How its clients reconnect after an outage, for readers of the report.
    pub reconnection: &'static str,
}

const SOCKETIO_RECONNECTION: &str = "socket.io-client's reconnection, as the lean client \
    reproduces it: jittered exponential backoff (the Manager's defaults unless the scenario \
    sets them) and its send buffer, flushed on reconnect";

/// The table of protocols, in report order.
static PROTOCOLS: [ProtocolSpec; 3] = [
    ProtocolSpec {
        protocol: Protocol::Ws,
        name: "ws",
        family: Family::WebSocket,
        server: Some(BuiltinServer::Ws),
        target_schemes: &["ws", "wss"],
        client_scheme: "ws",
        endpoint_path: None,
        client: ClientLibrary::Lean,
        send_buffer: false,
        reconnection: "wsbench's own reconnection loop for raw WebSocket (the library has \
            none): jittered exponential backoff with socket.io-client's schedule; messages \
            sent while disconnected are discarded, as there is no send buffer",
    },
    ProtocolSpec {
        protocol: Protocol::Socketio,
        name: "socketio",
        family: Family::SocketIo,
        server: Some(BuiltinServer::Socketio),
        target_schemes: &["http", "ws", "https", "wss"],
        client_scheme: "ws",
        endpoint_path: Some(("/socket.io/", "EIO=4&transport=websocket")),
        client: ClientLibrary::Lean,
        send_buffer: true,
        reconnection: SOCKETIO_RECONNECTION,
    },
    ProtocolSpec {
        protocol: Protocol::SocketioPolling,
        name: "socketio-polling",
        family: Family::SocketIo,
        server: Some(BuiltinServer::Socketio),
        target_schemes: &["http", "ws", "https", "wss"],
        // What its clients open first: an HTTP request of the polling transport (the
        // client builds its requests from the address; this is the URL reports show).
        client_scheme: "http",
        endpoint_path: Some(("/socket.io/", "EIO=4&transport=polling")),
        client: ClientLibrary::RustSocketio,
        send_buffer: true,
        reconnection: SOCKETIO_RECONNECTION,
    },
];

impl Protocol {
    /// Every protocol, in report order.
    pub const ALL: [Protocol; 3] = [Protocol::Ws, Protocol::Socketio, Protocol::SocketioPolling];

    /// Its descriptor.
    pub fn spec(self) -> &'static ProtocolSpec {
        PROTOCOLS
            .iter()
            .find(|s| s.protocol == self)
            .expect("every protocol has a table entry")
    }

    /// Its name in scenarios, flags and results.
    pub fn as_str(self) -> &'static str {
        self.spec().name
    }

    /// Every protocol's name, for error messages: "ws, socketio or socketio-polling".
    pub fn names() -> String {
        let names: Vec<&str> = PROTOCOLS.iter().map(|s| s.name).collect();
        match names.split_last() {
            Some((last, [])) => (*last).to_owned(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Protocol {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PROTOCOLS
            .iter()
            .find(|p| p.name == s)
            .map(|p| p.protocol)
            .ok_or_else(|| format!("unknown transport '{s}' (expected {})", Protocol::names()))
    }
}

/// The name of a system under test, as scenarios, flags, results and report rows spell it.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct SystemName(String);

impl SystemName {
    /// The built-in system of `protocol` (named as the protocol).
    pub fn of(protocol: Protocol) -> SystemName {
        SystemName(protocol.as_str().to_owned())
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The built-in system's protocol, if this names one.
    pub fn builtin(&self) -> Option<Protocol> {
        self.0.parse().ok()
    }
}

impl fmt::Display for SystemName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for SystemName {
    type Err = String;

    /// A well-formed name: letters, digits, `-`, `_` and `.` (it names report rows and
    /// files). Whether a scenario knows the system is the scenario's to check.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if ok {
            Ok(SystemName(s.to_owned()))
        } else {
            Err(format!(
                "'{s}' is not a system name (letters, digits, '-', '_' and '.', at most 64)"
            ))
        }
    }
}

impl PartialEq<&str> for SystemName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// Which server a system's clients connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerSpec {
    /// A `wsbench serve` child the runner starts (and, in a cluster, several).
    Builtin(BuiltinServer),
    /// A server the runner starts from a command (a scenario's `[systems.NAME]`).
    Command(CommandSpec),
    /// A server already running at this URL (loopback); with its pid, its memory and CPU
    /// are sampled too.
    Target {
        /// Where clients connect.
        url: String,
        /// Its process, if the user named it.
        pid: Option<u32>,
    },
}

/// A system under test: what a row of every report is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct System {
    /// Its name.
    pub name: SystemName,
    /// How its clients speak.
    pub protocol: Protocol,
    /// Where its server comes from.
    pub server: ServerSpec,
    /// What its server runs on (`rust` for wsbench's own, `node`, ...): reports compare
    /// protocols within a runtime and runtimes for a protocol.
    pub runtime: String,
    /// Whether its clients speak TLS to it (`wss://`, `https://`): a started server is
    /// then served with the run's certificate.
    pub tls: bool,
    /// Whether its clients offer permessage-deflate; whether the server takes it is its
    /// own (a run counts the connections it accepted it on).
    pub compression: bool,
}

impl System {
    /// The descriptor of its protocol.
    pub fn spec(&self) -> &'static ProtocolSpec {
        self.protocol.spec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_protocol_has_one_entry_and_round_trips_its_name() {
        for p in Protocol::ALL {
            assert_eq!(p.spec().protocol, p);
            assert_eq!(p.as_str().parse::<Protocol>(), Ok(p));
            assert_eq!(SystemName::of(p).builtin(), Some(p));
        }
        assert_eq!(Protocol::names(), "ws, socketio or socketio-polling");
        assert_eq!(
            "sse".parse::<Protocol>().unwrap_err(),
            "unknown transport 'sse' (expected ws, socketio or socketio-polling)"
        );
        assert!("node-ws".parse::<SystemName>().is_ok());
        assert!("a b".parse::<SystemName>().is_err());
    }
}
