//! The rules of a scenario, one function per section of the file, every cross-field rule
//! among them. All of them run before anything is started; each records what is wrong
//! and lets the others go on.

use std::collections::BTreeMap;
use std::ops::Range;

use super::checker::{Checker, Fields};
use super::parse::Overrides;
use super::sweep::SweepField;
use super::systems::{self, SystemDef};
use super::toml::{Kind, Value};
use super::{
    Encoding, HumanDuration, Mode, Outage, Ramp, ScenarioError, SocketioClient, Thresholds,
};
use super::{failures, limits};
use crate::cpus::CpuSet;
use crate::policy::OverflowPolicy;
use crate::system::SystemName;

/// A value and where it was read (the span of a file's value; `0..0` for a default).
#[derive(Debug, Clone)]
pub(super) struct At<T> {
    pub v: T,
    pub span: Range<usize>,
}

impl<T> At<T> {
    pub fn new(v: T, span: Range<usize>) -> Self {
        At { v, span }
    }
}

/// Every field that is the same at every point of a sweep, checked once.
#[derive(Debug, Clone)]
pub(super) struct Common {
    pub name: String,
    pub compared: Vec<SystemName>,
    pub mode: At<Mode>,
    pub room_size: Option<u64>,
    pub encoding: Encoding,
    pub ramp: Ramp,
    pub warmup: HumanDuration,
    pub duration: HumanDuration,
    pub drain: HumanDuration,
    pub repeat: u64,
    pub workers: Option<u64>,
    pub socketio_client: SocketioClient,
    /// As given (a share or a count); the count depends on each point's clients.
    pub stalled: Option<At<f64>>,
    pub overflow: OverflowPolicy,
    pub queue_capacity: Option<u64>,
    pub outage: Option<At<Outage>>,
    pub kill_node_at: Option<At<HumanDuration>>,
    /// Whether the file has a `[target]` table (a cluster cannot use one).
    pub has_target: bool,
    pub target: BTreeMap<SystemName, String>,
    pub target_pids: BTreeMap<SystemName, u32>,
    pub systems: BTreeMap<SystemName, SystemDef>,
    pub adapters: BTreeMap<SystemName, crate::adapter::Adapter>,
    pub allow_remote: bool,
    pub server_cpus: Option<CpuSet>,
    pub loadgen_cpus: Option<CpuSet>,
    pub thresholds: Thresholds,
    pub system_thresholds: BTreeMap<SystemName, Thresholds>,
    pub tls: bool,
    pub tls_trust: super::TlsTrust,
    pub tls_resumption: bool,
    pub payload_kind: super::PayloadKind,
    pub compression: bool,
    pub deflate: super::DeflateOffer,
    pub network: Option<super::Network>,
    pub proxy: Option<At<super::Proxy>>,
}

/// The sweepable fields' values at one point (a field whose value was wrong is absent).
pub(super) type PointValues = BTreeMap<SweepField, At<f64>>;

