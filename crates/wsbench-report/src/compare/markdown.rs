//! A comparison as Markdown: for a terminal, a pull request or `$GITHUB_STEP_SUMMARY`.

use std::fmt::Write;

use super::{Comparison, EXIT_OK, Row, Verdict};
use crate::metrics::Kind;
use crate::samples::Divisor;
use crate::stats::{CONFIDENCE, Interval};
use crate::summary::Stat;

/// How a comparison whose timings went unjudged on a busy machine says so, first on its
/// line: `scripts/perf-check.sh` looks for it to try again.
pub const MACHINE_BUSY: &str = "**Machine busy:**";
/// How the paragraph on timings left out for a degraded run begins.
pub const DEGRADED: &str = "**Degraded:**";

/// The comparison as Markdown.
pub fn markdown(c: &Comparison, base_name: &str, new_name: &str) -> String {
    let mut out = format!("# wsbench compare\n\n`{base_name}` → `{new_name}`\n\n");
    if !c.environment.is_empty() {
        let _ = writeln!(
            out,
            "> **Warning: the two results come from different machines** ({}). Timings are \
             divided by each run's calibration, which covers speed, not every difference \
             between machines: read timing verdicts with care (`--strict-env` refuses such a \
             comparison).\n",
            c.environment.join("; ")
        );
    }
    if let Some(why) = &c.not_comparable {
        let _ = writeln!(out, "**Not comparable:** {why}.");
        return out;
    }
    let t = &c.tolerances;
    let _ = writeln!(
        out,
        "Only a change for the worse fails. CPU per delivery and delivered/s are divided by \
         the machine's speed (a CPU kernel timed with every block) and judged from their \
         per-block samples: a regression is a change beyond {1:.0}% (latency p50 beyond \
         {2:.0}%, p99 beyond {4:.0}%, as a shared machine moves them that much by itself) whose \
         {0:.0}% interval excludes no change and whose Mann-Whitney p is below {3}; p99.9 and \
         connect times only past {4:.0}% and from enough samples. Memory ±{5:.0}% (and beyond RSS's \
         resolution), wire ±{6:.0}%, loss ±{7} points. Timings rest only on blocks in which other \
         work (other guests of the host, other processes) took at most {8:.0}% of the machine's \
         CPU.\n",
        CONFIDENCE * 100.0,
        t.timing * 100.0,
        t.latency * 100.0,
        t.significance,
        t.volatile * 100.0,
        t.memory * 100.0,
        t.wire * 100.0,
        t.loss * 100.0,
        t.max_interference * 100.0
    );
    if let [Some(b), Some(n)] = &c.calibration {
        let ms = |c: &wsbench_core::result::Calibration| {
            c.cpu_ms().map_or("-".to_owned(), |v| format!("{v:.2} ms"))
        };
        let us = |c: &wsbench_core::result::Calibration| {
            c.rtt_us().map_or("-".to_owned(), |v| format!("{v:.1} µs"))
        };
        let _ = writeln!(
            out,
            "Calibration (start and end of each run): CPU kernel {} → {}, loopback round trip {} → {}.\n",
            ms(b),
            ms(n),
            us(b),
            us(n)
        );
    }
    if c.interference.iter().any(Option::is_some) {
        let share =
            |s: Option<f64>| s.map_or("not recorded".to_owned(), |v| format!("{:.0}%", v * 100.0));
        let _ = writeln!(
            out,
            "CPU that went to other work (other guests' steal and other processes, median \
             block): {} → {}.\n",
            share(c.interference[0]),
            share(c.interference[1])
        );
    }
    out.push_str(
        "| system | metric | base | new | change | verdict | how |\n\
         | --- | --- | ---: | ---: | ---: | --- | --- |\n",
    );
    for r in &c.rows {
        row(&mut out, r, false);
    }
    if !c.ratios.is_empty() {
        out.push_str(
            "\nRatios between systems within each result (information, not judged):\n\n\
             | ratio | metric | base | new | change |\n| --- | --- | ---: | ---: | ---: |\n",
        );
        for r in &c.ratios {
            row(&mut out, r, true);
        }
    }
    for f in &c.failed {
        let _ = writeln!(out, "\n**REGRESSED:** {f} (complete in the baseline)");
    }
    let improved = c
        .rows
        .iter()
        .filter(|r| r.verdict == Verdict::Improved)
        .count();
    let verdict = match c.exit_code() {
        EXIT_OK => "no regression",
        _ => "regression",
    };
    let _ = write!(out, "\nVerdict: **{verdict}**");
    if improved > 0 {
        let _ = write!(out, " ({improved} figure(s) improved)");
    }
    out.push_str(".\n");
    let busy = c.contended();
    if !busy.is_empty() {
        let _ = writeln!(
            out,
            "\n{MACHINE_BUSY} the timings of {} were not judged: other work (other guests of \
             the host, other processes) took too much of the machine while they ran (rows marked \
             \"machine busy\"). Run again alone, or when the host is calmer.",
            busy.join(", ")
        );
    }
    let degraded = c.degraded();
    if !degraded.is_empty() {
        let _ = writeln!(
            out,
            "\n{DEGRADED} some timings of {} were not judged: a run on one side cannot carry a \
             verdict (a starved load generator, or a system that lost deliveries: saturated at \
             this load; rows marked \"degraded\" say which and what to do).",
            degraded.join(", ")
        );
    }
    out
}

