//! Scenario files: what a run does, parsed from TOML and validated field by field.
//!
//! A mistake is reported as `FILE:LINE:COL: FIELD: what is wrong`, pointing at the value
//! (or the table, for a missing field), so that the user can go straight to it.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use toml::Spanned;

use crate::policy::OverflowPolicy;
use crate::probe;

/// Fields that may be given as a list (a sweep) or raised by a search.
pub const SWEEPABLE: [&str; 5] = ["clients", "senders", "rate", "payload", "nodes"];

/// Largest payload a scenario may ask for: the servers' default message limit (64 KiB)
/// less room for Socket.IO's framing of the event.
pub const MAX_PAYLOAD: u64 = 65_000;

/// A transport under test, as named in scenario files and on the command line.
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
pub enum Transport {
    /// Raw WebSocket.
    Ws,
    /// Socket.IO over its websocket transport.
    Socketio,
    /// Socket.IO over HTTP long-polling only.
    SocketioPolling,
}

impl Transport {
    /// Every transport, in report order.
    pub const ALL: [Transport; 3] = [
        Transport::Ws,
        Transport::Socketio,
        Transport::SocketioPolling,
    ];

    /// The name used in files, flags and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Ws => "ws",
            Transport::Socketio => "socketio",
            Transport::SocketioPolling => "socketio-polling",
        }
    }

    /// The `wsbench serve` server that speaks this transport.
    pub fn server(self) -> &'static str {
        match self {
            Transport::Ws => "ws",
            Transport::Socketio | Transport::SocketioPolling => "socketio",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Transport {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Transport::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                format!("unknown transport '{s}' (expected ws, socketio or socketio-polling)")
            })
    }
}

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

/// A duration written the human way (`"20s"`, `"500ms"`) in files and results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HumanDuration(pub Duration);

impl schemars::JsonSchema for HumanDuration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "HumanDuration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A duration such as \"20s\" or \"500ms\"",
        })
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

fn parse_duration(text: &str) -> Result<HumanDuration, String> {
    humantime::parse_duration(text)
        .map(HumanDuration)
        .map_err(|e| {
            format!("'{text}' is not a duration ({e}); write it like \"20s\" or \"500ms\"")
        })
}

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

/// A saturation search: raise one field step by step, per transport, until a limit breaks;
/// the highest value that held is the transport's capacity under that limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Search {
    /// The field raised (`clients`, `senders`, `rate` or `payload`).
    pub field: String,
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
}

impl Search {
    /// Every value the search may try, in order.
    pub fn values(&self) -> Vec<f64> {
        let mut values = Vec::new();
        let mut v = self.start;
        while v <= self.max && values.len() < 1000 {
            values.push(v);
            v = match self.step {
                Some(step) => v + step,
                None => (v * self.factor).round(),
            };
        }
        values
    }
}

/// One swept field and its values, in the order run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SweepAxis {
    /// The field (`clients`, `senders`, `rate` or `payload`).
    pub field: String,
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

/// A validated scenario: everything one `wsbench run` does, recorded in full in its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Scenario {
    /// Name, used in the result directory.
    pub name: String,
    /// Transports compared, in this order.
    pub transports: Vec<Transport>,
    /// Clients connected per transport.
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
    /// Sent and received, not counted.
    pub warmup: HumanDuration,
    /// The measured window.
    pub duration: HumanDuration,
    /// Time after the last send for late messages to arrive.
    pub drain: HumanDuration,
    /// Runs per transport, interleaved.
    pub repeat: u64,
    /// Load-generator threads; `None` means one per core.
    pub workers: Option<u64>,
    /// Client library for the `socketio` transport.
    #[serde(default)]
    pub socketio_client: SocketioClient,
    /// Numeric fields given as lists: the run is every combination of their values. The
    /// fields above hold the first point's values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sweep: Vec<SweepAxis>,
    /// Raise one field until a limit breaks, per transport.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<Search>,
    /// Clients (the last ones, never senders) that stop reading when traffic starts: slow
    /// consumers, whose deliveries are not owed; the others' figures are reported apart.
    #[serde(default)]
    pub stalled: u64,
    /// What the built-in servers do with a client whose outgoing queue is full.
    #[serde(default)]
    pub overflow: OverflowPolicy,
    /// Messages the built-in servers queue per client before the overflow policy applies;
    /// `None` keeps the servers' default (1024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_capacity: Option<u64>,
    /// Server processes per transport: more than one makes a cluster sharing one Redis
    /// (started by the runner), with clients spread round robin over the nodes.
    #[serde(default = "one")]
    pub nodes: u64,
    /// Kill (SIGKILL) the last node this long into the measured window (clustered runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_node_at: Option<HumanDuration>,
    /// Kill and restart the server mid-run, to measure reconnection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outage: Option<Outage>,
    /// Already-running servers to measure instead of the built-in ones.
    pub target: BTreeMap<Transport, String>,
    /// Limits for every transport.
    #[serde(default, skip_serializing_if = "Thresholds::is_empty")]
    pub thresholds: Thresholds,
    /// Limits for one transport, replacing those of `thresholds` it sets.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub transport_thresholds: BTreeMap<Transport, Thresholds>,
}

