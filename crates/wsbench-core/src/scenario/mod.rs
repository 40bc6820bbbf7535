//! Scenario files: what a run does, parsed from TOML and checked before anything starts.
//!
//! A mistake is reported as `FILE:LINE:COL: FIELD: what is wrong`, pointing at the value
//! (or the table, for a missing field), and every mistake of a file is reported at once:
//! see [`check`] for the rules, one function per section of the file.

mod adapter;
mod check;
mod checker;
mod compression;
mod error;
mod failures;
mod limits;
mod network;
mod parse;
mod point;
mod proxy;
mod sweep;
mod systems;
mod tls;
mod toml;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cpus::CpuSet;
use crate::policy::OverflowPolicy;
use crate::system::{Protocol, ServerSpec, System, SystemName};

pub use crate::duration::{HumanDuration, MAX_DURATION, parse_duration};
pub use crate::payload::PayloadKind;
pub use compression::DeflateOffer;
pub use error::{ScenarioError, ScenarioErrors};
pub use network::Network;
pub use parse::Overrides;
pub use proxy::Proxy;
pub use sweep::{Search, SweepAxis, SweepField, SweepPoint};
pub use systems::SystemDef;
pub use tls::TlsTrust;

/// Largest payload a scenario may ask for: the servers' default message limit (64 KiB)
/// less room for Socket.IO's framing of the event.
pub const MAX_PAYLOAD: u64 = 65_000;

/// How messages are framed: the probe bytes are the same either way.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// WebSocket text frames; a Socket.IO string argument.
    #[default]
    Text,
    /// WebSocket binary frames; a Socket.IO binary attachment.
    Binary,
}

/// Who receives a message: the job each server does.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Every other client (raw WS `/`; Socket.IO `broadcast` to the lobby).
    #[default]
    Broadcast,
    /// The sender alone (raw WS `/echo`; Socket.IO `echo` with an ack): round trips.
    Echo,
    /// The other members of the sender's room (raw WS `/room/NAME`; Socket.IO `join`).
    Rooms,
}

/// Which client library speaks Socket.IO over its websocket transport.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SocketioClient {
    /// wsbench's lean engine.io v4 / socket.io v5 client on tokio-tungstenite: cheap enough
    /// per client that the load generator is not what is measured.
    #[default]
    Lean,
    /// rust_socketio 0.6 (async): the library a Rust user would reach for; costs more per
    /// client and message. Long-polling always uses it.
    RustSocketio,
}

named!(Encoding, "encoding", Text => "text", Binary => "binary");
named!(Mode, "mode", Broadcast => "broadcast", Echo => "echo", Rooms => "rooms");
named!(SocketioClient, "client", Lean => "lean", RustSocketio => "rust_socketio");

/// How fast clients connect.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Ramp {
    /// This many new connections per second.
    PerSecond(u64),
    /// All clients spread evenly over this long.
    Over(HumanDuration),
}

impl Ramp {
    /// Time between two connection starts for `clients` clients.
    pub fn interval(&self, clients: u64) -> Duration {
        match self {
            Ramp::PerSecond(n) => Duration::from_secs_f64(1.0 / *n as f64),
            Ramp::Over(d) => d.0 / clients.max(1) as u32,
        }
    }
}

/// Limits a run must stay within, as k6's thresholds: `wsbench run` prints each as pass or
/// fail and exits non-zero when one fails.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Thresholds {
    /// Latency p99 at most.
    pub p99: Option<HumanDuration>,
    /// Share of expected deliveries lost at most (0.001 = 0.1%).
    pub loss: Option<f64>,
    /// Delivered messages per second at least.
    pub delivered_per_s: Option<f64>,
    /// Server memory per connection at most, bytes.
    pub memory_per_connection: Option<u64>,
    /// Server peak RSS during the load at most, bytes (a slow consumer's bound).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_rss_peak: Option<u64>,
}

impl Thresholds {
    /// Whether no limit is set.
    pub fn is_empty(&self) -> bool {
        *self == Thresholds::default()
    }

    /// `self` with the limits `specific` sets replacing these.
    pub fn overridden_by(&self, specific: &Thresholds) -> Thresholds {
        Thresholds {
            p99: specific.p99.or(self.p99),
            loss: specific.loss.or(self.loss),
            delivered_per_s: specific.delivered_per_s.or(self.delivered_per_s),
            memory_per_connection: specific
                .memory_per_connection
                .or(self.memory_per_connection),
            server_rss_peak: specific.server_rss_peak.or(self.server_rss_peak),
        }
    }
}

