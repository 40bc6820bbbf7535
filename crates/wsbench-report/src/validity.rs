//! The validity banner: which runs' figures cannot carry a verdict, why, and what to do
//! (docs/method.md, "Validity"). The terminal, report.md and report.html say the same.

use wsbench_core::result::RunResult;
use wsbench_core::result::point_label;

/// One line per reason of every run that is not valid: `ws #1: machine busy: 44% of the
/// machine's CPU went to other work (…) — run it on a quieter machine`. Empty when every
/// run is valid.
pub fn banner(result: &RunResult) -> Vec<String> {
    let mut lines = Vec::new();
    for run in result.runs.iter().filter(|r| r.status.measured()) {
        let at = point_label(&run.point);
        let who = if at.is_empty() {
            format!("{} #{}", run.system, run.repeat + 1)
        } else {
            format!("{} {at} #{}", run.system, run.repeat + 1)
        };
        for r in &run.validity.reasons {
            lines.push(format!(
                "{who}: {}: {} — {}",
                r.kind.as_str(),
                r.detail,
                r.kind.advice()
            ));
        }
    }
    lines
}

/// The banner's opening sentence, for a result with any line in [`banner`].
pub const HEADLINE: &str = "degraded: these runs' figures cannot carry a verdict, and the \
    claims judge no latency, CPU or throughput from them";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_without_reasons_has_no_banner_and_one_with_reasons_names_each() {
        let text = include_str!("../tests/fixtures/degraded.json");
        let result: RunResult = serde_json::from_str(text).expect("fixture parses");
        let lines = banner(&result);
        assert_eq!(lines.len(), 2, "{lines:#?}");
        assert!(
            lines[0].starts_with("ws #1: machine busy: 44%"),
            "{}",
            lines[0]
        );
        assert!(lines[1].contains("lossy") && lines[1].contains("lower the load"));
        let mut valid = result.clone();
        for r in &mut valid.runs {
            r.validity = Default::default();
        }
        assert!(banner(&valid).is_empty());
    }
}
