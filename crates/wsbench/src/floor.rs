//! The kernel's floor on this machine (docs/method.md, "The floors"): `wsbench floor`
//! measures it and keeps it in a cache file per user; `wsbench run --floor` measures it at
//! the start of the run; any other run on the same machine reads the cache, so that every
//! report can give each side's cost as a ratio to it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::Context;
use wsbench_core::result::{Environment, Floor};
use wsbench_floor::Machine;

use crate::cli::FloorArgs;

/// Open files the floor's connections need (two ends each, and some to spare).
pub const FDS: u64 = 2 * wsbench_floor::CONNECTIONS as u64 + 64;

/// Where the machine's floor is kept: `WSBENCH_FLOOR_FILE`, else the user's cache directory
/// (`$XDG_CACHE_HOME/wsbench/floor.json`, `~/.cache/wsbench/floor.json`).
pub fn cache_path() -> Option<PathBuf> {
    if let Some(file) = std::env::var_os("WSBENCH_FLOOR_FILE").filter(|f| !f.is_empty()) {
        return Some(PathBuf::from(file));
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(cache.join("wsbench").join("floor.json"))
}

/// Measures the floor on the machine `env` describes, `seconds_each` a way, telling on
/// stderr what it measures, and keeps it in the cache (a cache that cannot be written is
/// warned about, not fatal).
pub fn measure(env: &Environment, seconds_each: f64) -> anyhow::Result<Floor> {
    let machine = Machine {
        hostname: env.hostname.clone(),
        kernel: env.kernel.clone(),
        cpu_model: env.cpu_model.clone(),
    };
    let at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let rounds = wsbench_floor::ROUNDS;
    let floor = wsbench_floor::measure(seconds_each, machine, at, |round| {
        eprintln!(
            "wsbench: floor: round {round} of {rounds} (receive and send, epoll and io_uring, \
             {seconds_each} s each)"
        );
    })
    .context("cannot measure the floor")?;
    if let Some(path) = cache_path() {
        let json = serde_json::to_vec_pretty(&floor).expect("a floor is JSON");
        if let Err(e) = crate::run::write_atomic(&path, &json) {
            eprintln!("wsbench: warning: the floor is not kept for later runs: {e:#}");
        }
    }
    Ok(floor)
}

/// The cached floor, if one was measured on the machine `env` describes.
pub fn cached(env: &Environment) -> Option<Floor> {
    let path = cache_path()?;
    let text = std::fs::read(&path).ok()?;
    let mut floor: Floor = serde_json::from_slice(&text).ok()?;
    if !floor.is_of(&env.hostname, &env.kernel, &env.cpu_model) {
        return None;
    }
    floor.source = format!("cached in {}", path.display());
    Some(floor)
}

/// `wsbench floor`: measures, prints and keeps the floor.
pub fn run(args: FloorArgs) -> anyhow::Result<ExitCode> {
    let limits = crate::run::fdlimit::raise(FDS)?;
    let env = crate::run::environment::collect(limits);
    let floor = measure(&env, args.seconds)?;
    print!("{}", table(&floor));
    match cache_path() {
        Some(path) => println!("kept in {}", path.display()),
        None => println!("not kept: neither WSBENCH_FLOOR_FILE nor HOME is set"),
    }
    Ok(ExitCode::SUCCESS)
}

/// The floor as a few lines for the terminal.
fn table(f: &Floor) -> String {
    let way =
        |v: Option<f64>| v.map_or_else(|| "not measured".to_owned(), |v| format!("{v:.2} µs"));
    let mut out = format!(
        "floor on {} ({}, kernel {}), {}, {} loopback connections, {} s a way, median of 3 \
         rounds:\n",
        f.hostname, f.cpu_model, f.kernel, f.measured_at, f.connections, f.seconds_each
    );
    out.push_str(&format!(
        "  receive, per 64-byte message at 100,000/s: epoll + recv {:.2} µs, io_uring {}\n",
        f.recv_epoll_us,
        way(f.recv_uring_us)
    ));
    out.push_str(&format!(
        "  send, per recipient of a 66-byte frame, 100 broadcasts/s: send {:.2} µs, io_uring {}\n",
        f.send_us,
        way(f.send_uring_us)
    ));
    if let Some(why) = &f.uring_refused {
        out.push_str(&format!("  {why}\n"));
    }
    out
}
