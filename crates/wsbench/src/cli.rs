//! The command line.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use wsbench_core::OverflowPolicy;
use wsbench_core::scenario::Transport;

/// Raw WebSocket or Socket.IO? wsbench answers with measurements.
#[derive(Debug, Parser)]
#[command(name = "wsbench", version, about, long_about = None)]
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
    Serve(ServeArgs),
    /// Measure the transports of a scenario side by side.
    ///
    /// Starts each transport's server as a child process (or uses the scenario's `target`),
    /// connects the scenario's clients, drives an open-loop broadcast load, and writes
    /// result.json under results/ after each transport. Exit code: 0 complete, 1 a transport
    /// failed, 2 bad scenario or arguments, 130 interrupted (Ctrl-C; what was measured is kept).
    Run(RunArgs),
}

/// Options of `wsbench run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario file (TOML), e.g. scenarios/fanout.toml.
    pub scenario: PathBuf,

    /// Override the scenario's client count for this run.
    #[arg(long, value_name = "N")]
    pub clients: Option<u64>,

    /// Override the scenario's measured duration for this run (e.g. "10s").
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Measure only this transport (repeatable): ws, socketio, socketio-polling.
    #[arg(long, value_name = "TRANSPORT", value_parser = parse_transport)]
    pub transport: Vec<Transport>,

    /// Load-generator threads (default: the scenario's `workers`, else one per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=256))]
    pub workers: Option<u64>,

    /// Directory for result.json (default: results/<scenario>-<UTC timestamp>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

fn parse_transport(s: &str) -> Result<Transport, String> {
    s.parse()
}

/// Which server `wsbench serve` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ServeTransport {
    /// Raw WebSocket (tokio-tungstenite): paths `/`, `/room/NAME`, `/echo`.
    Ws,
    /// Socket.IO (socketioxide): events `broadcast`, `join`, `echo` on namespace `/`.
    Socketio,
}

impl ServeTransport {
    /// The name printed in the ready line.
    pub fn as_str(self) -> &'static str {
        match self {
            ServeTransport::Ws => "ws",
            ServeTransport::Socketio => "socketio",
        }
    }
}

/// Options of `wsbench serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The server to run.
    #[arg(value_enum)]
    pub transport: ServeTransport,

    /// Address to listen on; port 0 lets the OS choose (see the ready line).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: String,

    /// What to do when a client's outgoing queue is full.
    #[arg(long, value_name = "POLICY", default_value = "drop", value_parser = parse_policy)]
    pub overflow: OverflowPolicy,

    /// Messages that may wait in one client's outgoing queue.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub queue_capacity: u32,

    /// Largest message a client may send, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024, value_parser = clap::value_parser!(u32).range(16..))]
    pub max_message_size: u32,

    /// Raw WebSocket only: send this text to each client on connect, as the seed's server does.
    #[arg(long, value_name = "TEXT", num_args = 0..=1, default_missing_value = "Welcome to the WebSocket server!")]
    pub welcome: Option<String>,

    /// Socket.IO only: engine.io ping interval (e.g. "25s").
    #[arg(long, value_name = "DURATION", default_value = "25s", value_parser = parse_duration)]
    pub ping_interval: Duration,

    /// Socket.IO only: engine.io ping timeout (e.g. "20s").
    #[arg(long, value_name = "DURATION", default_value = "20s", value_parser = parse_duration)]
    pub ping_timeout: Duration,
}

fn parse_policy(s: &str) -> Result<OverflowPolicy, String> {
    s.parse()
}

/// Parses a human-readable duration such as `"20s"` or `"500ms"`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("'{s}' is not a duration ({e}); try \"20s\""))
}