/// Checks every section that does not depend on a sweep point; says whether all of them
/// were right.
pub(super) fn common(check: &Checker<'_>, f: &Fields<'_>, o: &Overrides) -> (Common, bool) {
    let name = name(check, f);
    let systems = systems::systems(check, f);
    let known = systems.clone().unwrap_or_default();
    let transports = systems::transports(check, f, o, &known);
    let (mode, room_size) = mode(check, f);
    let encoding = pick(check, f, "encoding", Encoding::Text);
    let ramp = ramp(check, f);
    let (warmup, duration, drain) = timing(check, f, o);
    // Read (and checked) whether or not `--repeat` overrides it.
    let file_repeat = optional(f, "repeat", |v| check.int_in("repeat", v, 1, 100), 1);
    let repeat = match o.repeat {
        Some(n) if !(1..=100).contains(&n) => {
            check.push(ScenarioError::flag("--repeat", "must be from 1 to 100"));
            None
        }
        Some(n) => Some(n),
        None => file_repeat,
    };
    let workers = given(f, "workers", |v| check.int_in("workers", v, 1, 256));
    let socketio_client = pick(check, f, "socketio_client", SocketioClient::Lean);
    let stalled = given(f, "stalled", |v| {
        check
            .number("stalled", v)
            .map(|n| At::new(n, v.span.clone()))
    });
    let overflow = optional(f, "overflow", |v| overflow(check, v), OverflowPolicy::Drop);
    let queue_capacity = given(f, "queue_capacity", |v| {
        check.int_in("queue_capacity", v, 1, 1_000_000)
    });
    let has_target = f.get("target").is_some();
    let targets = limits::targets(check, f, o, &known);
    let adapters = super::adapter::adapters(check, f, &known);
    let outage = duration.and_then(|d| failures::outage(check, f, d, has_target, o));
    let kill_node_at = duration.and_then(|d| failures::kill_node_at(check, f, d));
    let (thresholds, system_thresholds) = limits::thresholds(check, f, &known);
    let server_cpus = cpus(check, f, "server_cpus", "--server-cpus", &o.server_cpus);
    let loadgen_cpus = cpus(check, f, "loadgen_cpus", "--loadgen-cpus", &o.loadgen_cpus);
    let tls = super::tls::tls(check, f, o);
    let tls_resumption = super::tls::resumption(check, f);
    let payload_kind = pick(check, f, "payload_kind", super::PayloadKind::Padded);
    let compression = super::compression::compression(check, f);
    let network = super::network::network(check, f);
    let proxy = super::proxy::proxy(check, f);
    let mut complete = true;
    let mut got = |ok: bool| complete &= ok;
    got(name.is_some() && transports.is_some() && mode.is_some() && room_size.is_some());
    got(encoding.is_some() && ramp.is_some() && warmup.is_some() && duration.is_some());
    got(drain.is_some() && repeat.is_some() && workers.is_some());
    got(socketio_client.is_some() && stalled.is_some() && overflow.is_some());
    got(queue_capacity.is_some() && outage.is_some() && kill_node_at.is_some());
    got(targets.is_some() && thresholds.is_some() && system_thresholds.is_some());
    got(systems.is_some() && server_cpus.is_some() && loadgen_cpus.is_some() && adapters.is_some());
    got(tls.is_some() && payload_kind.is_some() && compression.is_some() && network.is_some());
    got(proxy.is_some() && tls_resumption.is_some());
    let (tls, tls_trust) = tls.unwrap_or_default();
    let (compression, deflate) = compression.unwrap_or_default();
    let (target, target_pids) = targets.unwrap_or_default();
    // What failed takes a neutral default, so that the points are still checked; the
    // scenario itself is then not used.
    let common = Common {
        name: name.unwrap_or_default(),
        compared: transports.unwrap_or_default(),
        mode: mode.unwrap_or(At::new(Mode::Broadcast, 0..0)),
        room_size: room_size.flatten(),
        encoding: encoding.unwrap_or_default(),
        ramp: ramp.unwrap_or(Ramp::PerSecond(1000)),
        warmup: warmup.unwrap_or_default(),
        duration: duration.unwrap_or_default(),
        drain: drain.unwrap_or_default(),
        repeat: repeat.unwrap_or(1),
        workers: workers.flatten(),
        socketio_client: socketio_client.unwrap_or_default(),
        stalled: stalled.flatten(),
        overflow: overflow.unwrap_or_default(),
        queue_capacity: queue_capacity.flatten(),
        outage: outage.flatten(),
        kill_node_at: kill_node_at.flatten(),
        has_target,
        target,
        target_pids,
        systems: known,
        adapters: adapters.unwrap_or_default(),
        allow_remote: o.allow_remote,
        server_cpus: server_cpus.flatten(),
        loadgen_cpus: loadgen_cpus.flatten(),
        thresholds: thresholds.unwrap_or_default(),
        system_thresholds: system_thresholds.unwrap_or_default(),
        tls,
        tls_trust,
        tls_resumption: tls_resumption.unwrap_or_default(),
        payload_kind: payload_kind.unwrap_or_default(),
        compression,
        deflate,
        network: network.flatten(),
        proxy: proxy.flatten(),
    };
    systems::client_library(check, &common);
    systems::servers_exist(check, f, &common);
    super::tls::servers_take_tls(check, f, &common);
    super::compression::clients_offer_it(check, f, &common);
    (common, complete)
}

/// `read(value)` of a field that may be left out: `Some(None)` when it is, `None` only
/// when its value is wrong.
pub(super) fn given<T>(
    f: &Fields<'_>,
    key: &str,
    read: impl FnOnce(&Value) -> Option<T>,
) -> Option<Option<T>> {
    match f.get(key) {
        Some(v) => read(v).map(Some),
        None => Some(None),
    }
}

/// One of an enum's names, or its default when the field is left out.
fn pick<T: std::str::FromStr<Err = String>>(
    check: &Checker<'_>,
    f: &Fields<'_>,
    key: &str,
    default: T,
) -> Option<T> {
    optional(f, key, |v| check.choice(key, v), default)
}

/// `read(value)` of an optional field, or its default: `None` only when the value is wrong.
fn optional<T>(
    f: &Fields<'_>,
    key: &str,
    read: impl FnOnce(&Value) -> Option<T>,
    default: T,
) -> Option<T> {
    match f.get(key) {
        Some(v) => read(v),
        None => Some(default),
    }
}

fn name(check: &Checker<'_>, f: &Fields<'_>) -> Option<String> {
    let v = f.required(check, "name")?;
    let name = check.string("name", v)?.trim().to_owned();
    let usable = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !usable {
        return check.fail(
            v.span.clone(),
            "name",
            "must be non-empty and use only letters, digits, '-', '_' and '.' (it names the result directory)",
        );
    }
    Some(name)
}

