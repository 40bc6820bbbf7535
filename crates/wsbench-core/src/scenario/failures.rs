//! The sections that break things on purpose: `[outage]` (the server killed and restarted
//! mid-window) and `kill_node_at` (a cluster's node killed).

use super::check::At;
use super::checker::{Checker, Fields};
use super::parse::Overrides;
use super::{HumanDuration, Outage, ScenarioError};

/// `[outage]`: when the built-in server is killed, how long it stays down, and the
/// clients' reconnection schedule. `Some(None)` when there is none.
pub(super) fn outage(
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

pub(super) fn kill_node_at(
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
