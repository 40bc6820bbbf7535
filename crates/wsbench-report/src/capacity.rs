//! A capacity search's findings in words: each system's capacity (the highest value that
//! held, and the deliveries per second made there), and the common load after it, where
//! the claims about latency and CPU are judged (docs/method.md, "Capacity, then a common
//! load").

use std::collections::BTreeMap;

use wsbench_core::result::{CommonLoad, RunResult, SearchOutcome};

/// The point of the common load, where one was placed and measured.
pub fn common_point(result: &RunResult) -> Option<BTreeMap<String, f64>> {
    let load = result.common_load.as_ref()?;
    Some(BTreeMap::from([(load.field.clone(), load.value?)]))
}

/// "ws: capacity clients = 3000 (29970 deliveries/s); clients = 3500: p99 …", or that
/// none was found and why.
pub fn found_line(o: &SearchOutcome) -> String {
    let found = match o.highest_held {
        None => format!("{}: no capacity found: {}", o.system, o.stopped),
        Some(v) => format!(
            "{}: capacity {} = {v}{}; {}",
            o.system,
            o.field,
            o.capacity_per_s
                .map_or(String::new(), |d| format!(" ({d:.0} deliveries/s)")),
            o.stopped
        ),
    };
    match spoilt(o) {
        Some(why) => format!("{found} ({why})"),
        None => found,
    }
}

/// Why a capacity judges no claim: the runs that decided it could not carry a figure.
pub fn spoilt(o: &SearchOutcome) -> Option<String> {
    (!o.spoilt.is_empty()).then(|| {
        format!(
            "decided by runs that cannot carry a figure: {}",
            o.spoilt.join("; ")
        )
    })
}

/// Where the common load was placed, or why it was not.
pub fn common_load_line(load: &CommonLoad) -> String {
    match (&load.value, &load.smallest) {
        (Some(v), Some((system, capacity))) => format!(
            "common load: {} = {v} ({} of the smallest capacity, {system}'s {capacity}): \
             every system measured there; latency and CPU are compared at it",
            load.field, load.share
        ),
        _ => format!(
            "common load: none ({}): latency and CPU are compared where the search's \
             systems last met",
            load.none.as_deref().unwrap_or("not placed")
        ),
    }
}

/// What a claim judged at the common load says first: the load it used.
pub fn judged_note(result: &RunResult, point: &BTreeMap<String, f64>) -> Option<String> {
    let load = result.common_load.as_ref()?;
    let (system, capacity) = load.smallest.as_ref()?;
    (common_point(result).as_ref() == Some(point)).then(|| {
        format!(
            "at the common load, {} = {} ({} of the smallest capacity, {system}'s {capacity})",
            load.field,
            load.value.unwrap_or_default(),
            load.share
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(value: Option<f64>) -> CommonLoad {
        CommonLoad {
            field: "clients".to_owned(),
            share: 0.5,
            smallest: Some(("socketio".parse().unwrap(), 1500.0)),
            value,
            none: value.is_none().then(|| "socketio held no value".to_owned()),
        }
    }

    #[test]
    fn the_common_load_is_said_with_the_capacity_it_came_from() {
        assert_eq!(
            common_load_line(&load(Some(700.0))),
            "common load: clients = 700 (0.5 of the smallest capacity, socketio's 1500): \
             every system measured there; latency and CPU are compared at it"
        );
        assert!(common_load_line(&load(None)).starts_with("common load: none (socketio held"));
        let mut result = crate::fixtures::pair();
        result.common_load = Some(load(Some(700.0)));
        let at = BTreeMap::from([("clients".to_owned(), 700.0)]);
        assert_eq!(common_point(&result), Some(at.clone()));
        let note = judged_note(&result, &at).unwrap();
        assert!(
            note.starts_with("at the common load, clients = 700 (0.5"),
            "{note}"
        );
        assert_eq!(judged_note(&result, &BTreeMap::new()), None);
    }

    #[test]
    fn a_system_below_the_first_step_has_no_capacity_not_zero() {
        let o = SearchOutcome {
            system: "ws".parse().unwrap(),
            field: "rate".to_owned(),
            highest_held: None,
            first_broken: Some(5.0),
            stopped: "below the first step (rate = 5): p99 12 ms > 1 ms".to_owned(),
            capacity_per_s: None,
            spoilt: Vec::new(),
        };
        assert_eq!(
            found_line(&o),
            "ws: no capacity found: below the first step (rate = 5): p99 12 ms > 1 ms"
        );
        let o = SearchOutcome {
            highest_held: Some(10.0),
            capacity_per_s: Some(380.4),
            stopped: "rate = 20: p99 3 ms > 1 ms".to_owned(),
            ..o
        };
        assert_eq!(
            found_line(&o),
            "ws: capacity rate = 10 (380 deliveries/s); rate = 20: p99 3 ms > 1 ms"
        );
        let o = SearchOutcome {
            spoilt: vec!["rate = 20: machine busy".to_owned()],
            ..o
        };
        assert!(
            found_line(&o)
                .ends_with("(decided by runs that cannot carry a figure: rate = 20: machine busy)"),
            "{}",
            found_line(&o)
        );
    }
}
