//! Saturation search: per transport, raise one field step by step until a limit breaks, and
//! keep the highest value that held ("max clients under an SLO").

use std::collections::BTreeMap;
use std::path::Path;

use indicatif::ProgressBar;
use tokio_util::sync::CancellationToken;
use wsbench_core::result::{RunResult, SearchOutcome, Status, TransportRun};
use wsbench_core::scenario::Search;
use wsbench_core::shard::Shard;
use wsbench_report::summary::Stat;

use super::measure::RunCtx;
use super::schedule::measure_and_save;

/// Runs the search for every transport of the scenario, one after the other. A step that
/// breaks a limit (even by failing) ends that transport's search; only Ctrl-C ends the run.
pub async fn run(
    result: &mut RunResult,
    search: &Search,
    workers: super::plan::Workers,
    interrupt: &CancellationToken,
    progress: &ProgressBar,
    path: &Path,
) -> anyhow::Result<Status> {
    let base = result.scenario.clone();
    for system in base.systems() {
        let transport = system.name.clone();
        let mut outcome = SearchOutcome {
            transport: transport.clone(),
            field: search.field.to_string(),
            highest_held: None,
            first_broken: None,
            stopped: format!("every value up to the maximum ({}) held", search.max),
        };
        for value in search.values() {
            let mut scenario = base.clone();
            scenario.search = None;
            scenario.transports = vec![transport.clone()];
            scenario.set(search.field, value);
            let ctx = RunCtx {
                scenario: &scenario,
                workers,
                shard: Shard::WHOLE,
                start_at: None,
                interrupt,
                progress,
            };
            let point = BTreeMap::from([(search.field.to_string(), value)]);
            let first_run = result.runs.len();
            for repeat in 0..scenario.repeat {
                let status = measure_and_save(result, &ctx, &system, repeat, &point, path).await?;
                if status == Status::Interrupted {
                    outcome.stopped = "interrupted".to_owned();
                    result.search.push(outcome);
                    return Ok(Status::Interrupted);
                }
            }
            match broken_limit(&result.runs[first_run..], search, scenario.clients) {
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
                "{transport}: highest {} that held: {}; {}",
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

/// The first limit these repeats of one step break (medians over repeats), if any.
pub fn broken_limit(runs: &[TransportRun], search: &Search, clients: u64) -> Option<String> {
    if let Some(failed) = runs.iter().find(|r| !r.status.measured()) {
        return Some(format!(
            "the run did not complete ({})",
            failed.error.as_deref().unwrap_or("no reason recorded")
        ));
    }
    let median = |v: Vec<f64>| Stat::of(v).map_or(0.0, |s| s.median);
    let bound = if runs.iter().any(|r| r.loadgen.bound) {
        " (the load generator was CPU-bound: the limit may be its own)"
    } else {
        ""
    };
    let connected = median(
        runs.iter()
            .map(|r| r.connections.connected as f64)
            .collect(),
    );
    if connected < clients as f64 {
        return Some(format!(
            "only {connected} of {clients} clients connected{bound}"
        ));
    }
    let loss = median(
        runs.iter()
            .map(|r| r.messages.loss_ratio().unwrap_or(0.0))
            .collect(),
    );
    if loss > search.loss {
        return Some(format!(
            "loss {:.3}% above {:.3}%{bound}",
            loss * 100.0,
            search.loss * 100.0
        ));
    }
    if let Some(limit) = search.p99 {
        let p99_ms = median(runs.iter().filter_map(|r| r.latency.p99_ms()).collect());
        if p99_ms > limit.0.as_secs_f64() * 1e3 {
            return Some(format!("p99 {p99_ms:.2} ms above {limit}{bound}"));
        }
    }
    None
}
