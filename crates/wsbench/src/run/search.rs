//! Capacity search: per system, the highest value of one field it carries within the
//! search's limits in a valid run ("max clients under an SLO"), found step by step or by
//! bisection; then every system measured at one load all of them carried, where latency
//! and CPU compare (docs/method.md, "Capacity, then a common load").

use std::collections::BTreeMap;
use std::path::Path;

use indicatif::ProgressBar;
use tokio_util::sync::CancellationToken;
use wsbench_core::result::{RunResult, SearchOutcome, Status};
use wsbench_core::scenario::{Search, SweepPoint};
use wsbench_core::system::{System, SystemName};
use wsbench_report::capacity;
use wsbench_report::metrics::DELIVERED_PER_S;
use wsbench_report::summary::summary_at;
use wsbench_report::thresholds;

use super::measure::RunCtx;
use super::schedule::measure_and_save;

/// What the run needs to measure one step.
pub(super) struct Searching<'a> {
    pub plan: &'a super::RunPlan,
    pub interrupt: &'a CancellationToken,
    pub progress: &'a ProgressBar,
    pub path: &'a Path,
}

/// How one step of a search went.
enum Step {
    /// Every limit held in a valid run.
    Held,
    /// A limit broke, or the run could not carry a figure: why.
    Broken(String),
    /// Ctrl-C.
    Interrupted,
}

/// Runs the search for every system of the scenario, one after the other, then the
/// common-load step. A step that breaks a limit (even by failing) ends that system's
/// search, or halves a bisection's gap; only Ctrl-C ends the run.
pub async fn run(
    result: &mut RunResult,
    search: &Search,
    s: &Searching<'_>,
) -> anyhow::Result<Status> {
    let base = result.scenario.clone();
    for system in base.systems() {
        let found = if search.bisect {
            bisect(result, search, s, &system, base.steps()).await?
        } else {
            linear(result, search, s, &system, base.steps()).await?
        };
        let Some((held, broken)) = found else {
            let outcome = outcome(result, search, &system.name, None, None);
            result.search.push(SearchOutcome {
                stopped: "interrupted".to_owned(),
                ..outcome
            });
            return Ok(Status::Interrupted);
        };
        let steps = base.steps();
        let held = held.map(|i| &steps[i]);
        let broken = broken.map(|(i, why)| (&steps[i], why));
        let outcome = outcome(result, search, &system.name, held, broken);
        s.progress
            .suspend(|| eprintln!("{}", capacity::found_line(&outcome)));
        result.search.push(outcome);
    }
    super::common_load::run(result, search, s).await
}

/// One system's search, value after value: the index of the highest that held and of the
/// first that broke (with why); `None` when interrupted.
async fn linear(
    result: &mut RunResult,
    search: &Search,
    s: &Searching<'_>,
    system: &System,
    steps: &[SweepPoint],
) -> anyhow::Result<Option<Found>> {
    let mut held = None;
    for (i, point) in steps.iter().enumerate() {
        match step(result, search, s, system, point).await? {
            Step::Interrupted => return Ok(None),
            Step::Held => held = Some(i),
            Step::Broken(why) => return Ok(Some((held, Some((i, why))))),
        }
    }
    Ok(Some((held, None)))
}

/// The highest value that held (an index of the steps) and the first that broke, with why.
type Found = (Option<usize>, Option<(usize, String)>);

/// One system's search by bisection over the same values: the index doubles its stride
/// from the first value until a limit breaks (or the last value holds), then the gap
/// between the highest that held and the lowest that broke is halved until they are
/// neighbours. About 2·log2(n) steps instead of up to n; it assumes, as a capacity does,
/// that what breaks at one value breaks above it.
async fn bisect(
    result: &mut RunResult,
    search: &Search,
    s: &Searching<'_>,
    system: &System,
    steps: &[SweepPoint],
) -> anyhow::Result<Option<Found>> {
    let (mut held, mut broken): Found = (None, None);
    let (mut i, mut stride) = (0, 1);
    while i < steps.len() && broken.is_none() {
        match step(result, search, s, system, &steps[i]).await? {
            Step::Interrupted => return Ok(None),
            Step::Held => held = Some(i),
            Step::Broken(why) => broken = Some((i, why)),
        }
        // Past the end, the last value is the next one tried.
        let last = steps.len() - 1;
        i = if i < last {
            (i + stride).min(last)
        } else {
            i + 1
        };
        stride *= 2;
    }
    while let Some((b, _)) = &broken {
        let low = held.map_or(0, |h| h + 1);
        if low >= *b {
            break;
        }
        let mid = low + (*b - low) / 2;
        match step(result, search, s, system, &steps[mid]).await? {
            Step::Interrupted => return Ok(None),
            Step::Held => held = Some(mid),
            Step::Broken(why) => broken = Some((mid, why)),
        }
    }
    Ok(Some((held, broken)))
}

