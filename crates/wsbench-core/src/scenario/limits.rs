//! The sections that point outside the load itself: `[target]` servers, `[thresholds]` and
//! a `[search]`'s limits.

use std::collections::BTreeMap;
use std::ops::Range;

use super::check::given;
use super::checker::{Checker, Fields};
use super::parse::Overrides;
use super::sweep::{Search, SweepField};
use super::systems::{SystemDef, protocol_of};
use super::toml::{Kind, Value};
use super::{ScenarioError, Thresholds};
use crate::system::{Protocol, SystemName};

type Targets = (BTreeMap<SystemName, String>, BTreeMap<SystemName, u32>);

/// `[target]` (and `--target`, `--target-pid`): already-running servers, loopback only,
/// each a URL or `{ url = URL, pid = PID }`.
pub(super) fn targets(
    check: &Checker<'_>,
    f: &Fields<'_>,
    o: &Overrides,
    systems: &BTreeMap<SystemName, SystemDef>,
) -> Option<Targets> {
    let before = check.count();
    let (mut urls, mut pids) = (BTreeMap::new(), BTreeMap::new());
    if let Some(v) = f.get("target")
        && let Some(table) = check.table("target", v)
    {
        for entry in Fields::new(table, "target", v.span.clone()).all() {
            let field = format!("target.{}", entry.key);
            let Some((name, protocol)) = known(&entry.key, systems) else {
                let message = format!("'{}' names no system of this scenario", entry.key);
                check.report(entry.key_span.clone(), "target", message);
                continue;
            };
            let Some((url, span, pid)) = target(check, &field, &entry.value) else {
                continue;
            };
            match check_target_url(protocol, &url, o.allow_remote) {
                Ok(()) => {
                    urls.insert(name.clone(), url);
                }
                Err(m) => check.report(span, &field, m),
            }
            if let Some(pid) = pid {
                pids.insert(name, pid);
            }
        }
    }
    for (name, url) in &o.targets {
        match known(name.as_str(), systems)
            .ok_or("names no system of this scenario".to_owned())
            .and_then(|(_, p)| check_target_url(p, url, o.allow_remote))
        {
            Ok(()) => {
                urls.insert(name.clone(), url.clone());
            }
            Err(m) => check.push(ScenarioError::flag("--target", format!("{name}: {m}"))),
        }
    }
    for (name, pid) in &o.target_pids {
        pids.insert(name.clone(), *pid);
    }
    for name in pids.keys().filter(|n| !urls.contains_key(*n)) {
        check.push(ScenarioError::flag(
            "--target-pid",
            format!("{name} has a pid but no target URL: give it with --target {name}=URL"),
        ));
    }
    (check.count() == before).then_some((urls, pids))
}

/// The system `key` names and its protocol, if the scenario knows it.
fn known(key: &str, systems: &BTreeMap<SystemName, SystemDef>) -> Option<(SystemName, Protocol)> {
    let name: SystemName = key.parse().ok()?;
    let protocol = protocol_of(&name, systems)?;
    Some((name, protocol))
}

/// A target's URL (and where it is written) and pid: `"URL"` or `{ url = "URL", pid = N }`.
fn target(
    check: &Checker<'_>,
    field: &str,
    v: &Value,
) -> Option<(String, Range<usize>, Option<u32>)> {
    if let Kind::Str(url) = &v.kind {
        return Some((url.clone(), v.span.clone(), None));
    }
    let t = Fields::new(check.table(field, v)?, field, v.span.clone());
    let url = t.required(check, "url");
    let url = url.and_then(|u| {
        check
            .string(&t.name("url"), u)
            .map(|s| (s.to_owned(), u.span.clone()))
    });
    let pid = given(&t, "pid", |p| {
        check
            .int_in(&t.name("pid"), p, 1, i64::from(i32::MAX))
            .map(|n| n as u32)
    });
    t.reject_unknown(check, &["url", "pid"]);
    let (url, span) = url?;
    Some((url, span, pid?))
}

/// Load goes to this machine unless the run says otherwise: a target must be a loopback
/// address, or `--allow-remote` must be given (on the command line, never in the file, so
/// that a scenario someone hands you cannot aim load elsewhere).
fn check_target_url(protocol: Protocol, text: &str, allow_remote: bool) -> Result<(), String> {
    let url = url::Url::parse(text).map_err(|e| format!("'{text}' is not a URL ({e})"))?;
    let schemes = protocol.spec().target_schemes;
    if !schemes.contains(&url.scheme()) {
        return Err(format!(
            "scheme '{}' is not supported for {protocol} (use {})",
            url.scheme(),
            schemes.join(" or ")
        ));
    }
    if !crate::net::is_loopback_url(&url) && !allow_remote {
        return Err(format!(
            "'{text}' is not on this machine: wsbench sends load only to loopback (127.0.0.0/8, ::1, localhost) unless the run is started with --allow-remote"
        ));
    }
    Ok(())
}

/// The limits every system's figures must meet.
const LIMITS: [&str; 5] = [
    "p99",
    "loss",
    "delivered_per_s",
    "memory_per_connection",
    "server_rss_peak",
];

type AllThresholds = (Option<Thresholds>, Option<BTreeMap<SystemName, Thresholds>>);

