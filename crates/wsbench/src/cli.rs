//! The command line.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use clap::{Args, Parser, Subcommand};
use wsbench_core::cpus::CpuSet;
use wsbench_core::io_path::{IoChoice, SendChoice};
use wsbench_core::shard::Shard;
use wsbench_core::system::SystemName;
use wsbench_report::Format;
use wsbench_report::compare::Tolerances;

mod serve;

pub use serve::ServeArgs;

/// Raw WebSocket or Socket.IO? wsbench answers with measurements.
#[derive(Debug, Parser)]
#[command(name = "wsbench", version, about, long_about = None, after_help = crate::exit::TABLE)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one server under test in this process, until SIGTERM or Ctrl-C.
    ///
    /// Prints one JSON ready line with the bound address on stdout, then answers each
    /// `counters` line written on stdin with one JSON line of live counters.
    #[command(after_help = crate::help::SERVE)]
    Serve(ServeArgs),
    /// Measure the transports of a scenario side by side.
    ///
    /// Starts each transport's server as a child process (or uses the scenario's `target`),
    /// connects the scenario's clients, drives an open-loop broadcast load, and writes
    /// result.json, report.md and report.html under results/ (after each transport, so
    /// nothing measured is lost). How every figure is obtained: docs/method.md.
    #[command(after_help = crate::help::RUN)]
    Run(RunArgs),
    /// Render a result.json again, in any format.
    #[command(after_help = crate::help::REPORT)]
    Report(ReportArgs),
    /// Compare two results metric by metric, for regression checks.
    ///
    /// Prints a Markdown table of every metric of every system with its change, verdict and
    /// how it was judged. Only a change for the worse fails. Timings (latency, CPU per
    /// delivery, throughput) are divided by each run's calibration and judged from their
    /// per-block samples: the whole 95% interval of the change must pass --timing-tolerance
    /// and a Mann-Whitney test must agree. Wire bytes, loss and memory per connection are
    /// compared directly. Results from different machines get a warning (--strict-env
    /// refuses them). docs/method.md, "The regression gate".
    #[command(after_help = crate::help::COMPARE)]
    Compare(CompareArgs),
    /// Add up the results of a sharded run (`wsbench run --shard I/N`) into one result.
    ///
    /// The shards must come from one scenario with the same shard count and cover every
    /// shard once; histograms are added and counters summed. Latency is that of probes
    /// received in the process that sent them (one monotonic clock); deliveries are counted
    /// from every shard.
    #[command(after_help = crate::help::MERGE)]
    Merge(MergeArgs),
    /// Measure the kernel's floor under each side on this machine, and keep it.
    ///
    /// A bare reader of 64-byte messages on 1,000 loopback connections at 100,000/s (the
    /// load generator's floor) and a bare writer of one frame to each of them 100 times a
    /// second (the ws server's), each by epoll and by io_uring. Kept in
    /// $WSBENCH_FLOOR_FILE or ~/.cache/wsbench/floor.json, where every later `wsbench run`
    /// on this machine finds it and reports each side's cost as a ratio to it.
    /// docs/method.md, "The floors".
    #[command(after_help = crate::help::FLOOR)]
    Floor(FloorArgs),
}

/// Options of `wsbench floor`.
#[derive(Debug, Args)]
pub struct FloorArgs {
    /// How long each of the four ways runs in each of the three rounds, seconds (0.1 to
    /// 60); the floor is each way's median round.
    #[arg(long, value_name = "S", default_value_t = 1.0, allow_negative_numbers = true, value_parser = parse_seconds)]
    pub seconds: f64,
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.1..=60.0).contains(&v) => Ok(v),
        _ => Err(format!("'{s}' is not a number of seconds from 0.1 to 60")),
    }
}

/// Options of `wsbench merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' result.json files.
    #[arg(required = true, num_args = 1..)]
    pub shards: Vec<PathBuf>,

    /// Where to write the merged result.json.
    #[arg(long, short, value_name = "FILE")]
    pub output: PathBuf,

    /// Replace the output if it exists (it is never replaced silently).
    #[arg(long)]
    pub force: bool,
}

/// Options of `wsbench report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A result.json written by `wsbench run`.
    pub result: PathBuf,

    /// Output format: md, csv, html, json, or findings (the claims a line each, for a README).
    #[arg(long, short, value_name = "FORMAT", default_value = "md", value_parser = parse_format)]
    pub format: Format,

    /// Write to this file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Replace the output file if it exists (it is never replaced silently).
    #[arg(long)]
    pub force: bool,
}

