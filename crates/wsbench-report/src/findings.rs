//! One result's findings in a few lines, for the README's "What we found": the scenario and
//! its load, the machine and date, and each seed claim the run measured with its verdict
//! and the figures behind it; then what TLS and compression added where the run measured
//! them, and after a shootout the answer to "inherent or implementation?".
//! `scripts/publish.sh` strings these together from the committed results, and a test
//! checks the README against them.

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
    let load = if s.sweep.is_empty() && s.search.is_none() {
        format!("{} clients", s.clients)
    } else {
        format!("claims at {}", claims::judged_at(result, &summaries))
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
    // What TLS and compression add or save, a line each, where the run measured them.
    let lines = [
        crate::compression::tls_lines(&summaries),
        crate::compression::resumption_lines(&summaries),
        crate::compression::lines(&summaries),
    ];
    for line in lines.iter().flatten() {
        out.push_str(&format!("- {line}\n"));
    }
    let pairs = crate::shootout::pairs(result, &summaries);
    if let (Some(table), Some(answer)) = (
        crate::shootout::table(&pairs),
        crate::shootout::answer_line(&pairs),
    ) {
        out.push('\n');
        out.push_str(&crate::markdown::markdown_table(&table));
        out.push_str(&format!("\n{answer}.\n"));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A heading line with the load, machine and date and a link to the report, then a
    /// bullet per claim the run measured (none it did not).
    #[test]
    fn findings_are_a_heading_and_a_bullet_per_measured_claim() {
        let result: RunResult = crate::fixtures::pair();
        let text = render(&result);
        let s = &result.scenario;
        let first = text.lines().next().unwrap();
        assert!(
            first.starts_with(&format!("**{}** ({} clients, ", s.name, s.clients)),
            "{first}"
        );
        assert!(
            first.ends_with(&format!(
                "[report](results/published/{}/report.md))",
                s.name
            )),
            "{first}"
        );
        assert!(first.contains(&result.started_at[..10]), "{first}");
        let summaries = summarize(&result);
        let measured: Vec<String> = claims::by_runtime(&result, &summaries)
            .into_iter()
            .flat_map(|(_, c)| c)
            .filter(|c| c.verdict != Verdict::NotMeasured)
            .map(|c| format!("- {}: **{}** — ", c.claim, c.verdict.as_str()))
            .collect();
        assert!(!measured.is_empty());
        let bullets: Vec<&str> = text.lines().filter(|l| l.starts_with("- ")).collect();
        assert_eq!(bullets.len(), measured.len(), "{text}");
        for (bullet, start) in bullets.iter().zip(&measured) {
            assert!(bullet.starts_with(start.as_str()), "{bullet}");
        }
    }
}