fn mode(check: &Checker<'_>, f: &Fields<'_>) -> (Option<At<Mode>>, Option<Option<u64>>) {
    let raw = f.get("mode");
    let mode = match raw {
        None => Some(At::new(Mode::Broadcast, 0..0)),
        Some(v) => check.choice("mode", v).map(|m| At::new(m, v.span.clone())),
    };
    let Some(mode) = mode else {
        // Read, so that it is not reported as unknown; it cannot be checked without a mode.
        let _ = f.get("room_size");
        return (None, None);
    };
    let room_size = match (f.get("room_size"), mode.v) {
        (Some(r), Mode::Rooms) => check.int_in("room_size", r, 2, 1_000_000).map(Some),
        (Some(r), _) => check.fail(
            r.span.clone(),
            "room_size",
            "only applies to mode = \"rooms\"",
        ),
        (None, Mode::Rooms) => check.fail(
            mode.span.clone(),
            "room_size",
            "mode = \"rooms\" needs room_size (clients per room, at least 2)",
        ),
        (None, _) => Some(None),
    };
    (Some(mode), room_size)
}

fn ramp(check: &Checker<'_>, f: &Fields<'_>) -> Option<Ramp> {
    let Some(v) = f.get("ramp") else {
        return Some(Ramp::PerSecond(1000));
    };
    match &v.kind {
        Kind::Int(n) if *n >= 1 => Some(Ramp::PerSecond(*n as u64)),
        Kind::Int(n) => check.fail(
            v.span.clone(),
            "ramp",
            format!("must be at least 1 connection per second, not {n}"),
        ),
        Kind::Str(_) => check.duration("ramp", v).map(Ramp::Over),
        _ => check.fail(
            v.span.clone(),
            "ramp",
            format!(
                "must be connections per second (ramp = 500) or a duration (ramp = \"2s\"), not {}",
                v.describe()
            ),
        ),
    }
}

type Timing = (
    Option<HumanDuration>,
    Option<HumanDuration>,
    Option<HumanDuration>,
);

/// Warm-up, measured window (or `--duration`) and drain.
fn timing(check: &Checker<'_>, f: &Fields<'_>, o: &Overrides) -> Timing {
    let warmup = f
        .required(check, "warmup")
        .and_then(|v| check.duration("warmup", v));
    let file_duration = f.required(check, "duration").and_then(|v| {
        let d = check.duration("duration", v)?;
        if d.0.is_zero() {
            return check.fail(v.span.clone(), "duration", "must be more than 0");
        }
        Some(d)
    });
    let duration = match o.duration {
        Some(d) if d.is_zero() => {
            check.push(ScenarioError::flag("--duration", "must be more than 0"));
            None
        }
        Some(d) if d > super::MAX_DURATION => {
            check.push(ScenarioError::flag("--duration", "must be at most a day"));
            None
        }
        Some(d) => Some(HumanDuration(d)),
        None => file_duration,
    };
    let drain = optional(
        f,
        "drain",
        |v| check.duration("drain", v),
        HumanDuration(std::time::Duration::from_secs(2)),
    );
    (warmup, duration, drain)
}

/// A CPU set from the file (`key`) or its command-line `flag`, whose every CPU this
/// process may use.
fn cpus(
    check: &Checker<'_>,
    f: &Fields<'_>,
    key: &str,
    flag: &str,
    from_flag: &Option<CpuSet>,
) -> Option<Option<CpuSet>> {
    let usable = CpuSet::of_this_process();
    let missing = |set: &CpuSet| -> Option<String> {
        let usable = usable.as_ref()?;
        let gone: Vec<String> = set
            .cpus()
            .iter()
            .filter(|c| !usable.cpus().contains(c))
            .map(ToString::to_string)
            .collect();
        (!gone.is_empty()).then(|| {
            format!(
                "CPU {} is not available here (this process may use {usable})",
                gone.join(", ")
            )
        })
    };
    if let Some(set) = from_flag {
        if let Some(why) = missing(set) {
            check.push(ScenarioError::flag(flag, why));
            return None;
        }
        let _ = f.get(key);
        return Some(Some(set.clone()));
    }
    given(f, key, |v| {
        let set: CpuSet = check.choice(key, v)?;
        match missing(&set) {
            Some(why) => check.fail(v.span.clone(), key, why),
            None => Some(set),
        }
    })
}

fn overflow(check: &Checker<'_>, v: &Value) -> Option<OverflowPolicy> {
    let s = check.string("overflow", v)?;
    s.parse().ok().or_else(|| {
        check.fail(
            v.span.clone(),
            "overflow",
            format!("unknown policy '{s}' (expected drop or disconnect)"),
        )
    })
}
