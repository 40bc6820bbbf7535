//! The common-load step after a capacity search: latency compared at one load every
//! system carried, not at each one's edge (docs/method.md, "Capacity, then a common
//! load"). The load is the highest of the search's values at or below `common_load` of
//! the smallest capacity found; each system gets the scenario's repeats there, counting
//! those its search already measured at that value.

use wsbench_core::result::{CommonLoad, RunResult, Status};
use wsbench_core::scenario::{Search, SweepPoint};

use super::measure::RunCtx;
use super::schedule::measure_and_save;
use super::search::Searching;

/// Places the common load, measures every system there as needed, and records it.
pub async fn run(
    result: &mut RunResult,
    search: &Search,
    s: &Searching<'_>,
) -> anyhow::Result<Status> {
    if search.common_load == 0.0 {
        return Ok(Status::Complete);
    }
    let base = result.scenario.clone();
    let (load, point) = place(result, search, base.steps());
    s.progress
        .suspend(|| eprintln!("{}", wsbench_report::capacity::common_load_line(&load)));
    result.common_load = Some(load);
    let Some(point) = point else {
        return Ok(Status::Complete);
    };
    let mut scenario = point.scenario.clone();
    for system in base.systems() {
        scenario.compared = vec![system.name.clone()];
        let ctx = RunCtx::new(&scenario, s.plan, s.interrupt, s.progress);
        let done = result
            .runs
            .iter()
            .filter(|r| r.system == system.name && r.point == point.values)
            .count() as u64;
        for repeat in done..scenario.repeat {
            let status =
                measure_and_save(result, &ctx, &system, repeat, &point.values, s.path).await?;
            if status == Status::Interrupted {
                return Ok(Status::Interrupted);
            }
        }
    }
    Ok(Status::Complete)
}

/// Where the common load falls among `steps`, from the search's outcomes; or why it
/// cannot be placed (a system with no capacity, or the share below the first value).
fn place<'a>(
    result: &RunResult,
    search: &Search,
    steps: &'a [SweepPoint],
) -> (CommonLoad, Option<&'a SweepPoint>) {
    let field = search.field.as_str();
    let mut load = CommonLoad {
        field: field.to_owned(),
        share: search.common_load,
        smallest: None,
        value: None,
        none: None,
    };
    if let Some(o) = result.search.iter().find(|o| o.highest_held.is_none()) {
        load.none = Some(format!(
            "{} held no value of the search, so no load is carried by every system",
            o.system
        ));
        return (load, None);
    }
    let smallest = result
        .search
        .iter()
        .filter_map(|o| Some((o.system.clone(), o.highest_held?)))
        .min_by(|a, b| a.1.total_cmp(&b.1));
    let Some((_, capacity)) = smallest.clone() else {
        load.none = Some("no system was searched".to_owned());
        return (load, None);
    };
    load.smallest = smallest;
    let target = capacity * search.common_load;
    let point = steps.iter().rev().find(|p| p.values[field] <= target);
    match point {
        Some(p) => load.value = Some(p.values[field]),
        None => {
            load.none = Some(format!(
                "{} of the smallest capacity ({field} = {capacity}) is {target}, below the \
                 search's first value ({}): start the search lower",
                search.common_load, search.start
            ))
        }
    }
    (load, point)
}