impl Scenario {
    /// The limits that apply to `transport`.
    pub fn thresholds_for(&self, transport: Transport) -> Thresholds {
        match self.transport_thresholds.get(&transport) {
            Some(specific) => self.thresholds.overridden_by(specific),
            None => self.thresholds.clone(),
        }
    }
}

fn one() -> u64 {
    1
}

/// A scenario file that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {field}{}{message}", file.display(), if field.is_empty() { "" } else { ": " })]
pub struct ScenarioError {
    /// The file (or `<command line>` for an override).
    pub file: PathBuf,
    /// 1-based line of the offending value.
    pub line: usize,
    /// 1-based column of the offending value.
    pub column: usize,
    /// The field, empty when the file as a whole is at fault.
    pub field: String,
    /// What is wrong and what would be right.
    pub message: String,
}

/// One-run changes from the command line, applied before validation.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--clients`.
    pub clients: Option<u64>,
    /// `--duration`.
    pub duration: Option<Duration>,
    /// `--transport` (repeatable).
    pub transports: Vec<Transport>,
    /// `--target TRANSPORT=URL` (repeatable): servers to measure instead of built-in ones.
    pub targets: Vec<(Transport, String)>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Spanned<String>,
    transports: Spanned<Vec<Spanned<String>>>,
    clients: Spanned<toml::Value>,
    ramp: Option<Spanned<RawRamp>>,
    mode: Option<Spanned<String>>,
    room_size: Option<Spanned<i64>>,
    senders: Spanned<toml::Value>,
    rate: Spanned<toml::Value>,
    payload: Spanned<toml::Value>,
    encoding: Option<Spanned<String>>,
    warmup: Spanned<String>,
    duration: Spanned<String>,
    drain: Option<Spanned<String>>,
    repeat: Option<Spanned<i64>>,
    workers: Option<Spanned<i64>>,
    socketio_client: Option<Spanned<String>>,
    stalled: Option<Spanned<Number>>,
    overflow: Option<Spanned<String>>,
    queue_capacity: Option<Spanned<i64>>,
    outage: Option<Spanned<RawOutage>>,
    nodes: Option<Spanned<toml::Value>>,
    kill_node_at: Option<Spanned<String>>,
    search: Option<Spanned<RawSearch>>,
    target: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
    thresholds: Option<RawThresholds>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    p99: Option<Spanned<String>>,
    loss: Option<Spanned<Number>>,
    delivered_per_s: Option<Spanned<Number>>,
    memory_per_connection: Option<Spanned<i64>>,
    server_rss_peak: Option<Spanned<i64>>,
}

