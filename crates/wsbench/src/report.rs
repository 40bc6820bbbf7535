//! `wsbench report` and `wsbench compare`: re-render a result, or set two side by side.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use wsbench_core::result::{OLDEST_READABLE_SCHEMA, RunResult, SCHEMA_VERSION};
use wsbench_report::compare::{self, Tolerances};

use crate::cli::{CompareArgs, ReportArgs};
use crate::exit::{Usage, refuse_overwrite};
use crate::run::write_atomic;

/// Reads a result written by `wsbench run`, refusing other schema versions; any failure
/// is the request's (exit 2): the input is not a result this wsbench reads.
pub fn read_result(path: &Path) -> anyhow::Result<RunResult> {
    read(path).map_err(|e| Usage(format!("{e:#}")).into())
}

fn read(path: &Path) -> anyhow::Result<RunResult> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    match value.get("schema_version").map(|v| v.as_u64()) {
        Some(Some(v))
            if (u64::from(OLDEST_READABLE_SCHEMA)..=u64::from(SCHEMA_VERSION)).contains(&v) => {}
        Some(Some(v)) => bail!(
            "{} has schema version {v}; this wsbench reads versions {OLDEST_READABLE_SCHEMA} \
             to {SCHEMA_VERSION} (re-run the scenario, or use the wsbench that wrote it)",
            path.display()
        ),
        _ => bail!(
            "{} is not a wsbench result (no schema_version)",
            path.display()
        ),
    }
    serde_json::from_value(value)
        .with_context(|| format!("{} is not a wsbench result", path.display()))
}

/// Runs `wsbench report`.
pub fn report(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let result = read_result(&args.result)?;
    if let Some(path) = &args.output {
        refuse_overwrite(path, args.force)?;
    }
    let bytes = args.format.exporter().render(&result)?;
    match &args.output {
        Some(path) => write_atomic(path, &bytes)?,
        None => to_stdout(&bytes)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `bytes` on stdout. A reader that stopped early (`| head`) is not an error: the
/// rest is not wanted.
fn to_stdout(bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Runs `wsbench compare`; the exit code is the verdict.
pub fn compare(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let load = |p: &Path| read_result(p);
    let (base, new) = match (load(&args.base), load(&args.new)) {
        (Ok(b), Ok(n)) => (b, n),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("wsbench: {e:#}");
            return Ok(ExitCode::from(compare::EXIT_NOT_COMPARABLE));
        }
    };
    let tolerances = Tolerances {
        timing: args.timing_tolerance,
        latency: args.latency_tolerance,
        significance: args.significance,
        volatile: args.volatile_tolerance,
        memory: args.memory_tolerance,
        wire: args.wire_tolerance,
        loss: args.loss_tolerance,
        max_interference: args.max_interference,
    };
    let comparison = compare::compare(&base, &new, tolerances, args.strict_env);
    let md = compare::markdown(
        &comparison,
        &args.base.display().to_string(),
        &args.new.display().to_string(),
    );
    to_stdout(md.as_bytes())?;
    Ok(ExitCode::from(comparison.exit_code()))
}
