//! Provenance of a result: the machine, the build and the tree it ran from.

use std::collections::BTreeMap;
use std::process::Command;

use wsbench_core::result::Environment;

/// Reads what can be read; a field that cannot be read is left empty rather than failing.
pub fn collect(open_files_limit: [u64; 2]) -> Environment {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let git_commit = git(&["rev-parse", "HEAD"]);
    let git_dirty = git_commit
        .as_ref()
        .and_then(|_| git(&["status", "--porcelain", "--untracked-files=no"]))
        .map(|s| !s.is_empty());
    Environment {
        hostname: read_trimmed("/proc/sys/kernel/hostname"),
        cpu_model: cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get() as u64),
        kernel: read_trimmed("/proc/sys/kernel/osrelease"),
        memory_bytes: meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024),
        rustc: env!("WSBENCH_RUSTC").to_owned(),
        crates: env!("WSBENCH_CRATES")
            .split(',')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect::<BTreeMap<_, _>>(),
        git_commit,
        git_dirty,
        open_files_limit,
        release_build: !cfg!(debug_assertions),
        cpu_source: super::procfs::CpuSource::here().describe().to_owned(),
        calibration: None,
        floor: None,
    }
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}