/// A planned server failure: the built-in server is killed (SIGKILL) during the measured
/// window and restarted on the same port, and every client reconnects by itself.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Outage {
    /// When the server is killed, counted from the start of the measured window.
    pub at: HumanDuration,
    /// How long it stays down before a new server starts on the same port.
    pub down: HumanDuration,
    /// First reconnection delay; each failed attempt doubles it (socket.io-client's
    /// `reconnectionDelay`, default 1 s).
    pub reconnect_delay: HumanDuration,
    /// Longest delay between attempts (socket.io-client's `reconnectionDelayMax`, 5 s).
    pub reconnect_delay_max: HumanDuration,
}

/// A validated scenario: everything one `wsbench run` does, recorded in full in its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Scenario {
    /// Name, used in the result directory.
    pub name: String,
    /// Systems compared, in this order (the file's `transports`).
    #[serde(rename = "transports")]
    pub compared: Vec<SystemName>,
    /// Clients connected per system.
    pub clients: u64,
    /// How fast they connect.
    pub ramp: Ramp,
    /// Who receives each message.
    #[serde(default)]
    pub mode: Mode,
    /// Clients per room in `rooms` mode (client i is in room i mod ⌈clients/room_size⌉).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_size: Option<u64>,
    /// Clients that also send (the first `senders` of them).
    pub senders: u64,
    /// Messages per second per sender.
    pub rate: f64,
    /// Bytes per message.
    pub payload: u64,
    /// Text or binary frames.
    pub encoding: Encoding,
    /// What fills a message beyond its probe (`payload_kind`).
    #[serde(default, skip_serializing_if = "is_padded")]
    pub payload_kind: PayloadKind,
    /// Sent and received, not counted.
    pub warmup: HumanDuration,
    /// The measured window.
    pub duration: HumanDuration,
    /// Time after the last send for late messages to arrive.
    pub drain: HumanDuration,
    /// Runs per system, interleaved.
    pub repeat: u64,
    /// Load-generator threads; `None` means sized to the offered load (one per 50,000
    /// deliveries a second, up to one per core).
    pub workers: Option<u64>,
    /// Client library for the `socketio` system.
    #[serde(default)]
    pub socketio_client: SocketioClient,
    /// Numeric fields given as lists: the run is every combination of their values. The
    /// fields above hold the first point's values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sweep: Vec<SweepAxis>,
    /// Raise one field until a limit breaks, per system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<Search>,
    /// Clients (the last ones, never senders) that stop reading when traffic starts: slow
    /// consumers, whose deliveries are not owed; the others' figures are reported apart.
    #[serde(default)]
    pub stalled: u64,
    /// `stalled` as the user wrote it when it is a share of the clients (0.1), recorded:
    /// each sweep point and search step has that share of its own clients stalled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stalled_share: Option<f64>,
    /// What the built-in servers do with a client whose outgoing queue is full.
    #[serde(default)]
    pub overflow: OverflowPolicy,
    /// Messages the built-in servers queue per client before the overflow policy applies;
    /// `None` keeps the servers' default (1024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_capacity: Option<u64>,
    /// Server processes per system: more than one makes a cluster sharing one Redis
    /// (started by the runner), with clients spread round robin over the nodes.
    #[serde(default = "one")]
    pub nodes: u64,
    /// Kill (SIGKILL) the last node this long into the measured window (clustered runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_node_at: Option<HumanDuration>,
    /// Kill and restart the server mid-run, to measure reconnection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outage: Option<Outage>,
    /// Already-running servers to measure instead of starting them.
    pub target: BTreeMap<SystemName, String>,
    /// The process ids of targets whose memory and CPU are to be sampled.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub target_pids: BTreeMap<SystemName, u32>,
    /// Systems the scenario defines: servers started from a command.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub systems: BTreeMap<SystemName, SystemDef>,
    /// How the clients speak to each system's server, where it is not wsbench's own.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub adapter: BTreeMap<SystemName, crate::adapter::Adapter>,
    /// Targets off this machine were allowed (`run --allow-remote`; never from the file).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_remote: bool,
    /// CPUs the servers may run on (unset: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_cpus: Option<CpuSet>,
    /// CPUs the load generator may run on (unset: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loadgen_cpus: Option<CpuSet>,
    /// Limits for every system.
    #[serde(default, skip_serializing_if = "Thresholds::is_empty")]
    pub thresholds: Thresholds,
    /// Limits for one system, replacing those of `thresholds` it sets.
    #[serde(
        rename = "transport_thresholds",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub system_thresholds: BTreeMap<SystemName, Thresholds>,
    /// Every system wsbench starts is served over TLS, with a certificate made for the run
    /// that its clients trust (`tls = true`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tls: bool,
    /// What the clients trust on a secure server wsbench did not start.
    #[serde(default, skip_serializing_if = "is_system_trust")]
    pub tls_trust: TlsTrust,
    /// Each client keeps the TLS session it was given and offers it when it reconnects
    /// (`tls_resumption = true`); otherwise every handshake is a full one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tls_resumption: bool,
    /// Every system's clients offer permessage-deflate (`compression = true`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub compression: bool,
    /// What they ask of the server's compression where they offer it.
    #[serde(default, skip_serializing_if = "is_default_offer")]
    pub deflate: DeflateOffer,
    /// An emulated link between the clients and the servers (`[network]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<Network>,
    /// A reverse proxy wsbench starts in front of each system's server (`[proxy]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<Proxy>,
    /// Every point the run measures, worked out once where the file is checked (a share
    /// of stalled clients made a count at that point's clients) and run as checked. Not
    /// recorded: each run in a result records its own point.
    #[serde(skip)]
    #[schemars(skip)]
    points: Vec<SweepPoint>,
    /// The search's steps, worked out and kept the same way.
    #[serde(skip)]
    #[schemars(skip)]
    steps: Vec<SweepPoint>,
}

