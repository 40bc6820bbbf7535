//! Reading a scenario: the file's syntax first, then every rule of [`super::check`] at
//! every point of a sweep and every step of a search, all mistakes collected.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use super::check::{self, At, Common, PointValues};
use super::checker::{Checker, Fields};
use super::limits;
use super::point::point;
use super::sweep::{SweepAxis, SweepField, SweepPoint, combinations};
use super::toml::{self, Kind, Value};
use super::{Scenario, ScenarioError, ScenarioErrors};
use crate::system::SystemName;

/// One-run changes from the command line, applied before validation.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--clients`.
    pub clients: Option<u64>,
    /// `--duration`.
    pub duration: Option<Duration>,
    /// `--repeat`.
    pub repeat: Option<u64>,
    /// `--transport` (repeatable).
    pub compared: Vec<SystemName>,
    /// `--target SYSTEM=URL` (repeatable): servers to measure instead of built-in ones.
    pub targets: Vec<(SystemName, String)>,
    /// `--target-pid SYSTEM=PID` (repeatable): a target's process, to sample.
    pub target_pids: Vec<(SystemName, u32)>,
    /// `--server-cpus`.
    pub server_cpus: Option<crate::cpus::CpuSet>,
    /// `--loadgen-cpus`.
    pub loadgen_cpus: Option<crate::cpus::CpuSet>,
    /// `--allow-remote`: targets off this machine may be measured.
    pub allow_remote: bool,
    /// `--tls-ca-file`: replaces the scenario's `tls_ca_file` (and `tls_insecure`).
    pub tls_ca_file: Option<std::path::PathBuf>,
    /// `--tls-insecure`: replaces the scenario's trust.
    pub tls_insecure: bool,
}

/// The fields a scenario file may have at its top.
const FIELDS: [&str; 39] = [
    "name",
    "transports",
    "clients",
    "ramp",
    "mode",
    "room_size",
    "senders",
    "rate",
    "payload",
    "encoding",
    "warmup",
    "duration",
    "drain",
    "repeat",
    "workers",
    "socketio_client",
    "stalled",
    "overflow",
    "queue_capacity",
    "outage",
    "nodes",
    "kill_node_at",
    "search",
    "target",
    "thresholds",
    "systems",
    "server_cpus",
    "loadgen_cpus",
    "adapter",
    "tls",
    "tls_ca_file",
    "tls_insecure",
    "tls_resumption",
    "payload_kind",
    "compression",
    "compression_window_bits",
    "compression_no_context_takeover",
    "network",
    "proxy",
];

impl Scenario {
    /// Reads and checks a scenario file.
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Scenario, ScenarioErrors> {
        let source = std::fs::read_to_string(path).map_err(|e| {
            ScenarioError::at(path, "", 0..0, "", format!("cannot read the scenario: {e}"))
        })?;
        Scenario::parse(path, &source, overrides)
    }

    /// Checks scenario text; `file` only names it in errors. Every mistake is reported.
    pub fn parse(
        file: &Path,
        source: &str,
        overrides: &Overrides,
    ) -> Result<Scenario, ScenarioErrors> {
        let check = Checker::new(file, source);
        let scenario = read(&check, overrides);
        let errors = check.into_errors();
        match scenario {
            Some(s) if errors.is_empty() => Ok(s),
            _ if !errors.is_empty() => Err(ScenarioErrors(errors)),
            _ => Err(ScenarioError::at(file, source, 0..0, "", "cannot be read").into()),
        }
    }
}

