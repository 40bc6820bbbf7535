//! The order of a run: every sweep point, repeat and system, interleaved (ws, sio, ws,
//! sio, ...) so that a shared machine's drift hits every system alike; saved after each.

use std::collections::BTreeMap;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use tokio_util::sync::CancellationToken;
use wsbench_core::result::{RunResult, Status, point_label};
use wsbench_core::system::System;

use super::measure::{self, RunCtx};
use super::{RunPlan, save, search};

/// Runs every system and repeat, interleaved (ws, sio, ws, sio, ...), saving after each.
pub async fn run_all(
    result: &mut RunResult,
    plan: &RunPlan,
    path: &Path,
) -> anyhow::Result<Status> {
    let interrupt = CancellationToken::new();
    {
        let interrupt = interrupt.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupt.cancel();
            }
        });
    }
    let progress = ProgressBar::new_spinner();
    progress.set_style(
        ProgressStyle::with_template("{spinner} {prefix:.bold} {msg}").expect("valid template"),
    );
    progress.enable_steady_tick(std::time::Duration::from_millis(200));

    let status = match result.scenario.search.clone() {
        Some(search) => {
            let searching = search::Searching {
                plan,
                interrupt: &interrupt,
                progress: &progress,
                path,
            };
            search::run(result, &search, &searching).await?
        }
        None => run_points(result, plan, &interrupt, &progress, path).await?,
    };
    progress.finish_and_clear();
    Ok(status)
}

/// Every sweep point (one without a sweep), repeat and system, interleaved.
async fn run_points(
    result: &mut RunResult,
    plan: &RunPlan,
    interrupt: &CancellationToken,
    progress: &ProgressBar,
    path: &Path,
) -> anyhow::Result<Status> {
    let mut status = Status::Complete;
    for point in result.scenario.points().to_vec() {
        let ctx = RunCtx::new(&point.scenario, plan, interrupt, progress);
        for repeat in 0..point.scenario.repeat {
            for system in point.scenario.systems() {
                let run =
                    measure_and_save(result, &ctx, &system, repeat, &point.values, path).await?;
                match run {
                    Status::Interrupted => return Ok(Status::Interrupted),
                    Status::Failed => status = Status::Failed,
                    Status::Degraded if status == Status::Complete => status = Status::Degraded,
                    _ => {}
                }
            }
        }
    }
    Ok(status)
}

/// Measures one system once at a sweep point, records it in `result` and saves.
/// Returns the run's status.
pub async fn measure_and_save(
    result: &mut RunResult,
    ctx: &RunCtx<'_>,
    system: &System,
    repeat: u64,
    point: &BTreeMap<String, f64>,
    path: &Path,
) -> anyhow::Result<Status> {
    let t = &system.name;
    let mut run = measure::measure(ctx, system, repeat).await;
    run.point = point.clone();
    let at = point_label(point);
    let m = &run.messages;
    // A shard owes what its own senders sent, to every shard's clients, and receives what
    // its clients got from every sender: the two add up only in `wsbench merge`.
    let counts = if ctx.shard.is_whole() {
        format!("{} of {} deliveries", m.delivered, m.expected)
    } else {
        format!(
            "{} received, {} owed by this shard's senders",
            m.delivered, m.expected
        )
    };
    // The table's word for the status, and for a degraded run what made it so.
    let mut status = wsbench_report::summary::status_word(run.status).to_owned();
    if run.status == Status::Degraded {
        let kinds: Vec<&str> = run
            .validity
            .reasons
            .iter()
            .map(|r| r.kind.as_str())
            .collect();
        status = format!("{status} ({})", kinds.join(", "));
    }
    let line = format!(
        "{t}#{}{}{at}: {status}, {counts}, p50 {:.2} ms",
        repeat + 1,
        if at.is_empty() { "" } else { " " },
        run.latency.p50_us as f64 / 1e3
    );
    // Wrapped at the terminal's width like the rest of the run's end: a degraded run's
    // reasons make the line long.
    let width = super::headline::width();
    ctx.progress
        .suspend(|| eprintln!("{}", super::headline::wrap(&line, "    ", width)));
    let status = run.status;
    result.runs.push(run);
    save(result, path)?;
    Ok(status)
}