/// `[thresholds]`: the limits for every transport, and a sub-table per transport. (No
/// `serde(flatten)`: it would lose the spans that locate errors.)
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThresholds {
    p99: Option<Spanned<String>>,
    loss: Option<Spanned<Number>>,
    delivered_per_s: Option<Spanned<Number>>,
    memory_per_connection: Option<Spanned<i64>>,
    server_rss_peak: Option<Spanned<i64>>,
    ws: Option<RawLimits>,
    socketio: Option<RawLimits>,
    #[serde(rename = "socketio-polling")]
    socketio_polling: Option<RawLimits>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSearch {
    field: Spanned<String>,
    start: Spanned<Number>,
    factor: Option<Spanned<Number>>,
    step: Option<Spanned<Number>>,
    max: Spanned<Number>,
    p99: Option<Spanned<String>>,
    loss: Option<Spanned<Number>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutage {
    at: Spanned<String>,
    down: Option<Spanned<String>>,
    reconnect_delay: Option<Spanned<String>>,
    reconnect_delay_max: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawRamp {
    PerSecond(i64),
    Over(String),
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    fn as_f64(&self) -> f64 {
        match self {
            Number::Int(i) => *i as f64,
            Number::Float(f) => *f,
        }
    }

    fn as_i64(&self) -> i64 {
        match self {
            Number::Int(i) => *i,
            Number::Float(f) => *f as i64,
        }
    }
}

struct Checker<'a> {
    file: &'a Path,
    source: &'a str,
}

impl Checker<'_> {
    fn error(&self, span: Range<usize>, field: &str, message: impl Into<String>) -> ScenarioError {
        let (line, column) = line_col(self.source, span.start);
        ScenarioError {
            file: self.file.to_owned(),
            line,
            column,
            field: field.to_owned(),
            message: message.into(),
        }
    }

    fn int_in<T: Copy + Into<i64>>(
        &self,
        v: &Spanned<i64>,
        field: &str,
        min: T,
        max: T,
    ) -> Result<u64, ScenarioError> {
        let (min, max) = (min.into(), max.into());
        let n = *v.get_ref();
        if n < min {
            return Err(self.error(v.span(), field, format!("must be at least {min}, not {n}")));
        }
        if n > max {
            return Err(self.error(v.span(), field, format!("must be at most {max}, not {n}")));
        }
        Ok(n as u64)
    }

    fn limits(&self, raw: &RawLimits, table: &str) -> Result<Thresholds, ScenarioError> {
        let p99 = match &raw.p99 {
            Some(d) => Some(self.duration(d, &format!("{table}.p99"))?),
            None => None,
        };
        let loss = match &raw.loss {
            Some(l) => {
                let v = l.get_ref().as_f64();
                if !(0.0..=1.0).contains(&v) {
                    return Err(self.error(
                        l.span(),
                        &format!("{table}.loss"),
                        format!("is a share of expected deliveries, from 0 to 1, not {v}"),
                    ));
                }
                Some(v)
            }
            None => None,
        };
        let delivered_per_s = match &raw.delivered_per_s {
            Some(d) => {
                let v = d.get_ref().as_f64();
                if v < 0.0 {
                    return Err(self.error(
                        d.span(),
                        &format!("{table}.delivered_per_s"),
                        format!("must not be negative, not {v}"),
                    ));
                }
                Some(v)
            }
            None => None,
        };
        let memory_per_connection = match &raw.memory_per_connection {
            Some(m) => {
                Some(self.int_in(m, &format!("{table}.memory_per_connection"), 1, i64::MAX)?)
            }
            None => None,
        };
        let server_rss_peak = match &raw.server_rss_peak {
            Some(m) => Some(self.int_in(m, &format!("{table}.server_rss_peak"), 1, i64::MAX)?),
            None => None,
        };
        Ok(Thresholds {
            p99,
            loss,
            delivered_per_s,
            memory_per_connection,
            server_rss_peak,
        })
    }

    fn search(&self, raw: &Spanned<RawSearch>) -> Result<Search, ScenarioError> {
        let r = raw.get_ref();
        let field = r.field.get_ref().clone();
        if !SWEEPABLE.contains(&field.as_str()) {
            return Err(self.error(
                r.field.span(),
                "search.field",
                format!(
                    "'{field}' cannot be searched (expected one of {})",
                    SWEEPABLE.join(", ")
                ),
            ));
        }
        let positive = |v: &Spanned<Number>, name: &str| {
            let n = v.get_ref().as_f64();
            if n > 0.0 {
                Ok(n)
            } else {
                Err(self.error(v.span(), name, format!("must be more than 0, not {n}")))
            }
        };
        let start = positive(&r.start, "search.start")?;
        let max = positive(&r.max, "search.max")?;
        if max < start {
            return Err(self.error(
                r.max.span(),
                "search.max",
                format!("must be at least start ({start}), not {max}"),
            ));
        }
        let factor = match &r.factor {
            Some(f) if f.get_ref().as_f64() <= 1.0 => {
                return Err(self.error(
                    f.span(),
                    "search.factor",
                    format!("must be more than 1, not {}", f.get_ref().as_f64()),
                ));
            }
            Some(f) => f.get_ref().as_f64(),
            None => 2.0,
        };
        let step = match &r.step {
            Some(s) => Some(positive(s, "search.step")?),
            None => None,
        };
        if step.is_some() && r.factor.is_some() {
            return Err(self.error(raw.span(), "search", "give factor or step, not both"));
        }
        let p99 = match &r.p99 {
            Some(d) => Some(self.duration(d, "search.p99")?),
            None => None,
        };
        let loss = match &r.loss {
            Some(l) if !(0.0..=1.0).contains(&l.get_ref().as_f64()) => {
                return Err(self.error(
                    l.span(),
                    "search.loss",
                    "is a share of expected deliveries, from 0 to 1",
                ));
            }
            Some(l) => l.get_ref().as_f64(),
            None => 0.0,
        };
        Ok(Search {
            field,
            start,
            factor,
            step,
            max,
            p99,
            loss,
        })
    }

    /// A number, or a non-empty list of them (a sweep), from a sweepable field.
    fn numbers(
        &self,
        v: &Spanned<toml::Value>,
        field: &str,
        integer: bool,
    ) -> Result<Vec<Spanned<Number>>, ScenarioError> {
        let kind = if integer { "an integer" } else { "a number" };
        let one = |value: &toml::Value| match value {
            toml::Value::Integer(i) => Ok(Number::Int(*i)),
            toml::Value::Float(f) if !integer => Ok(Number::Float(*f)),
            other => Err(self.error(
                v.span(),
                field,
                format!(
                    "must be {kind} or a list of them (a sweep), not {}",
                    describe_value(other)
                ),
            )),
        };
        match v.get_ref() {
            toml::Value::Array(items) if items.is_empty() => Err(self.error(
                v.span(),
                field,
                "an empty list sweeps nothing: give at least one value",
            )),
            toml::Value::Array(items) => items
                .iter()
                .map(|item| one(item).map(|n| Spanned::new(v.span(), n)))
                .collect(),
            value => Ok(vec![Spanned::new(v.span(), one(value)?)]),
        }
    }

    fn duration(&self, v: &Spanned<String>, field: &str) -> Result<HumanDuration, ScenarioError> {
        parse_duration(v.get_ref()).map_err(|m| self.error(v.span(), field, m))
    }
}

/// A TOML value as an error message names it.
fn describe_value(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("the string \"{s}\""),
        toml::Value::Float(f) => format!("{f}"),
        toml::Value::Boolean(b) => format!("{b}"),
        toml::Value::Array(_) => "a nested list".to_owned(),
        other => format!("a {}", other.type_str()),
    }
}

