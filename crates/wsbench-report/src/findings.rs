//! One result's findings in a few lines, for the README's "What we found": the scenario and
//! its load, the machine and date, and each seed claim the run measured with its verdict
//! and the figures behind it. `scripts/publish.sh` strings these together from the
//! committed results, and a test checks the README against them.

use wsbench_core::result::RunResult;

use crate::claims;
use crate::summary::summarize;
use crate::verdict::Verdict;
use crate::{Exporter, ReportError};

/// The findings exporter (`wsbench report --format findings`).
pub struct FindingsExporter;

impl Exporter for FindingsExporter {
    fn render(&self, result: &RunResult) -> Result<Vec<u8>, ReportError> {
        Ok(render(result).into_bytes())
    }
}

/// The findings of `result` as Markdown: a heading line, then a bullet per measured claim.
pub fn render(result: &RunResult) -> String {
    let s = &result.scenario;
    let e = &result.environment;
    let summaries = summarize(result);
    let day = result.started_at.get(..10).unwrap_or(&result.started_at);
    let load = if s.sweep.is_empty() {
        format!("{} clients", s.clients)
    } else {
        format!("claims at {}", claims::judged_at(&summaries))
    };
    let mut out = format!(
        "**{}** ({load}, {} sender(s) × {} msg/s of {} B, {} s window, {} repeat(s); {}, {} \
         cores, {day}; [report](results/published/{}/report.md))\n\n",
        s.name,
        s.senders,
        s.rate,
        s.payload,
        s.duration.0.as_secs(),
        s.repeat,
        e.cpu_model.trim(),
        e.cores,
        s.name,
    );
    let groups = claims::by_runtime(result, &summaries);
    let many = groups.len() > 1;
    for (runtime, claims) in groups {
        for c in claims.iter().filter(|c| c.verdict != Verdict::NotMeasured) {
            let whose = if many {
                format!("{runtime}: ")
            } else {
                String::new()
            };
            out.push_str(&format!(
                "- {whose}{}: **{}** — {}\n",
                c.claim,
                c.verdict.as_str(),
                c.evidence
            ));
        }
    }
    out.push('\n');
    out
}