/// `[thresholds]`: limits for every system, and a sub-table per system that replaces them.
pub(super) fn thresholds(
    check: &Checker<'_>,
    f: &Fields<'_>,
    systems: &BTreeMap<SystemName, SystemDef>,
) -> AllThresholds {
    let Some(v) = f.get("thresholds") else {
        return (Some(Thresholds::default()), Some(BTreeMap::new()));
    };
    let Some(table) = check.table("thresholds", v) else {
        return (None, None);
    };
    let fields = Fields::new(table, "thresholds", v.span.clone());
    let all = limits(check, &fields, false);
    let mut specific = Some(BTreeMap::new());
    let mut names: Vec<SystemName> = Protocol::ALL.iter().map(|p| SystemName::of(*p)).collect();
    names.extend(systems.keys().cloned());
    let mut known: Vec<&str> = LIMITS.to_vec();
    for name in &names {
        known.push(name.as_str());
        let Some(sub) = fields.get(name.as_str()) else {
            continue;
        };
        let field = format!("thresholds.{name}");
        let limits = check
            .table(&field, sub)
            .and_then(|t| limits(check, &Fields::new(t, &field, sub.span.clone()), true));
        match (limits, specific.as_mut()) {
            (Some(l), Some(map)) => {
                map.insert(name.clone(), l);
            }
            _ => specific = None,
        }
    }
    fields.reject_unknown(check, &known);
    (all, specific)
}

/// One table's limits; its other keys are unknown ones when `only_limits`, else the caller's.
fn limits(check: &Checker<'_>, f: &Fields<'_>, only_limits: bool) -> Option<Thresholds> {
    let p99 = given(f, "p99", |v| check.duration(&f.name("p99"), v));
    let loss = given(f, "loss", |v| check.share(&f.name("loss"), v));
    let delivered_per_s = given(f, "delivered_per_s", |v| {
        let n = check.number(&f.name("delivered_per_s"), v)?;
        if n < 0.0 {
            return check.fail(
                v.span.clone(),
                &f.name("delivered_per_s"),
                format!("must not be negative, not {n}"),
            );
        }
        Some(n)
    });
    let bytes = |key: &str| given(f, key, |v| check.int_in(&f.name(key), v, 1, i64::MAX));
    let memory_per_connection = bytes("memory_per_connection");
    let server_rss_peak = bytes("server_rss_peak");
    if only_limits {
        f.reject_unknown(check, &LIMITS);
    }
    Some(Thresholds {
        p99: p99?,
        loss: loss?,
        delivered_per_s: delivered_per_s?,
        memory_per_connection: memory_per_connection?,
        server_rss_peak: server_rss_peak?,
    })
}

/// `[search]`: the field raised, from where, how fast, how far, and the limits that stop
/// it. Every value it may reach is checked as a point by the caller.
pub(super) fn search(check: &Checker<'_>, v: &Value) -> Option<Search> {
    let t = Fields::new(check.table("search", v)?, "search", v.span.clone());
    let field = t
        .required(check, "field")
        .and_then(|f| check.choice::<SweepField>("search.field", f));
    let required_positive = |key: &str| {
        let v = t.required(check, key)?;
        positive(check, &t.name(key), v)
    };
    let start = required_positive("start");
    let max = required_positive("max");
    let mut factor = given(&t, "factor", |f| {
        let n = check.number("search.factor", f)?;
        if n <= 1.0 {
            return check.fail(
                f.span.clone(),
                "search.factor",
                format!("must be more than 1, not {n}"),
            );
        }
        Some(n)
    });
    let step = given(&t, "step", |s| positive(check, "search.step", s));
    if t.get("step").is_some() && t.get("factor").is_some() {
        factor = check.fail(v.span.clone(), "search", "give factor or step, not both");
    }
    if let (Some(start), Some(max), Some(m)) = (start, max, t.get("max"))
        && max < start
    {
        check.report(
            m.span.clone(),
            "search.max",
            format!("must be at least start ({start}), not {max}"),
        );
    }
    let p99 = given(&t, "p99", |d| check.duration("search.p99", d));
    let loss = given(&t, "loss", |l| {
        let n = check.number("search.loss", l)?;
        if !(0.0..=1.0).contains(&n) {
            return check.fail(
                l.span.clone(),
                "search.loss",
                "is a share of expected deliveries, from 0 to 1",
            );
        }
        Some(n)
    });
    if t.get("p99").is_none() && t.get("loss").is_none() {
        // Without a limit a search only stops at its max: say what it is searching for.
        check.report(
            v.span.clone(),
            "search",
            "has no limit to search against: give p99 (e.g. p99 = \"100ms\") and/or loss \
             (e.g. loss = 0)",
        );
    }
    let bisect = given(&t, "bisect", |b| check.boolean("search.bisect", b));
    let common_load = given(&t, "common_load", |l| {
        let n = check.number("search.common_load", l)?;
        if !(0.0..=1.0).contains(&n) {
            return check.fail(
                l.span.clone(),
                "search.common_load",
                format!(
                    "is a share of the smallest capacity found, from 0 (no common-load \
                     step) to 1, not {n}"
                ),
            );
        }
        Some(n)
    });
    t.reject_unknown(
        check,
        &[
            "field",
            "start",
            "factor",
            "step",
            "max",
            "p99",
            "loss",
            "bisect",
            "common_load",
        ],
    );
    Some(Search {
        field: field?,
        start: start?,
        factor: factor?.unwrap_or(2.0),
        step: step?,
        max: max?,
        p99: p99?,
        loss: loss?.unwrap_or(0.0),
        bisect: bisect?.unwrap_or(false),
        common_load: common_load?.unwrap_or(0.5),
    })
}

fn positive(check: &Checker<'_>, field: &str, v: &Value) -> Option<f64> {
    let n = check.number(field, v)?;
    if n > 0.0 {
        Some(n)
    } else {
        check.fail(
            v.span.clone(),
            field,
            format!("must be more than 0, not {n}"),
        )
    }
}