/// 1-based line and column of byte `offset` in `source`.
fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.chars().rev().take_while(|&c| c != '\n').count() + 1;
    (line, column)
}

impl Scenario {
    /// Reads and validates a scenario file.
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Scenario, ScenarioError> {
        let source = std::fs::read_to_string(path).map_err(|e| ScenarioError {
            file: path.to_owned(),
            line: 1,
            column: 1,
            field: String::new(),
            message: format!("cannot read the scenario: {e}"),
        })?;
        Scenario::parse(path, &source, overrides)
    }

    /// Validates scenario text; `file` only names it in errors.
    pub fn parse(
        file: &Path,
        source: &str,
        overrides: &Overrides,
    ) -> Result<Scenario, ScenarioError> {
        let check = Checker { file, source };
        let raw: RawScenario = toml::from_str(source).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            let message = e
                .message()
                .trim()
                .replace('\n', " ")
                .replace("expected i64", "expected an integer")
                .replace("expected f64", "expected a number");
            let mut field = field_of_toml_error(&message);
            if field.is_empty() {
                field = key_before(source, span.start);
            }
            check.error(span, &field, message)
        })?;

        // Numeric fields given as lists are the axes of a sweep: every combination is
        // validated, and the scenario keeps the first with the axes recorded.
        let mut lists = BTreeMap::new();
        for (field, value, integer) in [
            ("clients", &raw.clients, true),
            ("senders", &raw.senders, true),
            ("rate", &raw.rate, false),
            ("payload", &raw.payload, true),
        ] {
            lists.insert(field, check.numbers(value, field, integer)?);
        }
        let nodes = match &raw.nodes {
            Some(v) => check.numbers(v, "nodes", true)?,
            None => vec![Spanned::new(0..0, Number::Int(1))],
        };
        lists.insert("nodes", nodes);
        if let Some(n) = overrides.clients {
            let span = raw.clients.span();
            lists.insert("clients", vec![Spanned::new(span, Number::Int(n as i64))]);
        }
        let axes: Vec<(&str, &Vec<Spanned<Number>>)> = lists
            .iter()
            .filter(|(_, v)| v.len() > 1)
            .map(|(k, v)| (*k, v))
            .collect();
        let mut first = None;
        for point in 0..axes.iter().map(|(_, v)| v.len()).product::<usize>() {
            // The point's index along each axis, first axis slowest.
            let mut rest = point;
            let mut chosen: BTreeMap<&str, Spanned<Number>> =
                lists.iter().map(|(k, v)| (*k, v[0].clone())).collect();
            for (field, values) in axes.iter().rev() {
                chosen.insert(field, values[rest % values.len()].clone());
                rest /= values.len();
            }
            let scenario = Scenario::build(&check, &raw, &chosen, overrides)?;
            first.get_or_insert(scenario);
        }
        let mut scenario = first.expect("a sweep has at least one point");
        if let Some(d) = &raw.kill_node_at
            && lists["nodes"].iter().all(|n| n.get_ref().as_i64() < 2)
        {
            return Err(check.error(
                d.span(),
                "kill_node_at",
                "needs a cluster (nodes = 2 or more) so that other nodes go on; it applies to \
                 the clustered points of a sweep",
            ));
        }
        if let Some(raw_search) = &raw.search {
            if !axes.is_empty() {
                return Err(check.error(
                    raw_search.span(),
                    "search",
                    "a search raises one field itself: it cannot be combined with a sweep (a list-valued field)",
                ));
            }
            let search = check.search(raw_search)?;
            // Every value it may reach must make a valid scenario.
            let field = search.field.as_str();
            for v in search.values() {
                let mut chosen: BTreeMap<&str, Spanned<Number>> = lists
                    .iter()
                    .map(|(k, vals)| (*k, vals[0].clone()))
                    .collect();
                let n = if field == "rate" {
                    Number::Float(v)
                } else {
                    Number::Int(v as i64)
                };
                chosen.insert(field, Spanned::new(raw_search.get_ref().start.span(), n));
                Scenario::build(&check, &raw, &chosen, overrides).map_err(|mut e| {
                    e.message = format!("{} (when the search reaches {field} = {v})", e.message);
                    e
                })?;
            }
            scenario.search = Some(search);
        }
        scenario.sweep = axes
            .iter()
            .map(|(field, values)| SweepAxis {
                field: (*field).to_owned(),
                values: values.iter().map(|v| v.get_ref().as_f64()).collect(),
            })
            .collect();
        Ok(scenario)
    }

    /// Validates one point of the scenario: `chosen` holds the value of each sweepable field.
    fn build(
        check: &Checker<'_>,
        raw: &RawScenario,
        chosen: &BTreeMap<&str, Spanned<Number>>,
        overrides: &Overrides,
    ) -> Result<Scenario, ScenarioError> {
        let int = |field: &str| {
            let v = &chosen[field];
            Spanned::new(v.span(), v.get_ref().as_i64())
        };
        let name = raw.name.get_ref().trim().to_owned();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(check.error(
                raw.name.span(),
                "name",
                "must be non-empty and use only letters, digits, '-', '_' and '.' (it names the result directory)",
            ));
        }

        let mut transports = Vec::new();
        for t in raw.transports.get_ref() {
            let transport: Transport = t
                .get_ref()
                .parse()
                .map_err(|m: String| check.error(t.span(), "transports", m))?;
            if transports.contains(&transport) {
                return Err(check.error(
                    t.span(),
                    "transports",
                    format!("'{transport}' is listed twice"),
                ));
            }
            transports.push(transport);
        }
        if transports.is_empty() {
            return Err(check.error(
                raw.transports.span(),
                "transports",
                "must name at least one transport",
            ));
        }
        if !overrides.transports.is_empty() {
            transports = overrides.transports.clone();
        }

        let clients = match overrides.clients {
            Some(n) if n < 2 => {
                return Err(override_error(
                    "--clients",
                    format!("must be at least 2, not {n}"),
                ));
            }
            Some(n) => n,
            None => check.int_in(&int("clients"), "clients", 2, 200_000)?,
        };
        let raw_senders = int("senders");
        let senders = check.int_in(&raw_senders, "senders", 1, 200_000)?;
        if senders > clients {
            return Err(check.error(
                raw_senders.span(),
                "senders",
                format!("cannot exceed clients ({clients}), not {senders}"),
            ));
        }

        let mode = match &raw.mode {
            None => Mode::Broadcast,
            Some(m) => match m.get_ref().as_str() {
                "broadcast" => Mode::Broadcast,
                "echo" => Mode::Echo,
                "rooms" => Mode::Rooms,
                other => {
                    return Err(check.error(
                        m.span(),
                        "mode",
                        format!("unknown mode '{other}' (expected broadcast, echo or rooms)"),
                    ));
                }
            },
        };
        let room_size = match (&raw.room_size, mode) {
            (Some(r), Mode::Rooms) => Some(check.int_in(r, "room_size", 2, 1_000_000)?),
            (Some(r), _) => {
                return Err(check.error(r.span(), "room_size", "only applies to mode = \"rooms\""));
            }
            (None, Mode::Rooms) => {
                let at = raw.mode.as_ref().map_or(0..0, |m| m.span());
                return Err(check.error(
                    at,
                    "room_size",
                    "mode = \"rooms\" needs room_size (clients per room, at least 2)",
                ));
            }
            (None, _) => None,
        };

        let raw_rate = &chosen["rate"];
        let rate = raw_rate.get_ref().as_f64();
        if !(rate > 0.0 && rate <= 100_000.0) {
            return Err(check.error(
                raw_rate.span(),
                "rate",
                format!("must be more than 0 and at most 100000 messages per second per sender, not {rate}"),
            ));
        }
        let payload = check.int_in(
            &int("payload"),
            "payload",
            probe::HEADER_LEN as i64,
            MAX_PAYLOAD as i64,
        )?;

        let encoding = match &raw.encoding {
            None => Encoding::Text,
            Some(e) => match e.get_ref().as_str() {
                "text" => Encoding::Text,
                "binary" => Encoding::Binary,
                other => {
                    return Err(check.error(
                        e.span(),
                        "encoding",
                        format!("unknown encoding '{other}' (expected text or binary)"),
                    ));
                }
            },
        };

        let ramp = match &raw.ramp {
            None => Ramp::PerSecond(1000),
            Some(r) => match r.get_ref() {
                RawRamp::PerSecond(n) if *n >= 1 => Ramp::PerSecond(*n as u64),
                RawRamp::PerSecond(n) => {
                    return Err(check.error(
                        r.span(),
                        "ramp",
                        format!("must be at least 1 connection per second, not {n}"),
                    ));
                }
                RawRamp::Over(text) => {
                    Ramp::Over(parse_duration(text).map_err(|m| check.error(r.span(), "ramp", m))?)
                }
            },
        };

        let warmup = check.duration(&raw.warmup, "warmup")?;
        let duration = match overrides.duration {
            Some(d) if d.is_zero() => {
                return Err(override_error("--duration", "must be more than 0"));
            }
            Some(d) => HumanDuration(d),
            None => check.duration(&raw.duration, "duration")?,
        };
        if duration.0.is_zero() {
            return Err(check.error(raw.duration.span(), "duration", "must be more than 0"));
        }
        let drain = match &raw.drain {
            None => HumanDuration(Duration::from_secs(2)),
            Some(d) => check.duration(d, "drain")?,
        };
        let repeat = match &raw.repeat {
            None => 1,
            Some(r) => check.int_in(r, "repeat", 1, 100)?,
        };
        let workers = match &raw.workers {
            None => None,
            Some(w) => Some(check.int_in(w, "workers", 1, 256)?),
        };

        let socketio_client = match &raw.socketio_client {
            None => SocketioClient::Lean,
            Some(c) => match c.get_ref().as_str() {
                "lean" => SocketioClient::Lean,
                "rust_socketio" => SocketioClient::RustSocketio,
                other => {
                    return Err(check.error(
                        c.span(),
                        "socketio_client",
                        format!("unknown client '{other}' (expected lean or rust_socketio)"),
                    ));
                }
            },
        };

        // A share (0.1) or a count (100) of clients that stop reading.
        let stalled = match &raw.stalled {
            None => 0,
            Some(v) => {
                let n = v.get_ref().as_f64();
                let count = if n > 0.0 && n < 1.0 {
                    (n * clients as f64).ceil() as u64
                } else if n >= 0.0 && n.fract() == 0.0 {
                    n as u64
                } else {
                    return Err(check.error(
                        v.span(),
                        "stalled",
                        format!(
                            "is a share of clients (0 to 1) or a whole number of clients, not {n}"
                        ),
                    ));
                };
                if count + senders > clients {
                    return Err(check.error(
                        v.span(),
                        "stalled",
                        format!(
                            "{count} stalled clients and {senders} senders exceed the {clients} clients: stalled clients never send"
                        ),
                    ));
                }
                if count > 0 && mode != Mode::Broadcast {
                    return Err(check.error(
                        v.span(),
                        "stalled",
                        "slow consumers are measured in mode = \"broadcast\" only",
                    ));
                }
                count
            }
        };
        let overflow = match &raw.overflow {
            None => OverflowPolicy::default(),
            Some(o) => o.get_ref().parse().map_err(|_| {
                check.error(
                    o.span(),
                    "overflow",
                    format!(
                        "unknown policy '{}' (expected drop or disconnect)",
                        o.get_ref()
                    ),
                )
            })?,
        };

        let queue_capacity = match &raw.queue_capacity {
            None => None,
            Some(q) => Some(check.int_in(q, "queue_capacity", 1, 1_000_000)?),
        };

        let outage = match &raw.outage {
            None => None,
            Some(o) => {
                let raw_o = o.get_ref();
                let or_default = |v: &Option<Spanned<String>>, field: &str, default: u64| {
                    v.as_ref()
                        .map_or(Ok(HumanDuration(Duration::from_millis(default))), |v| {
                            check.duration(v, field)
                        })
                };
                let at = check.duration(&raw_o.at, "outage.at")?;
                if at >= duration {
                    return Err(check.error(
                        raw_o.at.span(),
                        "outage.at",
                        format!("must fall inside the measured window (duration = {duration})"),
                    ));
                }
                let delay = or_default(&raw_o.reconnect_delay, "outage.reconnect_delay", 1000)?;
                let delay_max = or_default(
                    &raw_o.reconnect_delay_max,
                    "outage.reconnect_delay_max",
                    5000,
                )?;
                if delay.0.is_zero() || delay_max < delay {
                    let at = raw_o
                        .reconnect_delay
                        .as_ref()
                        .or(raw_o.reconnect_delay_max.as_ref())
                        .map_or(o.span(), |v| v.span());
                    return Err(check.error(
                        at,
                        "outage.reconnect_delay",
                        "must be more than 0 and at most reconnect_delay_max",
                    ));
                }
                if raw.target.as_ref().is_some_and(|t| !t.is_empty()) {
                    return Err(check.error(
                        o.span(),
                        "outage",
                        "kills the built-in servers; it cannot be combined with [target]",
                    ));
                }
                Some(Outage {
                    at,
                    down: or_default(&raw_o.down, "outage.down", 1000)?,
                    reconnect_delay: delay,
                    reconnect_delay_max: delay_max,
                })
            }
        };

        let raw_nodes = int("nodes");
        let nodes = check.int_in(&raw_nodes, "nodes", 1, 16)?;
        if nodes > 1 && (raw.outage.is_some() || raw.target.is_some()) {
            return Err(check.error(
                raw_nodes.span(),
                "nodes",
                "a cluster runs built-in servers and kills nodes itself: it cannot be combined with [target] or [outage]",
            ));
        }
        let kill_node_at = match &raw.kill_node_at {
            None => None,
            Some(d) => {
                let at = check.duration(d, "kill_node_at")?;
                if at >= duration {
                    return Err(check.error(
                        d.span(),
                        "kill_node_at",
                        format!("must fall inside the measured window (duration = {duration})"),
                    ));
                }
                Some(at)
            }
        };

        let mut target = BTreeMap::new();
        for (key, url) in raw.target.iter().flatten() {
            let transport: Transport = key
                .get_ref()
                .parse()
                .map_err(|m: String| check.error(key.span(), "target", m))?;
            let field = format!("target.{transport}");
            check_target_url(transport, url.get_ref())
                .map_err(|m| check.error(url.span(), &field, m))?;
            target.insert(transport, url.get_ref().clone());
        }
        for (transport, url) in &overrides.targets {
            check_target_url(*transport, url).map_err(|m| override_error("--target", m))?;
            target.insert(*transport, url.clone());
        }
        if outage.is_some() && !overrides.targets.is_empty() {
            return Err(override_error(
                "--target",
                "this scenario has an [outage], which kills the built-in servers",
            ));
        }

        let mut thresholds = Thresholds::default();
        let mut transport_thresholds = BTreeMap::new();
        if let Some(raw) = &raw.thresholds {
            let all = RawLimits {
                p99: raw.p99.clone(),
                loss: raw.loss.clone(),
                delivered_per_s: raw.delivered_per_s.clone(),
                memory_per_connection: raw.memory_per_connection.clone(),
                server_rss_peak: raw.server_rss_peak.clone(),
            };
            thresholds = check.limits(&all, "thresholds")?;
            for (transport, limits) in [
                (Transport::Ws, &raw.ws),
                (Transport::Socketio, &raw.socketio),
                (Transport::SocketioPolling, &raw.socketio_polling),
            ] {
                if let Some(limits) = limits {
                    let field = format!("thresholds.{transport}");
                    transport_thresholds.insert(transport, check.limits(limits, &field)?);
                }
            }
        }

        Ok(Scenario {
            name,
            transports,
            clients,
            ramp,
            mode,
            room_size,
            senders,
            rate,
            payload,
            encoding,
            warmup,
            duration,
            drain,
            repeat,
            workers,
            socketio_client,
            sweep: Vec::new(),
            search: None,
            stalled,
            overflow,
            queue_capacity,
            nodes,
            kill_node_at,
            outage,
            target,
            thresholds,
            transport_thresholds,
        })
    }

    /// Every point to run, first axis slowest; one point, with no values, without a sweep.
    pub fn points(&self) -> Vec<SweepPoint> {
        let mut points = vec![SweepPoint {
            values: BTreeMap::new(),
            scenario: Scenario {
                sweep: Vec::new(),
                ..self.clone()
            },
        }];
        for axis in &self.sweep {
            points = points
                .into_iter()
                .flat_map(|p| {
                    axis.values.iter().map(move |&v| {
                        let mut next = p.clone();
                        next.values.insert(axis.field.clone(), v);
                        next.scenario.set(&axis.field, v);
                        next
                    })
                })
                .collect();
        }
        points
    }

    /// Sets a sweepable field.
    pub fn set(&mut self, field: &str, value: f64) {
        match field {
            "clients" => self.clients = value as u64,
            "senders" => self.senders = value as u64,
            "rate" => self.rate = value,
            "payload" => self.payload = value as u64,
            "nodes" => self.nodes = value as u64,
            other => panic!("{other} is not a sweepable field"),
        }
    }

    /// The largest number of clients any point, or any step of a search, opens (for
    /// descriptor limits).
    pub fn max_clients(&self) -> u64 {
        self.max_of("clients", |s| s.clients)
    }

    /// The largest number of senders of any point or search step (each needs a timer).
    pub fn max_senders(&self) -> u64 {
        self.max_of("senders", |s| s.senders)
    }

    fn max_of(&self, field: &str, get: fn(&Scenario) -> u64) -> u64 {
        let searched = match &self.search {
            Some(s) if s.field == field => s.values().last().copied().unwrap_or(0.0) as u64,
            _ => 0,
        };
        self.points()
            .iter()
            .map(|p| get(&p.scenario))
            .max()
            .unwrap_or(get(self))
            .max(searched)
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

fn override_error(flag: &str, message: impl Into<String>) -> ScenarioError {
    ScenarioError {
        file: PathBuf::from("<command line>"),
        line: 1,
        column: 1,
        field: flag.to_owned(),
        message: message.into(),
    }
}

/// The key of the `key = value` line holding byte `offset`, if the offset is in the value.
fn key_before(source: &str, offset: usize) -> String {
    let offset = offset.min(source.len());
    let line_start = source[..offset].rfind('\n').map_or(0, |i| i + 1);
    match source[line_start..offset].split_once('=') {
        Some((key, _)) => key.trim().to_owned(),
        None => String::new(),
    }
}

/// The field a toml/serde message is about, where it names one.
fn field_of_toml_error(message: &str) -> String {
    for prefix in ["missing field `", "unknown field `", "duplicate key `"] {
        if let Some(rest) = message.split(prefix).nth(1)
            && let Some(field) = rest.split('`').next()
        {
            return field.to_owned();
        }
    }
    String::new()
}

/// Load may only go to this machine: a target must be a loopback address.
fn check_target_url(transport: Transport, text: &str) -> Result<(), String> {
    let url = url::Url::parse(text).map_err(|e| format!("'{text}' is not a URL ({e})"))?;
    let schemes: &[&str] = match transport {
        Transport::Ws => &["ws"],
        Transport::Socketio | Transport::SocketioPolling => &["http", "ws"],
    };
    if !schemes.contains(&url.scheme()) {
        return Err(format!(
            "scheme '{}' is not supported for {transport} (use {})",
            url.scheme(),
            schemes.join(" or ")
        ));
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    };
    if !loopback {
        return Err(format!(
            "'{text}' is not on this machine: wsbench sends load only to loopback (127.0.0.0/8, ::1, localhost)"
        ));
    }
    Ok(())
}