fn read(check: &Checker<'_>, o: &Overrides) -> Option<Scenario> {
    let (root, syntax) = toml::parse(check.source);
    for (span, message) in &syntax {
        if message.starts_with("duplicate key") {
            let key = check
                .source
                .get(span.clone())
                .unwrap_or("")
                .trim_matches('"');
            let message = format!("`{key}` is given more than once (a duplicate key): keep one");
            check.report(span.clone(), key, message);
        } else {
            check.report(
                span.clone(),
                &key_before(check.source, span.start),
                message.clone(),
            );
        }
    }
    if !syntax.is_empty() {
        return None;
    }
    if root.entries.is_empty() {
        return check.fail(
            0..0,
            "",
            "the file is empty: a scenario needs at least name, transports, clients, senders, \
             rate, payload, warmup and duration (scenarios/smoke.toml is a small one to copy)",
        );
    }
    let f = Fields::new(&root, "", 0..0);
    let (common, complete) = check::common(check, &f, o);
    let axes: Vec<(SweepField, Vec<At<f64>>)> = SweepField::ALL
        .into_iter()
        .filter_map(|field| sweep_values(check, &f, field, o).map(|v| (field, v)))
        .collect();
    let axes_complete = axes.len() == SweepField::ALL.len();
    let search = f.get("search");
    f.reject_unknown(check, &FIELDS);
    let mut scenario = sweep(check, &common, &axes, o);
    if let Some(v) = search
        && axes_complete
    {
        let (search, steps) = searched(check, &common, &axes, v, o)?;
        if let Some(s) = scenario.as_mut() {
            s.search = Some(search);
            s.steps = steps;
        }
    }
    scenario.filter(|_| complete && axes_complete)
}

/// A sweepable field's values: one number, or a list of them.
fn sweep_values(
    check: &Checker<'_>,
    f: &Fields<'_>,
    field: SweepField,
    o: &Overrides,
) -> Option<Vec<At<f64>>> {
    let key = field.as_str();
    let v = match f.get(key) {
        None if field == SweepField::Nodes => return Some(vec![At { v: 1.0, span: 0..0 }]),
        None => return f.required(check, key).and(None),
        Some(v) => v,
    };
    let kind = if field.is_integer() {
        "an integer"
    } else {
        "a number"
    };
    let one = |item: &Value| match item.kind {
        Kind::Int(i) => Some(i as f64),
        Kind::Float(x) if !field.is_integer() && x.is_finite() => Some(x),
        _ => {
            let what = match item.kind {
                Kind::Array(_) if item.span != v.span => "a nested list".to_owned(),
                _ => item.describe(),
            };
            check.fail(
                v.span.clone(),
                key,
                format!("must be {kind} or a list of them (a sweep), not {what}"),
            )
        }
    };
    let values: Vec<Option<f64>> = match &v.kind {
        Kind::Array(items) if items.is_empty() => {
            return check.fail(
                v.span.clone(),
                key,
                "an empty list sweeps nothing: give at least one value",
            );
        }
        Kind::Array(items) => items.iter().map(one).collect(),
        _ => vec![one(v)],
    };
    let values: Vec<f64> = values.into_iter().collect::<Option<_>>()?;
    if field == SweepField::Clients
        && let Some(n) = o.clients
    {
        return Some(vec![At {
            v: n as f64,
            span: v.span.clone(),
        }]);
    }
    Some(
        values
            .into_iter()
            .map(|n| At {
                v: n,
                span: v.span.clone(),
            })
            .collect(),
    )
}

/// Checks every point of the sweep (one without a sweep) and keeps each as checked: the
/// run measures these values, not ones worked out again. The scenario holds the first
/// point's values with the sweep's axes recorded.
fn sweep(
    check: &Checker<'_>,
    common: &Common,
    axes: &[(SweepField, Vec<At<f64>>)],
    o: &Overrides,
) -> Option<Scenario> {
    let mut points = Vec::new();
    let mut every_point = true;
    for combination in combinations(axes) {
        let values: PointValues = combination.iter().cloned().collect();
        match point(check, common, &values, o) {
            Some(scenario) => points.push(SweepPoint {
                values: combination
                    .iter()
                    .filter(|(field, _)| axes.iter().any(|(f, v)| f == field && v.len() > 1))
                    .map(|(field, v)| (field.to_string(), v.v))
                    .collect(),
                scenario,
            }),
            None => every_point = false,
        }
    }
    let nodes = axes.iter().find(|(f, _)| *f == SweepField::Nodes);
    if let (Some(kill), Some((_, nodes))) = (&common.kill_node_at, nodes)
        && nodes.iter().all(|n| n.v < 2.0)
    {
        check.report(
            kill.span.clone(),
            "kill_node_at",
            "needs a cluster (nodes = 2 or more) so that other nodes go on; it applies to \
             the clustered points of a sweep",
        );
    }
    cluster_behind_proxy(check, common, nodes.map(|(_, n)| n.as_slice()));
    if !every_point {
        return None;
    }
    let mut scenario = points.first()?.scenario.clone();
    scenario.sweep = axes
        .iter()
        .filter(|(_, values)| values.len() > 1)
        .map(|(field, values)| SweepAxis {
            field: *field,
            values: values.iter().map(|v| v.v).collect(),
        })
        .collect();
    scenario.points = points;
    Some(scenario)
}

