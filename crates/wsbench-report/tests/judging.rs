//! Every metric `compare` shows is judged by the rule of its kind, as its descriptor says,
//! never by a default: a result compared with itself (a real two-repeat run,
//! `tests/fixtures/pair-result.json`) gives each metric's row the note of its rule.

use std::path::Path;

use wsbench_core::result::RunResult;
use wsbench_report::compare::{self, Tolerances, Verdict};
use wsbench_report::metrics::{Kind, METRICS};

fn fixture(name: &str) -> RunResult {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/{name}"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn every_metric_is_judged_by_the_rule_of_its_kind() {
    let result = fixture("pair-result.json");
    let c = compare::compare(&result, &result, Tolerances::default(), false);
    assert_eq!(c.exit_code(), compare::EXIT_OK);
    for m in METRICS {
        let rows: Vec<_> = c.rows.iter().filter(|r| r.metric.key == m.key).collect();
        assert!(!rows.is_empty(), "{}: no row", m.key);
        for row in rows.into_iter().filter(|r| r.base.is_some()) {
            let note = &row.note;
            // Before any rule: a busy machine or a degraded run leaves a timing unjudged.
            let before_rule = matches!(row.verdict, Verdict::Contended | Verdict::Degraded);
            // What each rule says of how it judged (or why it could not).
            let judged_by_its_rule = match m.kind {
                Kind::Timing | Kind::Latency | Kind::LatencyTail => {
                    note.contains("Mann-Whitney")
                        || note.contains("offered load")
                        || row.verdict == Verdict::Unjudged
                        || before_rule
                }
                Kind::Volatile { min_samples: None } => {
                    note.contains("never judged") || before_rule
                }
                Kind::Volatile {
                    min_samples: Some(n),
                } => {
                    note.contains(&format!("needs {n} "))
                        || note.contains("gross change")
                        || before_rule
                }
                Kind::Memory => note.contains("RSS resolves"),
                Kind::Wire => note.starts_with('±') && note.ends_with('%'),
                Kind::Loss => note.contains("points"),
            };
            assert!(
                judged_by_its_rule,
                "{} of {}: {:?}, {note:?}",
                m.key, row.label, row.verdict
            );
            assert_ne!(row.verdict, Verdict::Regressed, "{}: itself", m.key);
        }
    }
}