impl Scenario {
    /// The limits that apply to `system`.
    pub fn thresholds_for(&self, system: &SystemName) -> Thresholds {
        match self.system_thresholds.get(system) {
            Some(specific) => self.thresholds.overridden_by(specific),
            None => self.thresholds.clone(),
        }
    }

    /// The system named `name`: one of `[systems]`, or a built-in one; either way its
    /// server is the scenario's target for it if it names one.
    pub fn system(&self, name: &SystemName) -> Option<System> {
        let (protocol, runtime, tls, compression) = match self.systems.get(name) {
            Some(def) => (
                def.protocol,
                def.runtime.clone(),
                def.tls || self.tls,
                def.compression || self.compression,
            ),
            None => (
                name.builtin()?,
                "rust".to_owned(),
                self.tls,
                self.compression,
            ),
        };
        let server = match (self.target.get(name), self.systems.get(name)) {
            (Some(url), _) => ServerSpec::Target {
                url: url.clone(),
                pid: self.target_pids.get(name).copied(),
            },
            (None, Some(def)) => ServerSpec::Command(def.start.clone()),
            // The check makes sure a protocol without a built-in server has a target.
            (None, None) => ServerSpec::Builtin(protocol.spec().server?),
        };
        let tls = match &server {
            ServerSpec::Target { url, .. } => url.starts_with("https:") || url.starts_with("wss:"),
            _ => tls,
        };
        Some(System {
            name: name.clone(),
            protocol,
            server,
            runtime,
            tls,
            compression,
        })
    }

    /// Every system measured, in the scenario's order.
    pub fn systems(&self) -> Vec<System> {
        self.compared
            .iter()
            .filter_map(|name| self.system(name))
            .collect()
    }

    /// The protocol `system`'s clients speak, if the scenario knows the system.
    pub fn protocol_of(&self, system: &SystemName) -> Option<Protocol> {
        self.system(system).map(|s| s.protocol)
    }

    /// Rooms in `rooms` mode.
    pub fn rooms(&self) -> u64 {
        self.room_size.map_or(1, |k| self.clients.div_ceil(k))
    }

    /// Messages each sender sends in the warm-up and measured windows together.
    pub fn messages_per_sender(&self) -> u64 {
        ((self.warmup.0 + self.duration.0).as_secs_f64() * self.rate).ceil() as u64
    }
}

fn is_system_trust(t: &TlsTrust) -> bool {
    *t == TlsTrust::System
}

fn is_padded(k: &PayloadKind) -> bool {
    *k == PayloadKind::Padded
}

fn is_default_offer(o: &DeflateOffer) -> bool {
    *o == DeflateOffer::default()
}

fn one() -> u64 {
    1
}
