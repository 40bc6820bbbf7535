//! wsbench: raw WebSocket against Socket.IO, measured.
//!
//! The binary is thin: [`main_with_args`] parses the command line and runs a subcommand, so
//! tests and other programs can drive the same code in-process.

mod certs;
pub mod cli;
pub mod exit;
pub mod floor;
pub mod help;
pub mod merge;
pub mod report;
pub mod run;
pub mod serve;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

/// Runs `wsbench` with `args` (the program name first) and returns its exit code.
pub fn main_with_args<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(exit::USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    init_tracing();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Run(args) => run::run(args),
        Command::Report(args) => report::report(args),
        Command::Compare(args) => report::compare(args),
        Command::Merge(args) => merge::merge(args),
        Command::Floor(args) => floor::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("wsbench: {err:#}");
            ExitCode::from(exit::code_of(&err))
        }
    }
}

/// Logs go to stderr, filtered by `RUST_LOG` (default: warnings), so stdout stays for data.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
