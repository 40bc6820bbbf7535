//! Saturation search: per system, raise one field step by step until a limit breaks, and
//! keep the highest value that held ("max clients under an SLO").

use std::collections::BTreeMap;
use std::path::Path;

use indicatif::ProgressBar;
use tokio_util::sync::CancellationToken;
use wsbench_core::result::{RunResult, SearchOutcome, Status};
use wsbench_core::scenario::Search;
use wsbench_core::system::SystemName;
use wsbench_report::summary::summary_at;
use wsbench_report::thresholds;

use super::measure::RunCtx;
use super::schedule::measure_and_save;

/// Runs the search for every system of the scenario, one after the other. A step that
/// breaks a limit (even by failing) ends that system's search; only Ctrl-C ends the run.
pub async fn run(
    result: &mut RunResult,
    search: &Search,
    plan: &super::RunPlan,
    interrupt: &CancellationToken,
    progress: &ProgressBar,
    path: &Path,
) -> anyhow::Result<Status> {
    let base = result.scenario.clone();
    for system in base.systems() {
        let name = system.name.clone();
        let mut outcome = SearchOutcome {
            system: name.clone(),
            field: search.field.to_string(),
            highest_held: None,
            first_broken: None,
            stopped: format!("every value up to the maximum ({}) held", search.max),
        };
        for step in base.steps() {
            let value = step.values[search.field.as_str()];
            let mut scenario = step.scenario.clone();
            scenario.compared = vec![name.clone()];
            let ctx = RunCtx::new(&scenario, plan, interrupt, progress);
            let point = &step.values;
            for repeat in 0..scenario.repeat {
                let status = measure_and_save(result, &ctx, &system, repeat, point, path).await?;
                if status == Status::Interrupted {
                    outcome.stopped = "interrupted".to_owned();
                    result.search.push(outcome);
                    return Ok(Status::Interrupted);
                }
            }
            match broken_limit(result, &name, point, search, scenario.clients) {
                None => outcome.highest_held = Some(value),
                Some(why) => {
                    outcome.first_broken = Some(value);
                    outcome.stopped = format!("{} = {value}: {why}", search.field);
                    break;
                }
            }
        }
        progress.suspend(|| {
            eprintln!(
                "{name}: highest {} that held: {}; {}",
                search.field,
                outcome
                    .highest_held
                    .map_or("none".to_owned(), |v| v.to_string()),
                outcome.stopped
            )
        });
        result.search.push(outcome);
    }
    Ok(Status::Complete)
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
    let bound = if s.loadgen_bound {
        " (the load generator was CPU-bound: the limit may be its own)"
    } else {
        ""
    };
    if s.connected < clients as f64 {
        let connected = s.connected;
        return Some(format!(
            "only {connected} of {clients} clients connected{bound}"
        ));
    }
    let broken = thresholds::judge(&s, &search.limits())
        .into_iter()
        .find(|c| !c.pass)?;
    Some(format!("{}{bound}", thresholds::broken_text(&broken)))
}
