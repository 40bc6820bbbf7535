//! `wsbench merge`: the results of a sharded run added up into one result.

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;

use anyhow::Context;
use wsbench_core::result::figures::{NodeSample, Tally, server_figures};
use wsbench_core::result::validity::{Validity, judge};
use wsbench_core::result::{
    DeliveryTimeline, NodeFigures, RunResult, ServerFigures, Status, SystemRun,
};
use wsbench_core::shard::Shard;

use crate::cli::MergeArgs;
use crate::report::read_result;
use crate::run::{EXIT_USAGE, summary, write_atomic};

/// Runs `wsbench merge`.
pub fn merge(args: MergeArgs) -> anyhow::Result<ExitCode> {
    crate::exit::refuse_overwrite(&args.output, args.force)?;
    let mut shards = Vec::new();
    for path in &args.shards {
        shards.push((path.display().to_string(), read_result(path)?));
    }
    let merged = match merge_results(&shards) {
        Ok(merged) => merged,
        Err(why) => {
            eprintln!("wsbench: cannot merge: {why}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let json = serde_json::to_vec_pretty(&merged).context("cannot serialize the result")?;
    write_atomic(&args.output, &json)?;
    println!("{}", summary::table(&merged));
    println!("merged {} shards: {}", shards.len(), args.output.display());
    Ok(match merged.status {
        Status::Complete | Status::Degraded => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    })
}

/// Adds up the shard results `(name, result)`; `Err` says why they do not belong together.
pub fn merge_results(shards: &[(String, RunResult)]) -> Result<RunResult, String> {
    let (first_name, first) = shards.first().ok_or("no shard results given")?;
    let shard_of = |name: &str, r: &RunResult| -> Result<Shard, String> {
        r.shard
            .ok_or_else(|| format!("{name} is not a shard's result (run with --shard I/N)"))
    };
    let count = shard_of(first_name, first)?.count;
    let scenario = load_of(first)?;
    let mut seen = BTreeMap::new();
    for (name, r) in shards {
        let shard = shard_of(name, r)?;
        if shard.count != count {
            return Err(format!(
                "{name} is shard {shard} but {first_name} is of {count} shards"
            ));
        }
        if let Some(other) = seen.insert(shard.index, name) {
            return Err(format!("{name} and {other} are both shard {shard}"));
        }
        if load_of(r)? != scenario {
            return Err(format!(
                "{name} ran another scenario than {first_name} (scenario '{}' vs '{}', or a \
                 field differs)",
                r.scenario.name, first.scenario.name
            ));
        }
    }
    if let Some(missing) = (0..count).find(|i| !seen.contains_key(i)) {
        return Err(format!("shard {missing}/{count} is missing"));
    }

    let mut merged = first.clone();
    merged.shard = None;
    merged.merged_from = shards.iter().map(|(name, _)| name.clone()).collect();
    merged.started_at = shards
        .iter()
        .map(|(_, r)| r.started_at.clone())
        .min()
        .unwrap_or_default();
    merged.finished_at = shards
        .iter()
        .filter_map(|(_, r)| r.finished_at.clone())
        .max();
    merged
        .method
        .retain(|l| l != crate::run::SHARD_SERVER_FIGURES);
    merged.method.push(format!(
        "Merged from {count} shards: deliveries and counters are summed over every shard; \
         latency is recorded only for probes received in the process that sent them (one \
         monotonic clock), so it samples the deliveries rather than covering all of them."
    ));
    let targets: BTreeSet<String> = shards
        .iter()
        .flat_map(|(_, r)| r.scenario.target.iter())
        .map(|(system, url)| format!("{system}={url}"))
        .collect();
    if targets.len() > first.scenario.target.len() {
        let targets: Vec<String> = targets.into_iter().collect();
        merged.method.push(format!(
            "The shards loaded different targets (the nodes of one cluster): {}; the \
             scenario shows the first shard's.",
            targets.join(", ")
        ));
    }
    merged.runs = first
        .runs
        .iter()
        .map(|run| {
            let parts: Vec<(&str, Option<&SystemRun>)> = shards
                .iter()
                .map(|(name, r)| {
                    let part = r.runs.iter().find(|x| {
                        x.system == run.system && x.repeat == run.repeat && x.point == run.point
                    });
                    (name.as_str(), part)
                })
                .collect();
            merge_runs(&parts, first.scenario.payload)
        })
        .collect();
    // A shard that failed or was interrupted says so; otherwise the merged runs' validity.
    let unmeasured = shards
        .iter()
        .map(|(_, r)| r.status)
        .filter(|s| !s.measured());
    merged.status = worst(merged.runs.iter().map(|r| r.status).chain(unmeasured));
    // Judged again on the merged figures, not any one shard's.
    merged.thresholds = wsbench_report::thresholds::check(&merged);
    Ok(merged)
}

/// What shards must agree on: the scenario, except where each sent its load (targets and
/// their pids), since the shards of a cluster's test each load a node of their own.
fn load_of(r: &RunResult) -> Result<serde_json::Value, String> {
    let mut scenario = r.scenario.clone();
    scenario.target.clear();
    scenario.target_pids.clear();
    serde_json::to_value(&scenario).map_err(|e| e.to_string())
}

/// The servers' figures of merged shards, each server counted once: shards that share a
/// target measured the same process (its whole CPU over the same window, its growth from
/// every shard's clients), while shards on a cluster's nodes each measured their own.
/// Per-connection and per-delivery figures are then over the merged counts; a shard's own
/// result divides the shared server's by its share alone. `None` unless every shard
/// measured its server (a target without a pid has no server figures).
fn merged_server(runs: &[&SystemRun], connected: u64, delivered: u64) -> Option<ServerFigures> {
    let mut servers: BTreeMap<(&str, u32), (NodeSample, u32)> = BTreeMap::new();
    for r in runs {
        let s = r.server.as_ref()?;
        let (node, readings) = servers
            .entry((r.server_url.as_str(), s.pid))
            .or_insert_with(|| (node_of(s), 0));
        let f = &mut node.figures;
        // Before any shard's clients, after all of them, the highest; CPU: the readings'
        // mean (each shard read the same window).
        f.rss_baseline_bytes = f.rss_baseline_bytes.min(s.rss_baseline_bytes);
        f.rss_idle_bytes = f.rss_idle_bytes.max(s.rss_idle_bytes);
        f.rss_peak_bytes = f.rss_peak_bytes.max(s.rss_peak_bytes);
        f.cpu_s = (f.cpu_s * f64::from(*readings) + s.cpu_s) / f64::from(*readings + 1);
        *readings += 1;
    }
    let nodes: Vec<NodeSample> = servers.into_values().map(|(node, _)| node).collect();
    server_figures(&nodes, connected, delivered)
}

/// One shard's reading of its server, as a node of the merged system.
fn node_of(s: &ServerFigures) -> NodeSample {
    NodeSample {
        figures: NodeFigures {
            pid: s.pid,
            clients: 0,
            rss_baseline_bytes: s.rss_baseline_bytes,
            rss_idle_bytes: s.rss_idle_bytes,
            rss_peak_bytes: s.rss_peak_bytes,
            cpu_s: s.cpu_s,
            counters: s.counters,
            killed_at_s: None,
            cpus: s.cpus.clone(),
        },
        rss_samples: s.rss_samples.clone(),
        counters_window_end: s.counters_window_end,
    }
}

fn worst(statuses: impl Iterator<Item = Status>) -> Status {
    let rank = |s: Status| match s {
        Status::Complete => 0,
        Status::Degraded => 1,
        Status::Running => 2,
        Status::Failed => 3,
        Status::Interrupted => 4,
    };
    statuses
        .max_by_key(|s| rank(*s))
        .unwrap_or(Status::Complete)
}

/// One system run of every shard, added up: the shards' counts summed and every figure
/// derived again by core's [`Tally`], as for a single process. A shard without the run
/// makes the merge failed.
fn merge_runs(parts: &[(&str, Option<&SystemRun>)], payload: u64) -> SystemRun {
    let runs: Vec<&SystemRun> = parts.iter().filter_map(|(_, r)| *r).collect();
    let mut out = runs[0].clone();
    let mut errors: Vec<String> = parts
        .iter()
        .filter(|(_, r)| r.is_none())
        .map(|(name, _)| format!("{name} has no such run"))
        .collect();
    errors.extend(parts.iter().filter_map(|(name, r)| {
        r.and_then(|r| r.error.as_ref())
            .map(|e| format!("{name}: {e}"))
    }));
    out.status = if parts.iter().any(|(_, r)| r.is_none()) {
        Status::Failed
    } else {
        worst(runs.iter().map(|r| r.status))
    };
    out.error = (!errors.is_empty()).then(|| errors.join("; "));
    let mut tally = Tally::default();
    for r in &runs {
        tally.add(&Tally::of(r, payload));
    }
    tally.apply(&mut out);
    out.server = merged_server(&runs, out.connections.connected, out.messages.delivered);
    let mut timeline = DeliveryTimeline {
        bucket_s: runs[0].timeline.bucket_s,
        ..Default::default()
    };
    for r in &runs {
        timeline.add(&r.timeline);
    }
    out.timeline = timeline;
    // A block's latency quantiles do not add up across shards: a merged result's
    // statistics rest on its repeats alone (docs/method.md, "Uncertainty").
    out.blocks = Vec::new();
    // The whole judged now: the shards' conditions, and the summed counts' loss.
    out.backlog = None;
    let mut reasons: Vec<_> = runs
        .iter()
        .flat_map(|r| &r.validity.reasons)
        .filter(|r| r.kind.is_conditions())
        .cloned()
        .collect();
    reasons.extend(judge(&out).only(|k| !k.is_conditions()).reasons);
    out.validity = Validity::of(reasons);
    out.status = out.status.judged(&out.validity);
    out
}
