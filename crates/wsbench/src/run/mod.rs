//! `wsbench run`: each transport's server in its own process, thousands of clients, the
//! measured comparison, written as it goes.

mod child;
mod cluster;
mod environment;
mod fdlimit;
mod output;
mod procfs;
mod search;
pub mod summary;
mod transport;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use tokio_util::sync::CancellationToken;
use wsbench_core::result::{RunResult, SCHEMA_VERSION, Status, point_label};
use wsbench_core::scenario::{Overrides, Scenario, Transport};
use wsbench_core::shard::Shard;
use wsbench_report::Format;

use crate::cli::RunArgs;

pub use output::write_atomic;

/// Exit code of a run stopped by Ctrl-C (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;
/// Exit code of a run whose scenario or arguments are unusable.
pub const EXIT_USAGE: u8 = 2;
/// Exit code of a complete run that broke one of its thresholds (as k6).
pub const EXIT_THRESHOLDS: u8 = 99;

/// How a run is described in its result, for readers of the report.
const METHOD: &[&str] = &[
    "Each server runs in its own child process (`wsbench serve`); the load generator runs in the `wsbench run` process.",
    "Open loop: message k of a sender is due at t0 + k/rate; latency = receive time - intended send time (CLOCK_MONOTONIC), so a stalled sender shows as latency.",
    "Only probes due in the measured window are counted; every sent probe is owed to every other client asked for (loss is never hidden).",
    "Latency: HdrHistogram 1 µs - 60 s, 3 significant digits, one per load-generator worker, merged; serialized histograms are kept.",
    "Server memory: VmRSS from /proc sampled at 10 Hz; baseline before clients, idle after all connected and settled (1 s), peak during load; per connection = (idle - baseline) / connected.",
    "CPU: utime + stime from /proc over the measured window, for the server and the load generator; a load generator above 90% of its cores is marked load-generator bound.",
    "Wire: bytes read and written at the client TCP sockets over the measured window; bytes per delivery = bytes read / probes received.",
];

/// Runs `wsbench run` to completion.
pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let overrides = Overrides {
        clients: args.clients,
        duration: args.duration,
        transports: args.transport.clone(),
        targets: args.target.clone(),
    };
    let scenario = match Scenario::load(&args.scenario, &overrides) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("wsbench: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let shard = args.shard.unwrap_or_default();
    if let Err(why) = check_shardable(&scenario, shard) {
        eprintln!("wsbench: --shard {shard}: {why}");
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    let limits = fdlimit::raise(fdlimit::needed(
        shard.clients_of(scenario.max_clients()),
        shard.clients_of(scenario.max_senders()),
    ))?;
    let workers = args
        .workers
        .or(scenario.workers)
        .map(|w| w as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));

    let started = SystemTime::now();
    let dir = args.out.clone().unwrap_or_else(|| {
        let stamp = humantime::format_rfc3339_seconds(started)
            .to_string()
            .replace([':', '-'], "");
        PathBuf::from("results").join(format!("{}-{stamp}", scenario.name))
    });
    let result_path = dir.join("result.json");

    let mut result = RunResult {
        schema_version: SCHEMA_VERSION,
        wsbench_version: env!("CARGO_PKG_VERSION").to_owned(),
        status: Status::Running,
        started_at: humantime::format_rfc3339_seconds(started).to_string(),
        finished_at: None,
        environment: environment::collect(limits),
        method: METHOD.iter().map(|s| (*s).to_owned()).collect(),
        scenario,
        runs: Vec::new(),
        search: Vec::new(),
        shard: (!shard.is_whole()).then_some(shard),
        merged_from: Vec::new(),
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    let plan = RunPlan {
        workers,
        shard,
        start_at: args.start_at,
    };
    let status = runtime.block_on(run_all(&mut result, &plan, &result_path))?;

    result.status = status;
    result.finished_at = Some(humantime::format_rfc3339_seconds(SystemTime::now()).to_string());
    save(&result, &result_path)?;
    println!("{}", summary::table(&result));
    for run in &result.runs {
        if let Some(e) = &run.error {
            eprintln!("wsbench: {e}");
        }
    }
    let checks = wsbench_report::thresholds::check(&result);
    if !checks.is_empty() {
        println!("thresholds:\n{}", summary::threshold_lines(&checks));
    }
    println!("result: {}", result_path.display());
    println!("report: {}", dir.join("report.html").display());
    Ok(match status {
        Status::Complete if checks.iter().any(|c| !c.pass) => ExitCode::from(EXIT_THRESHOLDS),
        Status::Complete => ExitCode::SUCCESS,
        Status::Interrupted => ExitCode::from(EXIT_INTERRUPTED),
        Status::Failed | Status::Running => ExitCode::FAILURE,
    })
}

/// A sharded run measures one transport once against a shared target, so that every shard
/// runs the same single measurement at the same instant.
fn check_shardable(scenario: &Scenario, shard: Shard) -> Result<(), String> {
    if shard.is_whole() {
        return Ok(());
    }
    let [transport] = scenario.transports[..] else {
        return Err("a shard measures one transport: pick it with --transport".to_owned());
    };
    if !scenario.target.contains_key(&transport) {
        return Err(format!(
            "shards share one server: give it with --target {transport}=URL (or [target])"
        ));
    }
    if scenario.repeat != 1 || !scenario.sweep.is_empty() || scenario.search.is_some() {
        return Err("repeats, sweeps and searches cannot be sharded: run one point".to_owned());
    }
    if shard.count > scenario.clients {
        return Err(format!("more shards than the {} clients", scenario.clients));
    }
    Ok(())
}

/// How this process takes part in the run.
struct RunPlan {
    workers: usize,
    shard: Shard,
    start_at: Option<SystemTime>,
}

/// Runs every transport and repeat, interleaved (ws, sio, ws, sio, ...), saving after each.
async fn run_all(result: &mut RunResult, plan: &RunPlan, path: &Path) -> anyhow::Result<Status> {
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
            search::run(result, &search, plan.workers, &interrupt, &progress, path).await?
        }
        None => run_points(result, plan, &interrupt, &progress, path).await?,
    };
    progress.finish_and_clear();
    Ok(status)
}

