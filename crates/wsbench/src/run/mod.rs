//! `wsbench run`: each system's server in its own process, thousands of clients, the
//! measured comparison, written as it goes.

mod calibrate;
mod child;
mod command;
mod common_load;
pub(crate) mod environment;
pub(crate) mod fdlimit;
mod figures;
mod headline;
mod heap;
mod live_view;
mod measure;
mod method;
mod netem;
mod output;
mod phases;
mod plan;
mod preflight;
mod procfs;
mod proxy;
mod sampler;
mod schedule;
mod search;
mod servers;
pub mod summary;
mod tls;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::Context;
use wsbench_core::result::blocks::median_interference;
use wsbench_core::result::{RunResult, SCHEMA_VERSION, Status};
use wsbench_core::scenario::{Overrides, Scenario};
use wsbench_core::shard::Shard;
use wsbench_report::compare::Tolerances;

use crate::cli::RunArgs;

pub use method::SHARD_SERVER_FIGURES;
use output::save;
pub use output::write_atomic;

pub use crate::exit::{
    INTERRUPTED as EXIT_INTERRUPTED, THRESHOLDS as EXIT_THRESHOLDS, USAGE as EXIT_USAGE,
};

/// Runs `wsbench run` to completion.
pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let (scenario, shard) = match checked(&args) {
        Ok(checked) => checked,
        Err(mistakes) => {
            for m in mistakes {
                eprintln!("wsbench: {m}");
            }
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    if let Some(network) = &scenario.network
        && !netem::inside()
    {
        return netem::run_inside(network, &args.scenario);
    }
    for (name, host) in method::remote_hosts(&scenario) {
        eprintln!(
            "wsbench: warning: --allow-remote: {name} sends load to {host}, off this machine"
        );
    }
    if scenario.tls_trust == wsbench_core::scenario::TlsTrust::Insecure {
        eprintln!(
            "wsbench: warning: tls_insecure: the clients check no server's certificate (chain \
             or name)"
        );
    }
    if let Some(cpus) = &scenario.loadgen_cpus {
        // Before any thread exists: the runtime's and the workers' inherit it.
        cpus.apply_to_this_thread()
            .with_context(|| format!("cannot run the load generator on CPUs {cpus}"))?;
    }
    let mut fds = fdlimit::needed(
        shard.clients_of(scenario.max_clients()),
        shard.clients_of(scenario.max_senders()),
    );
    if args.floor {
        fds = fds.max(crate::floor::FDS);
    }
    let limits = fdlimit::raise(fds)?;
    let workers = match args.workers.or(scenario.workers) {
        Some(w) => plan::Workers::Fixed(w as usize),
        // The CPUs this thread may run on (the load generator's, once pinned).
        None => plan::Workers::Sized {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        },
    };

    let started = SystemTime::now();
    let dir = args.out.clone().unwrap_or_else(|| {
        let stamp = humantime::format_rfc3339_seconds(started)
            .to_string()
            .replace([':', '-'], "");
        PathBuf::from("results").join(format!("{}-{stamp}", scenario.name))
    });
    let result_path = dir.join("result.json");
    crate::exit::refuse_overwrite(&result_path, args.force)?;
    crate::exit::check_writable(&dir)?;
    let mut result = RunResult {
        schema_version: SCHEMA_VERSION,
        wsbench_version: env!("CARGO_PKG_VERSION").to_owned(),
        status: Status::Running,
        started_at: humantime::format_rfc3339_seconds(started).to_string(),
        finished_at: None,
        environment: environment::collect(limits),
        method: method::lines(&scenario),
        scenario,
        runs: Vec::new(),
        search: Vec::new(),
        common_load: None,
        shard: (!shard.is_whole()).then_some(shard),
        merged_from: Vec::new(),
        thresholds: Vec::new(),
    };
    if result.shard.is_some() {
        result.method.push(method::SHARD_SERVER_FIGURES.to_owned());
    }
    result.environment.floor = if args.floor {
        Some(crate::floor::measure(&result.environment, 1.0)?)
    } else {
        crate::floor::cached(&result.environment)
    };
    let mut calibration = Default::default();
    calibrate::measure(&mut calibration);
    result.environment.calibration = Some(calibration);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    let plan = RunPlan {
        workers,
        shard,
        start_at: args.start_at,
        tls: tls::files_for(&result.scenario, &dir)?,
        proxy_dir: result.scenario.proxy.is_some().then(|| dir.join("proxy")),
        io: args.io,
        server_io: args.server_io,
    };
    let status = runtime.block_on(schedule::run_all(&mut result, &plan, &result_path))?;
    result.status = status;
    if let Some(c) = result.environment.calibration.as_mut() {
        calibrate::measure(c);
    }
    result.finished_at = Some(humantime::format_rfc3339_seconds(SystemTime::now()).to_string());
    result.thresholds = wsbench_report::thresholds::check(&result);
    save(&result, &result_path)?;
    Ok(conclude(&result, &dir, args.wide))
}

/// The scenario with the command line's overrides, and this process's shard; or every
/// mistake, each on a line of its own.
fn checked(args: &RunArgs) -> Result<(Scenario, Shard), Vec<String>> {
    let overrides = Overrides {
        clients: args.clients,
        duration: args.duration,
        repeat: args.repeat,
        compared: args.systems.clone(),
        targets: args.target.clone(),
        target_pids: args.target_pid.clone(),
        server_cpus: args.server_cpus.clone(),
        loadgen_cpus: args.loadgen_cpus.clone(),
        allow_remote: args.allow_remote,
        tls_ca_file: args.tls_ca_file.clone(),
        tls_insecure: args.tls_insecure,
    };
    let scenario = Scenario::load(&args.scenario, &overrides)
        .map_err(|errors| errors.0.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    let shard = args.shard.unwrap_or_default();
    check_shardable(&scenario, shard).map_err(|why| vec![format!("--shard {shard}: {why}")])?;
    let mut mistakes = preflight::mistakes(&scenario);
    if scenario.network.is_some()
        && !netem::inside()
        && let Some(why) = netem::missing()
    {
        mistakes.push(format!("{}: [network]: {why}", args.scenario.display()));
    }
    if !mistakes.is_empty() {
        return Err(mistakes);
    }
    Ok((scenario, shard))
}

/// Prints the end of a finished run (tables, errors, thresholds, where the files are) and
/// returns its exit code.
fn conclude(result: &RunResult, dir: &std::path::Path, wide: bool) -> ExitCode {
    let width = headline::width();
    let note = |text: &str| headline::wrap(&format!("note: {text}"), "      ", width);
    if wide {
        println!("{}", summary::table(result));
    } else {
        print!("{}", headline::headline(result, width));
    }
    let banner = wsbench_report::validity::banner(result);
    let busy = median_interference(result.runs.iter().flat_map(|r| &r.blocks));
    if let Some(share) = busy.filter(|s| *s > Tolerances::default().max_interference)
        && banner.is_empty()
    {
        println!(
            "{}",
            note(&format!(
                "{:.0}% of this machine's CPU went to other work while it measured (other \
                 guests of the host, other processes; median block): timings are inflated, \
                 and `wsbench compare` judges none from such blocks (docs/method.md, \
                 \"Calibration\")",
                share * 100.0
            ))
        );
    }
    if !banner.is_empty() {
        let headline = format!("{}:", wsbench_report::validity::HEADLINE);
        println!("{}", headline::wrap(&headline, "", width));
        for line in banner {
            println!("{}", headline::wrap(&format!("  - {line}"), "    ", width));
        }
    }
    let summaries = wsbench_report::summary::summarize(result);
    let tls = wsbench_report::compression::tls_lines(&summaries);
    let proxied = wsbench_report::proxy::lines(&summaries);
    let resumed = wsbench_report::compression::resumption_lines(&summaries);
    let compressed = wsbench_report::compression::lines(&summaries);
    let pairs = wsbench_report::shootout::pairs(result, &summaries);
    let answer = wsbench_report::shootout::answer_line(&pairs);
    let floor = wsbench_report::floor::terminal_line(result);
    for line in proxied
        .iter()
        .chain(&tls)
        .chain(&resumed)
        .chain(&compressed)
        .chain(answer.iter())
        .chain(floor.iter())
    {
        println!("{}", note(line));
    }
    for run in &result.runs {
        if let Some(e) = &run.error {
            eprintln!("wsbench: {e}");
        }
    }
    let checks = &result.thresholds;
    if !checks.is_empty() {
        println!("thresholds:\n{}", summary::threshold_lines(checks));
    }
    let apart = match (&result.scenario.server_cpus, &result.scenario.loadgen_cpus) {
        (Some(server), Some(loadgen)) => !server.overlaps(loadgen),
        _ => false,
    };
    if !apart {
        eprintln!(
            "{}",
            note(
                "servers and load generator shared cores, so latencies include the load \
                 generator's share (--server-cpus and --loadgen-cpus pin them apart)"
            )
        );
    }
    println!(
        "\nresult:  {}\nreports: {}\n         {}{}",
        dir.join("result.json").display(),
        dir.join("report.md").display(),
        dir.join("report.html").display(),
        if wide {
            ""
        } else {
            "\n(every figure: --wide, or report.md)"
        }
    );
    match result.status {
        Status::Complete | Status::Degraded if checks.iter().any(|c| !c.pass) => {
            ExitCode::from(EXIT_THRESHOLDS)
        }
        // Degraded: measured in full; the terminal and the reports say why its figures
        // carry no verdict.
        Status::Complete | Status::Degraded => ExitCode::SUCCESS,
        Status::Interrupted => ExitCode::from(EXIT_INTERRUPTED),
        Status::Failed | Status::Running => ExitCode::FAILURE,
    }
}

/// A sharded run measures one system once against a shared target, so that every shard
/// runs the same single measurement at the same instant.
fn check_shardable(scenario: &Scenario, shard: Shard) -> Result<(), String> {
    if shard.is_whole() {
        return Ok(());
    }
    let [system] = &scenario.compared[..] else {
        return Err("a shard measures one transport: pick it with --transport".to_owned());
    };
    if !scenario.target.contains_key(system) {
        return Err(format!(
            "shards share one server: give it with --target {system}=URL (or [target])"
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
pub(crate) struct RunPlan {
    /// Load-generator threads.
    pub workers: plan::Workers,
    /// The part of the clients this process opens.
    pub shard: Shard,
    /// When senders begin (sharded runs).
    pub start_at: Option<SystemTime>,
    /// The run's certificate for the servers it starts over TLS.
    pub tls: Option<wsbench_core::system::TlsFiles>,
    /// Where the proxies' configurations go (`[proxy]`): `<out>/proxy/`.
    pub proxy_dir: Option<PathBuf>,
    /// How the clients read (`--io`).
    pub io: wsbench_core::io_path::IoChoice,
    /// How the built-in ws server writes broadcasts (`--server-io`).
    pub server_io: wsbench_core::io_path::SendChoice,
}