/// A proxy in front of a cluster: `sticky` means something only there, and killing a node
/// behind it is not built (the proxy, not wsbench, decides where that node's clients go).
fn cluster_behind_proxy(check: &Checker<'_>, common: &Common, nodes: Option<&[At<f64>]>) {
    let Some(proxy) = &common.proxy else {
        return;
    };
    let clustered = nodes.is_some_and(|n| n.iter().any(|n| n.v >= 2.0));
    if proxy.v.sticky.is_some() && !clustered {
        check.report(
            proxy.span.clone(),
            "proxy.sticky",
            "applies in front of a cluster (nodes = 2 or more): one server has no other \
             node to send a client to",
        );
    }
    if let (Some(kill), true) = (&common.kill_node_at, clustered) {
        check.report(
            kill.span.clone(),
            "kill_node_at",
            "cannot be combined with [proxy] yet: behind a proxy, the proxy decides where a \
             killed node's clients go",
        );
    }
}

/// `[search]`: checked, and every value it may reach checked as a point and kept as
/// checked (the search's steps, in order).
fn searched(
    check: &Checker<'_>,
    common: &Common,
    axes: &[(SweepField, Vec<At<f64>>)],
    v: &Value,
    o: &Overrides,
) -> Option<(super::Search, Vec<SweepPoint>)> {
    if axes.iter().any(|(_, values)| values.len() > 1) {
        return check.fail(
            v.span.clone(),
            "search",
            "a search raises one field itself: it cannot be combined with a sweep (a list-valued field)",
        );
    }
    let search = limits::search(check, v)?;
    let start_span = start_span(v);
    let mut steps = Vec::new();
    for value in search.values() {
        let mut values: PointValues = axes.iter().map(|(f, v)| (*f, v[0].clone())).collect();
        let n = if search.field.is_integer() {
            value.trunc()
        } else {
            value
        };
        values.insert(
            search.field,
            At {
                v: n,
                span: start_span.clone(),
            },
        );
        let before = check.count();
        let mut o = o.clone();
        if search.field == SweepField::Clients {
            o.clients = None;
        }
        match point(check, common, &values, &o) {
            Some(scenario) if check.count() == before => steps.push(SweepPoint {
                values: BTreeMap::from([(search.field.to_string(), value)]),
                scenario,
            }),
            _ => {
                check.amend_since(
                    before,
                    &format!("(when the search reaches {} = {value})", search.field),
                );
                return None;
            }
        }
    }
    Some((search, steps))
}

/// Where `[search]`'s `start` is: a step's mistakes are reported there.
fn start_span(search: &Value) -> Range<usize> {
    match &search.kind {
        Kind::Table(t) => t
            .entries
            .iter()
            .find(|e| e.key == "start")
            .map_or(search.span.clone(), |e| e.value.span.clone()),
        _ => search.span.clone(),
    }
}

/// The key of the `key = value` line holding byte `offset`, if the offset is in the value.
fn key_before(source: &str, offset: usize) -> String {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let line_start = source[..offset].rfind('\n').map_or(0, |i| i + 1);
    match source[line_start..offset].split_once('=') {
        Some((key, _)) => key.trim().to_owned(),
        None => String::new(),
    }
}