/// Options of `wsbench compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The baseline result.json.
    pub base: PathBuf,

    /// The new result.json.
    pub new: PathBuf,

    /// Smallest change of CPU per delivery or delivered/s, relative and after
    /// calibration, that counts: 0.12 = 12%. Its 95% confidence interval must also exclude
    /// no change, and a Mann-Whitney test over the blocks agree.
    #[arg(long, value_name = "SHARE", default_value_t = 0.12, allow_negative_numbers = true, value_parser = parse_share)]
    pub timing_tolerance: f64,

    /// The same for the latency median, which a shared machine moves by a factor between
    /// runs by itself: 2.0 = ×3. Lower it on a quiet, dedicated machine.
    #[arg(long, value_name = "SHARE", default_value_t = 2.0, allow_negative_numbers = true, value_parser = parse_share)]
    pub latency_tolerance: f64,

    /// Largest p-value of the Mann-Whitney test over the blocks at which a timing change
    /// counts.
    #[arg(long, value_name = "P", default_value_t = 0.01, allow_negative_numbers = true, value_parser = parse_p)]
    pub significance: f64,

    /// The same for volatile timings (latency p99 and p99.9, connect times: any scheduler
    /// hiccup moves them), judged only from enough samples: 4.0 = ×5.
    #[arg(long, value_name = "SHARE", default_value_t = 4.0, allow_negative_numbers = true, value_parser = parse_share)]
    pub volatile_tolerance: f64,

    /// Refuse (exit 2) to compare results from machines with another CPU model, core
    /// count or kernel, instead of warning.
    #[arg(long)]
    pub strict_env: bool,

    /// How much server memory per connection may grow, relative.
    #[arg(long, value_name = "SHARE", default_value_t = 0.25, allow_negative_numbers = true, value_parser = parse_share)]
    pub memory_tolerance: f64,

    /// How much wire bytes per delivery may grow, relative.
    #[arg(long, value_name = "SHARE", default_value_t = 0.02, allow_negative_numbers = true, value_parser = parse_share)]
    pub wire_tolerance: f64,

    /// How much the lost share of deliveries may grow, absolute (0.001 = 0.1 point).
    #[arg(long, value_name = "SHARE", default_value_t = 0.001, allow_negative_numbers = true, value_parser = parse_share)]
    pub loss_tolerance: f64,

    /// Judge timings only from blocks in which other work took at most this share of the
    /// machine's CPU capacity: other guests of the host (steal time, /proc/stat) and
    /// processes other than the run's own. Such work moves latency by a factor and CPU per
    /// delivery by a fifth. With too few such blocks a timing is "not judged: machine
    /// busy". 1 judges every block.
    #[arg(long, value_name = "SHARE", default_value_t = Tolerances::default().max_interference, allow_negative_numbers = true, value_parser = parse_fraction)]
    pub max_interference: f64,
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