/// Every sweep point (one without a sweep), repeat and transport, interleaved.
async fn run_points(
    result: &mut RunResult,
    plan: &RunPlan,
    interrupt: &CancellationToken,
    progress: &ProgressBar,
    path: &Path,
) -> anyhow::Result<Status> {
    let mut status = Status::Complete;
    for point in result.scenario.points() {
        let ctx = transport::RunCtx {
            scenario: &point.scenario,
            workers: plan.workers,
            shard: plan.shard,
            start_at: plan.start_at,
            interrupt,
            progress,
        };
        for repeat in 0..point.scenario.repeat {
            for &t in &point.scenario.transports {
                let run = measure_and_save(result, &ctx, t, repeat, &point.values, path).await?;
                match run {
                    Status::Interrupted => return Ok(Status::Interrupted),
                    Status::Failed => status = Status::Failed,
                    _ => {}
                }
            }
        }
    }
    Ok(status)
}

/// Measures one transport once at a sweep point, records it in `result` and saves.
/// Returns the run's status.
pub(crate) async fn measure_and_save(
    result: &mut RunResult,
    ctx: &transport::RunCtx<'_>,
    t: Transport,
    repeat: u64,
    point: &BTreeMap<String, f64>,
    path: &Path,
) -> anyhow::Result<Status> {
    let mut run = transport::measure(ctx, t, repeat).await;
    run.point = point.clone();
    let at = point_label(point);
    ctx.progress.suspend(|| {
        eprintln!(
            "{t}#{}{}{at}: {:?}, {} of {} deliveries, p50 {:.2} ms",
            repeat + 1,
            if at.is_empty() { "" } else { " " },
            run.status,
            run.messages.delivered,
            run.messages.expected,
            run.latency.p50_us as f64 / 1e3
        )
    });
    let status = run.status;
    result.runs.push(run);
    save(result, path)?;
    Ok(status)
}

/// Writes result.json, then report.md and report.html beside it, each atomically.
fn save(result: &RunResult, path: &Path) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    for (format, file) in [
        (Format::Json, path.to_path_buf()),
        (Format::Markdown, dir.join("report.md")),
        (Format::Html, dir.join("report.html")),
    ] {
        let bytes = format
            .exporter()
            .render(result)
            .with_context(|| format!("cannot render {}", file.display()))?;
        write_atomic(&file, &bytes)?;
    }
    Ok(())
}
