//! The rules of a scenario, one function per section of the file, every cross-field rule
//! among them. All of them run before anything is started; each records what is wrong
//! and lets the others go on.

use std::collections::BTreeMap;
use std::ops::Range;

use super::checker::{Checker, Fields};
use super::limits;
use super::parse::Overrides;
use super::sweep::SweepField;
use super::toml::{Kind, Value};
use super::{
    Encoding, HumanDuration, Mode, Outage, Ramp, ScenarioError, SocketioClient, Thresholds,
};
use crate::policy::OverflowPolicy;
use crate::system::{Protocol, SystemName};

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
    pub transports: Vec<SystemName>,
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
    pub thresholds: Thresholds,
    pub transport_thresholds: BTreeMap<SystemName, Thresholds>,
}

/// The sweepable fields' values at one point (a field whose value was wrong is absent).
pub(super) type PointValues = BTreeMap<SweepField, At<f64>>;

/// Checks every section that does not depend on a sweep point; says whether all of them
/// were right.
pub(super) fn common(check: &Checker<'_>, f: &Fields<'_>, o: &Overrides) -> (Common, bool) {
    let name = name(check, f);
    let transports = transports(check, f, o);
    let (mode, room_size) = mode(check, f);
    let encoding = optional(
        f,
        "encoding",
        |v| check.choice("encoding", v),
        Encoding::Text,
    );
    let ramp = ramp(check, f);
    let (warmup, duration, drain) = timing(check, f, o);
    let repeat = optional(f, "repeat", |v| check.int_in("repeat", v, 1, 100), 1);
    let workers = given(f, "workers", |v| check.int_in("workers", v, 1, 256));
    let socketio_client = optional(
        f,
        "socketio_client",
        |v| check.choice("socketio_client", v),
        SocketioClient::Lean,
    );
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
    let target = limits::targets(check, f, o);
    let outage = duration.and_then(|d| outage(check, f, d, has_target, o));
    let kill_node_at = duration.and_then(|d| kill_node_at(check, f, d));
    let (thresholds, transport_thresholds) = limits::thresholds(check, f);
    let mut complete = true;
    let mut got = |ok: bool| complete &= ok;
    got(name.is_some() && transports.is_some() && mode.is_some() && room_size.is_some());
    got(encoding.is_some() && ramp.is_some() && warmup.is_some() && duration.is_some());
    got(drain.is_some() && repeat.is_some() && workers.is_some());
    got(socketio_client.is_some() && stalled.is_some() && overflow.is_some());
    got(queue_capacity.is_some() && outage.is_some() && kill_node_at.is_some());
    got(target.is_some() && thresholds.is_some() && transport_thresholds.is_some());
    // What failed takes a neutral default, so that the points are still checked; the
    // scenario itself is then not used.
    let common = Common {
        name: name.unwrap_or_default(),
        transports: transports.unwrap_or_default(),
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
        target: target.unwrap_or_default(),
        thresholds: thresholds.unwrap_or_default(),
        transport_thresholds: transport_thresholds.unwrap_or_default(),
    };
    client_library(check, &common);
    servers_exist(check, f, &common);
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

/// The systems measured: the file's list, checked, or `--transport`'s.
fn transports(check: &Checker<'_>, f: &Fields<'_>, o: &Overrides) -> Option<Vec<SystemName>> {
    let v = f.required(check, "transports")?;
    let Kind::Array(items) = &v.kind else {
        return check.fail(
            v.span.clone(),
            "transports",
            format!(
                "must be a list such as [\"ws\", \"socketio\"], not {}",
                v.describe()
            ),
        );
    };
    let before = check.count();
    let mut names: Vec<SystemName> = Vec::new();
    for item in items {
        let Some(name) = check.choice::<SystemName>("transports", item) else {
            continue;
        };
        if names.contains(&name) {
            check.report(
                item.span.clone(),
                "transports",
                format!("'{name}' is listed twice"),
            );
        }
        names.push(name);
    }
    if items.is_empty() {
        check.report(
            v.span.clone(),
            "transports",
            "must name at least one transport",
        );
    }
    if check.count() > before {
        return None;
    }
    Some(if o.transports.is_empty() {
        names
    } else {
        o.transports.clone()
    })
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

/// `[outage]`: when the built-in server is killed, how long it stays down, and the
/// clients' reconnection schedule. `Some(None)` when there is none.
fn outage(
    check: &Checker<'_>,
    f: &Fields<'_>,
    duration: HumanDuration,
    has_target: bool,
    o: &Overrides,
) -> Option<Option<At<Outage>>> {
    let Some(v) = f.get("outage") else {
        return Some(None);
    };
    let t = Fields::new(check.table("outage", v)?, "outage", v.span.clone());
    let or_default = |key: &str, ms: u64| match t.get(key) {
        Some(d) => check.duration(&t.name(key), d),
        None => Some(HumanDuration(std::time::Duration::from_millis(ms))),
    };
    let at = t.required(check, "at").and_then(|a| {
        let at = check.duration("outage.at", a)?;
        if at >= duration {
            return check.fail(
                a.span.clone(),
                "outage.at",
                format!("must fall inside the measured window (duration = {duration})"),
            );
        }
        Some(at)
    });
    let down = or_default("down", 1000);
    let (delay, delay_max) = (
        or_default("reconnect_delay", 1000),
        or_default("reconnect_delay_max", 5000),
    );
    if let (Some(d), Some(max)) = (delay, delay_max)
        && (d.0.is_zero() || max < d)
    {
        let at = t
            .get("reconnect_delay")
            .or(t.get("reconnect_delay_max"))
            .map_or(v.span.clone(), |v| v.span.clone());
        check.report(
            at,
            "outage.reconnect_delay",
            "must be more than 0 and at most reconnect_delay_max",
        );
    }
    t.reject_unknown(
        check,
        &["at", "down", "reconnect_delay", "reconnect_delay_max"],
    );
    if has_target {
        check.report(
            v.span.clone(),
            "outage",
            "kills the built-in servers; it cannot be combined with [target]",
        );
    }
    if !o.targets.is_empty() {
        check.push(ScenarioError::flag(
            "--target",
            "this scenario has an [outage], which kills the built-in servers",
        ));
    }
    let outage = Outage {
        at: at?,
        down: down?,
        reconnect_delay: delay?,
        reconnect_delay_max: delay_max?,
    };
    Some(Some(At::new(outage, v.span.clone())))
}

fn kill_node_at(
    check: &Checker<'_>,
    f: &Fields<'_>,
    duration: HumanDuration,
) -> Option<Option<At<HumanDuration>>> {
    let Some(v) = f.get("kill_node_at") else {
        return Some(None);
    };
    let at = check.duration("kill_node_at", v)?;
    if at >= duration {
        return check.fail(
            v.span.clone(),
            "kill_node_at",
            format!("must fall inside the measured window (duration = {duration})"),
        );
    }
    Some(Some(At::new(at, v.span.clone())))
}

/// A system whose protocol has no built-in server needs a `[target]`.
fn servers_exist(check: &Checker<'_>, f: &Fields<'_>, c: &Common) {
    for name in &c.transports {
        let builtin = name.builtin().is_some_and(|p| p.spec().server.is_some());
        if !builtin && !c.target.contains_key(name) {
            let at = f.get("transports").map_or(0..0, |v| v.span.clone());
            check.report(
                at,
                "transports",
                format!("{name} has no built-in server: name yours with [target] {name} = URL"),
            );
        }
    }
}

/// rust_socketio (long-polling, or `socketio_client = "rust_socketio"`) reads on its own
/// and only broadcasts: modes, outages and slow consumers need the lean clients.
fn client_library(check: &Checker<'_>, c: &Common) {
    let uses_rust_socketio: Vec<&str> = c
        .transports
        .iter()
        .filter(|name| match name.builtin() {
            Some(Protocol::SocketioPolling) => true,
            Some(Protocol::Socketio) => c.socketio_client == SocketioClient::RustSocketio,
            _ => false,
        })
        .map(SystemName::as_str)
        .collect();
    if uses_rust_socketio.is_empty() {
        return;
    }
    let who = format!(
        "{} {} rust_socketio ({})",
        uses_rust_socketio.join(" and "),
        if uses_rust_socketio.len() == 1 {
            "uses"
        } else {
            "use"
        },
        if c.socketio_client == SocketioClient::RustSocketio {
            "socketio_client = \"rust_socketio\"; \"lean\" would not"
        } else {
            "long-polling always does"
        }
    );
    if c.mode.v != Mode::Broadcast {
        check.report(
            c.mode.span.clone(),
            "mode",
            format!(
                "mode = \"{}\" needs the lean Socket.IO client, but {who}, which only broadcasts",
                c.mode.v
            ),
        );
    }
    if let Some(outage) = &c.outage {
        check.report(
            outage.span.clone(),
            "outage",
            format!(
                "an outage needs the lean clients, which reconnect the way socket.io-client does, but {who}"
            ),
        );
    }
    if let Some(stalled) = c.stalled.as_ref().filter(|s| s.v > 0.0) {
        check.report(
            stalled.span.clone(),
            "stalled",
            format!("slow consumers need the lean clients, but {who}, which reads on its own"),
        );
    }
}