/// Options of `wsbench run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario file (TOML), e.g. scenarios/fanout.toml.
    pub scenario: PathBuf,

    /// Override the scenario's client count for this run.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub clients: Option<u64>,

    /// Override the scenario's measured duration for this run (e.g. "10s").
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Override the scenario's repeats for this run: a regression baseline recorded with
    /// more repeats than the check it gates is a steadier reference.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub repeat: Option<u64>,

    /// Measure only this transport (repeatable): ws, socketio, socketio-polling.
    #[arg(long = "transport", value_name = "TRANSPORT", value_parser = parse_transport)]
    pub systems: Vec<SystemName>,

    /// Load-generator threads (default: the scenario's `workers`, else one per 50,000
    /// deliveries a second owed to the clients, up to one per core).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub workers: Option<u64>,

    /// How the load generator's clients read: `tokio` (a task per client on tokio's
    /// reactor), `epoll` (one epoll set per worker, every ready socket read once and its
    /// frames accounted in place), `uring` (the same on one io_uring per worker), or
    /// `auto` (io_uring, the cheapest here, epoll where the kernel refuses a ring, the
    /// result saying why). Only plain ws:// lean clients
    /// that never stop reading are batched; the rest read by tokio. Recorded in
    /// result.json.
    #[arg(long, value_name = "PATH", default_value = "auto", env = "WSBENCH_IO", value_parser = parse_io)]
    pub io: IoChoice,

    /// How the built-in ws server writes broadcasts to many clients (`wsbench serve ws
    /// --io`): `epoll`, `uring` or `auto`. Recorded in result.json as `server.io`.
    #[arg(long, value_name = "PATH", default_value = "auto", env = "WSBENCH_SERVER_IO", value_parser = parse_send_io)]
    pub server_io: SendChoice,

    /// Measure the kernel's floor on this machine before the systems (about 15 s) and give
    /// each side's CPU per message as a ratio to it in the report; kept for later runs
    /// (see `wsbench floor`). Without it a run uses the floor kept for this machine, if any.
    #[arg(long)]
    pub floor: bool,

    /// Directory for result.json and the reports (default: results/<scenario>-<UTC
    /// timestamp>). A directory that already holds a result is refused.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Replace the result already in --out (it is never replaced silently).
    #[arg(long)]
    pub force: bool,

    /// At the end, print every figure in full tables (wider than 100 columns) instead of
    /// the headline figures and the claims' verdicts.
    #[arg(long)]
    pub wide: bool,

    /// Measure an already-running server for a transport, e.g. ws=ws://127.0.0.1:8080/
    /// (repeatable; loopback unless --allow-remote). Replaces the scenario's [target] for
    /// that transport.
    #[arg(long, value_name = "TRANSPORT=URL", value_parser = parse_target)]
    pub target: Vec<(SystemName, String)>,

    /// The pid of a --target's server (repeatable), e.g. ws=4242: its memory and CPU (with
    /// every process below it) are then sampled like a built-in server's.
    #[arg(long, value_name = "SYSTEM=PID", value_parser = parse_target_pid)]
    pub target_pid: Vec<(SystemName, u32)>,

    /// Trust the certificates of this PEM file (a CA) on a wss:// or https:// target,
    /// instead of the machine's roots; replaces the scenario's tls_ca_file.
    #[arg(long, value_name = "FILE", conflicts_with = "tls_insecure")]
    pub tls_ca_file: Option<PathBuf>,

    /// Check no target's certificate (chain or name): for a server's self-signed
    /// certificate. Warned about, and said in the result's method notes.
    #[arg(long)]
    pub tls_insecure: bool,

    /// Allow targets that are not on this machine (a server on another host, a network
    /// namespace). Only from the command line: a scenario file cannot aim load elsewhere.
    /// The run prints the hosts it will load and records them in result.json.
    #[arg(long)]
    pub allow_remote: bool,

    /// Run the servers on these CPUs only (e.g. 0-1); replaces the scenario's server_cpus.
    #[arg(long, value_name = "CPUS", value_parser = parse_cpus)]
    pub server_cpus: Option<CpuSet>,

    /// Run the load generator on these CPUs only (e.g. 2-15); replaces loadgen_cpus.
    #[arg(long, value_name = "CPUS", value_parser = parse_cpus)]
    pub loadgen_cpus: Option<CpuSet>,

    /// Run only part I of N of the clients and senders (e.g. 0/4), against a --target that
    /// every shard shares; `wsbench merge` adds the shards' results up.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,

    /// With --shard: begin sending at this wall-clock instant (RFC 3339, e.g.
    /// 2026-11-25T22:30:00Z), so shards on several hosts start together without a
    /// coordinator. It must leave time for every client to connect.
    #[arg(long, value_name = "TIME", value_parser = parse_time, requires = "shard")]
    pub start_at: Option<SystemTime>,
}

fn parse_target(s: &str) -> Result<(SystemName, String), String> {
    let (t, url) = s
        .split_once('=')
        .ok_or_else(|| format!("'{s}' is not TRANSPORT=URL, e.g. ws=ws://127.0.0.1:8080/"))?;
    Ok((t.parse()?, url.to_owned()))
}

fn parse_target_pid(s: &str) -> Result<(SystemName, u32), String> {
    let (name, pid) = s
        .split_once('=')
        .ok_or_else(|| format!("'{s}' is not SYSTEM=PID, e.g. ws=4242"))?;
    let pid = pid
        .parse::<u32>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("'{pid}' is not a process id"))?;
    Ok((name.parse()?, pid))
}

/// A tolerance: a finite share, 0 or more (0.12 = 12%).
fn parse_share(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        _ => Err(format!(
            "'{s}' is not a share of 0 or more (e.g. 0.12 for 12%)"
        )),
    }
}

/// A significance level, between 0 and 1.
fn parse_p(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x > 0.0 && x < 1.0 => Ok(x),
        _ => Err(format!(
            "'{s}' is not a significance level between 0 and 1 (e.g. 0.01)"
        )),
    }
}

fn parse_fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!(
            "'{s}' is not a share between 0 and 1 (e.g. 0.1 = 10%)"
        )),
    }
}

fn parse_cpus(s: &str) -> Result<CpuSet, String> {
    s.parse()
}

fn parse_time(s: &str) -> Result<SystemTime, String> {
    humantime::parse_rfc3339_weak(s)
        .map_err(|e| format!("'{s}' is not an RFC 3339 time ({e}); e.g. 2026-11-25T22:30:00Z"))
}

fn parse_transport(s: &str) -> Result<SystemName, String> {
    s.parse()
}

pub(crate) fn parse_send_io(s: &str) -> Result<SendChoice, String> {
    s.parse()
}

fn parse_io(s: &str) -> Result<IoChoice, String> {
    s.parse()
}

/// Parses a human-readable duration such as `"20s"` or `"500ms"`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("'{s}' is not a duration ({e}); try \"20s\""))
}
