//! CSV: one row per system run, every metric a column, for spreadsheets and scripts.

use wsbench_core::result::RunResult;

use crate::metrics::METRICS;
use crate::summary::status_word;
use crate::{Exporter, ReportError};

/// Writes one row per system run.
pub struct CsvExporter;

impl Exporter for CsvExporter {
    fn render(&self, result: &RunResult) -> Result<Vec<u8>, ReportError> {
        let mut w = ::csv::Writer::from_writer(Vec::new());
        let mut header = vec![
            "scenario",
            "transport",
            "repeat",
            "status",
            "clients",
            "connected",
            "sent",
            "expected",
            "delivered",
            "lost",
            "duplicated",
            "out_of_order",
        ];
        header.extend(METRICS.iter().map(|m| m.key));
        header.extend([
            "loadgen_cpu_utilisation",
            "loadgen_bound",
            "thresholds",
            "error",
        ]);
        let checks = crate::thresholds::check(result);
        w.write_record(&header)?;
        for r in &result.runs {
            let mut row = vec![
                result.scenario.name.clone(),
                r.system.to_string(),
                r.repeat.to_string(),
                status_word(r.status).to_owned(),
                r.connections.requested.to_string(),
                r.connections.connected.to_string(),
                r.messages.sent.to_string(),
                r.messages.expected.to_string(),
                r.messages.delivered.to_string(),
                r.messages.lost.to_string(),
                r.messages.duplicated.to_string(),
                r.messages.out_of_order.to_string(),
            ];
            row.extend(
                METRICS
                    .iter()
                    .map(|m| (m.get)(r).map_or(String::new(), |v| format!("{v}"))),
            );
            row.push(format!("{}", r.loadgen.cpu_utilisation));
            row.push(r.loadgen.bound.to_string());
            row.push(thresholds_cell(&checks, r));
            row.push(r.error.clone().unwrap_or_default());
            w.write_record(&row)?;
        }
        w.into_inner()
            .map_err(|e| ReportError::Csv(e.into_error().into()))
    }
}

/// The thresholds of the run's system at its point: empty without any, else `pass`, or
/// `FAIL` and each broken limit with its value.
fn thresholds_cell(
    checks: &[wsbench_core::result::ThresholdCheck],
    run: &wsbench_core::result::SystemRun,
) -> String {
    let label = crate::summary::with_point(run.system.to_string(), &run.point);
    let mine: Vec<_> = checks.iter().filter(|c| c.label == label).collect();
    if mine.is_empty() {
        return String::new();
    }
    let failed: Vec<String> = mine
        .iter()
        .filter(|c| !c.pass)
        .map(|c| format!("{} ({})", c.limit, crate::thresholds::value_text(c)))
        .collect();
    if failed.is_empty() {
        "pass".to_owned()
    } else {
        format!("FAIL: {}", failed.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wsbench_core::result::ThresholdCheck;

    use crate::fixtures::pair;

    fn check(label: &str, limit: &str, value: f64, pass: bool) -> ThresholdCheck {
        ThresholdCheck {
            system: "ws".parse().unwrap(),
            label: label.to_owned(),
            limit: limit.to_owned(),
            bound: 1.0,
            value: Some(value),
            unit: "ms".to_owned(),
            pass,
        }
    }

    /// A row per run, as many cells as the header, and the run's own thresholds only.
    #[test]
    fn every_run_is_a_full_row_with_its_own_thresholds() {
        let result = pair();
        let text = String::from_utf8(CsvExporter.render(&result).unwrap()).unwrap();
        let mut reader = ::csv::Reader::from_reader(text.as_bytes());
        let header = reader.headers().unwrap().clone();
        assert_eq!(header.len(), 12 + METRICS.len() + 4);
        let rows: Vec<::csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), result.runs.len());
        for (row, run) in rows.iter().zip(&result.runs) {
            assert_eq!(row.len(), header.len());
            assert_eq!(&row[1], run.system.as_str());
            assert_eq!(row[8].parse::<u64>().unwrap(), run.messages.delivered);
        }

        let run = &result.runs[0];
        assert_eq!(thresholds_cell(&[], run), "");
        let other = check("socketio", "p99 <= 1ms", 2.0, false);
        assert_eq!(
            thresholds_cell(std::slice::from_ref(&other), run),
            "",
            "another system's"
        );
        let held = check("ws", "p99 <= 10ms", 2.0, true);
        assert_eq!(thresholds_cell(&[held.clone(), other], run), "pass");
        let broken = check("ws", "p99 <= 1ms", 2.0, false);
        assert_eq!(
            thresholds_cell(&[held, broken], run),
            "FAIL: p99 <= 1ms (2.00 ms)"
        );
    }
}