/// Measures `system` at `point` (the scenario's repeats) and judges the step.
async fn step(
    result: &mut RunResult,
    search: &Search,
    s: &Searching<'_>,
    system: &System,
    point: &SweepPoint,
) -> anyhow::Result<Step> {
    let mut scenario = point.scenario.clone();
    scenario.compared = vec![system.name.clone()];
    let ctx = RunCtx::new(&scenario, s.plan, s.interrupt, s.progress);
    for repeat in 0..scenario.repeat {
        let status = measure_and_save(result, &ctx, system, repeat, &point.values, s.path).await?;
        if status == Status::Interrupted {
            return Ok(Step::Interrupted);
        }
    }
    let broken = broken_limit(
        result,
        &system.name,
        &point.values,
        search,
        scenario.clients,
    );
    Ok(broken.map_or(Step::Held, Step::Broken))
}

/// What one system's search found, with its capacity as deliveries per second.
fn outcome(
    result: &RunResult,
    search: &Search,
    system: &SystemName,
    held: Option<&SweepPoint>,
    broken: Option<(&SweepPoint, String)>,
) -> SearchOutcome {
    let field = search.field.as_str();
    let value = |p: &SweepPoint| p.values[field];
    let stopped = match (&broken, held) {
        (None, _) => format!("every value up to the maximum ({}) held", search.max),
        (Some((p, why)), None) => format!("below the first step ({field} = {}): {why}", value(p)),
        (Some((p, why)), Some(_)) => format!("{field} = {}: {why}", value(p)),
    };
    let capacity_per_s = held
        .and_then(|p| summary_at(result, system, &p.values))
        .and_then(|s| s.stat(&DELIVERED_PER_S))
        .map(|st| st.median);
    let decisive = held.into_iter().chain(broken.as_ref().map(|(p, _)| *p));
    let spoilt: Vec<String> = decisive
        .filter_map(|p| {
            let why = conditions(result, system, &p.values)?;
            Some(format!("{field} = {}: {why}", value(p)))
        })
        .collect();
    SearchOutcome {
        system: system.clone(),
        field: field.to_owned(),
        highest_held: held.map(value),
        first_broken: broken.map(|(p, _)| value(p)),
        stopped,
        capacity_per_s,
        spoilt,
    }
}

/// Why the runs of `system` at `point` cannot carry a figure because of the run's
/// conditions (a busy machine, a starved load generator), if they cannot.
fn conditions(
    result: &RunResult,
    system: &SystemName,
    point: &BTreeMap<String, f64>,
) -> Option<String> {
    let why: Vec<&str> = result
        .runs
        .iter()
        .filter(|r| &r.system == system && &r.point == point)
        .flat_map(|r| &r.validity.reasons)
        .filter(|r| r.kind.is_conditions())
        .map(|r| r.kind.as_str())
        .collect();
    (!why.is_empty()).then(|| {
        let mut why = why;
        why.dedup();
        why.join(", ")
    })
}

/// The first limit the repeats of `system` at `point` (one step) break, if any: a step
/// that did not complete, clients that did not all connect, or a limit of the search
/// judged as `[thresholds]` are ([`thresholds::judge`]: medians over repeats).
pub fn broken_limit(
    result: &RunResult,
    system: &SystemName,
    point: &BTreeMap<String, f64>,
    search: &Search,
    clients: u64,
) -> Option<String> {
    let Some(s) = summary_at(result, system, point) else {
        return Some("the step measured nothing".to_owned());
    };
    if let Some(failed) = s.runs.iter().find(|r| !r.status.measured()) {
        return Some(format!(
            "the run did not complete ({})",
            failed.error.as_deref().unwrap_or("no reason recorded")
        ));
    }
    if s.connected < clients as f64 {
        let connected = s.connected;
        return Some(format!("only {connected} of {clients} clients connected"));
    }
    let broken = thresholds::judge(&s, &search.limits())
        .into_iter()
        .find(|c| !c.pass)?;
    Some(thresholds::broken_text(&broken))
}