fn row(out: &mut String, r: &Row, ratio_row: bool) {
    let show = |s: Option<Stat>| {
        s.map_or("-".to_owned(), |s| {
            if ratio_row {
                format!("×{:.2}", s.median)
            } else {
                r.metric.format(s.median)
            }
        })
    };
    let change = match (r.base, r.new, r.change) {
        (Some(b), Some(n), _) if r.metric.kind == Kind::Loss => {
            format!("{:+.3} pt", (n.median - b.median) * 100.0)
        }
        (_, _, Some(ci)) if ci.lo != ci.hi && r.note.contains("Mann-Whitney") => interval_text(&ci),
        (_, _, Some(ci)) => percent(ci.estimate),
        (Some(b), Some(n), None) if b.median != 0.0 => percent(n.median / b.median),
        _ => "-".to_owned(),
    };
    // A change judged per machine speed (figures divided by the CPU kernel's time) can
    // point the other way from the figures shown beside it, measured on machines of
    // different speeds: both are shown.
    let calibrated = [Divisor::BlockKernel, Divisor::RunKernel]
        .iter()
        .any(|d| r.note.starts_with(d.describe()));
    let change = match (r.base, r.new) {
        (Some(b), Some(n)) if calibrated && b.median != 0.0 => format!(
            "{change} per machine speed (as measured {})",
            percent(n.median / b.median)
        ),
        _ => change,
    };
    if ratio_row {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            r.label,
            r.metric.label,
            show(r.base),
            show(r.new),
            change
        );
        return;
    }
    let _ = writeln!(
        out,
        "| {} | {} ({}) | {} | {} | {} | {} | {} |",
        r.label,
        r.metric.label,
        r.metric.unit,
        show(r.base),
        show(r.new),
        change,
        r.verdict.as_str(),
        r.note
    );
}

fn percent(ratio: f64) -> String {
    format!("{:+.1}%", (ratio - 1.0) * 100.0)
}

/// "+27.0% (95% CI +21.9..+31.2%)".
fn interval_text(ci: &Interval) -> String {
    format!(
        "{} ({:.0}% CI {}..{})",
        percent(ci.estimate),
        CONFIDENCE * 100.0,
        percent(ci.lo),
        percent(ci.hi)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_a_signed_percentage_with_its_interval() {
        assert_eq!(percent(1.27), "+27.0%");
        assert_eq!(percent(0.9), "-10.0%");
        assert_eq!(percent(1.0), "+0.0%");
        let ci = Interval {
            estimate: 1.27,
            lo: 1.219,
            hi: 1.312,
        };
        assert_eq!(
            interval_text(&ci),
            format!("+27.0% ({:.0}% CI +21.9%..+31.2%)", CONFIDENCE * 100.0)
        );
    }
}
