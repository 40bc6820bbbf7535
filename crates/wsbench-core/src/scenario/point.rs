//! The rules of one point of a sweep (or step of a search): the load's size and shape.

use std::ops::Range;

use super::check::{At, Common, PointValues};
use super::checker::Checker;
use super::parse::Overrides;
use super::sweep::SweepField;
use super::{MAX_PAYLOAD, Mode, Scenario, ScenarioError};
use crate::probe;

/// Checks one point's load (clients, senders, rate, payload, nodes, slow consumers) and
/// makes its scenario. A field absent from `values` (its value was wrong) is skipped, and
/// so is every rule that needs it.
pub(super) fn point(
    check: &Checker<'_>,
    c: &Common,
    values: &PointValues,
    o: &Overrides,
) -> Option<Scenario> {
    let int = |field: SweepField| values.get(&field).map(|v| (v.v as i64, v.span.clone()));
    let ranged = |field: SweepField, min: i64, max: i64| {
        let (n, span) = int(field)?;
        check.in_range(span, field.as_str(), n, min, max)
    };
    let clients = match o.clients {
        Some(n) => clients_flag(check, n),
        None => ranged(SweepField::Clients, 2, 200_000),
    };
    let senders = senders(check, int(SweepField::Senders), clients);
    let rate = values
        .get(&SweepField::Rate)
        .and_then(|rate| self::rate(check, rate));
    let payload = ranged(
        SweepField::Payload,
        probe::HEADER_LEN as i64,
        MAX_PAYLOAD as i64,
    );
    if let (Some(p), Some(v)) = (payload, values.get(&SweepField::Payload)) {
        for m in super::adapter::payload_fits(&c.adapters, &c.compared, p) {
            check.report(v.span.clone(), "payload", m);
        }
        let least = c.payload_kind.min_payload() as u64;
        if p < least {
            let kind = c.payload_kind;
            let m = format!("payload_kind = \"{kind}\" needs at least {least} bytes, not {p}");
            check.report(v.span.clone(), "payload", m);
        }
    }
    let mut nodes = ranged(SweepField::Nodes, 1, 16);
    let commands = c.compared.iter().any(|t| c.systems.contains_key(t));
    if let (Some(n), Some((_, span))) = (nodes, int(SweepField::Nodes))
        && n > 1
        && (c.outage.is_some() || c.has_target || commands)
    {
        nodes = check.fail(
            span,
            "nodes",
            "a cluster runs built-in servers and kills nodes itself: it cannot be combined with [target], [outage] or [systems] servers",
        );
    }
    let stalled = stalled(check, c, clients?, senders?)?;
    let stalled_share = c.stalled.as_ref().map(|s| s.v).filter(|n| is_share(*n));
    Some(Scenario {
        name: c.name.clone(),
        compared: c.compared.clone(),
        clients: clients?,
        ramp: c.ramp,
        mode: c.mode.v,
        room_size: c.room_size,
        senders: senders?,
        rate: rate?,
        payload: payload?,
        encoding: c.encoding,
        payload_kind: c.payload_kind,
        warmup: c.warmup,
        duration: c.duration,
        drain: c.drain,
        repeat: c.repeat,
        workers: c.workers,
        socketio_client: c.socketio_client,
        sweep: Vec::new(),
        search: None,
        stalled,
        stalled_share,
        overflow: c.overflow,
        queue_capacity: c.queue_capacity,
        nodes: nodes?,
        kill_node_at: c.kill_node_at.as_ref().map(|k| k.v),
        outage: c.outage.as_ref().map(|o| o.v),
        target: c.target.clone(),
        target_pids: c.target_pids.clone(),
        systems: c.systems.clone(),
        adapter: c.adapters.clone(),
        allow_remote: c.allow_remote,
        server_cpus: c.server_cpus.clone(),
        loadgen_cpus: c.loadgen_cpus.clone(),
        thresholds: c.thresholds.clone(),
        system_thresholds: c.system_thresholds.clone(),
        tls: c.tls,
        tls_trust: c.tls_trust.clone(),
        tls_resumption: c.tls_resumption,
        compression: c.compression,
        deflate: c.deflate,
        network: c.network.clone(),
        proxy: c.proxy.as_ref().map(|p| p.v.clone()),
        points: Vec::new(),
        steps: Vec::new(),
    })
}

/// Messages per second per sender: more than none, at most 100,000.
fn rate(check: &Checker<'_>, rate: &At<f64>) -> Option<f64> {
    if rate.v > 0.0 && rate.v <= 100_000.0 {
        return Some(rate.v);
    }
    check.fail(
        rate.span.clone(),
        "rate",
        format!(
            "must be more than 0 and at most 100000 messages per second per sender, not {}",
            rate.v
        ),
    )
}

/// `--clients N`.
fn clients_flag(check: &Checker<'_>, n: u64) -> Option<u64> {
    let why = match n {
        0..2 => format!("must be at least 2, not {n}"),
        200_001.. => format!("must be at most 200000, not {n}"),
        _ => return Some(n),
    };
    check.push(ScenarioError::flag("--clients", why));
    None
}

/// Senders: at least one, and no more than the clients.
fn senders(
    check: &Checker<'_>,
    given: Option<(i64, Range<usize>)>,
    clients: Option<u64>,
) -> Option<u64> {
    let (n, span) = given?;
    let senders = check.in_range(span.clone(), "senders", n, 1, 200_000)?;
    match clients {
        Some(c) if senders > c => check.fail(
            span,
            "senders",
            format!("cannot exceed clients ({c}), not {senders}"),
        ),
        _ => Some(senders),
    }
}

/// Whether `stalled = n` is a share of the clients (0.1) rather than a count (100).
fn is_share(n: f64) -> bool {
    n > 0.0 && n < 1.0
}

/// The stalled clients among `clients` for a share of them, at each point and step.
fn stalled_of(share: f64, clients: u64) -> u64 {
    (share * clients as f64).ceil() as u64
}

/// Slow consumers: a share (0.1) or a count (100) of clients that stop reading.
fn stalled(check: &Checker<'_>, c: &Common, clients: u64, senders: u64) -> Option<u64> {
    let Some(At { v: n, span }) = c.stalled.clone() else {
        return Some(0);
    };
    let count = if is_share(n) {
        stalled_of(n, clients)
    } else if n >= 0.0 && n.fract() == 0.0 && n <= 1e9 {
        n as u64
    } else {
        return check.fail(
            span,
            "stalled",
            format!("is a share of clients (0 to 1) or a whole number of clients, not {n}"),
        );
    };
    if count + senders > clients {
        return check.fail(
            span,
            "stalled",
            format!(
                "{count} stalled clients and {senders} senders exceed the {clients} clients: stalled clients never send"
            ),
        );
    }
    if count > 0 && c.mode.v != Mode::Broadcast {
        return check.fail(
            span,
            "stalled",
            "slow consumers are measured in mode = \"broadcast\" only",
        );
    }
    Some(count)
}
