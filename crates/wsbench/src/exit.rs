//! Exit codes, the same for every subcommand, and the error that says "nothing was done:
//! the request itself was wrong" (exit 2) apart from a failure while doing it (exit 1).
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | done: a run complete within its thresholds, no regression, a report or merge written |
//! | 1 | done, with a failure: a system failed or a shard is missing (partial results kept), a regression, an I/O error |
//! | 2 | nothing done: bad arguments or scenario, an unreadable or foreign input file, results not comparable, an output that exists (without --force), a machine limit the run cannot fit (file descriptors) |
//! | 99 | a run complete, but a threshold of its scenario broke |
//! | 130 | interrupted (Ctrl-C): what was measured is kept |

use std::fmt;

/// Success.
pub const OK: u8 = 0;
/// Done, with a failure.
pub const FAILED: u8 = 1;
/// Nothing done: the request was wrong.
pub const USAGE: u8 = 2;
/// A threshold broke (as k6).
pub const THRESHOLDS: u8 = 99;
/// Stopped by Ctrl-C (128 + SIGINT, as shells report it).
pub const INTERRUPTED: u8 = 130;

/// The exit codes as `--help` shows them.
pub const TABLE: &str = "Exit codes (every subcommand):
  0    done: run complete within its thresholds, no regression, report or merge written
  1    done with a failure: a system failed (partial result kept), a regression, an I/O error
  2    nothing done: bad arguments or scenario, unreadable input, results not comparable,
       an output that exists (add --force), a limit of this machine the run cannot fit
  99   run complete, a threshold of its scenario broke
  130  interrupted (Ctrl-C); what was measured is kept";

/// An error in the request itself, found before anything was done: exit 2.
#[derive(Debug)]
pub struct Usage(pub String);

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// The exit code of an error that reached the top: 2 for a [`Usage`] anywhere in its
/// chain, else 1.
pub fn code_of(err: &anyhow::Error) -> u8 {
    if err.chain().any(|e| e.is::<Usage>()) {
        USAGE
    } else {
        FAILED
    }
}

/// Refuses to replace `path` unless `force`: results are never silently overwritten.
pub fn refuse_overwrite(path: &std::path::Path, force: bool) -> anyhow::Result<()> {
    if path.exists() && !force {
        return Err(Usage(format!(
            "{} exists: choose another output, or add --force to replace it",
            path.display()
        ))
        .into());
    }
    Ok(())
}

/// Checks, before anything is measured, that results can be written in `dir` (creating
/// it): a directory that cannot take them is the request's mistake (exit 2), found now
/// rather than after the measurement, when nothing could be kept.
pub fn check_writable(dir: &std::path::Path) -> anyhow::Result<()> {
    let probe = dir.join(".wsbench-write-check");
    let tried = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&probe, b""))
        .and_then(|()| std::fs::remove_file(&probe));
    tried.map_err(|e| {
        Usage(format!(
            "cannot write results in {}: {e}; choose another --out",
            dir.display()
        ))
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_exit_2_wherever_they_are_in_the_chain() {
        let usage = anyhow::Error::new(Usage("bad".into())).context("reading x");
        assert_eq!(code_of(&usage), USAGE);
        assert_eq!(code_of(&anyhow::anyhow!("disk full")), FAILED);
    }
}
