//! CSV: one row per transport run, every metric a column, for spreadsheets and scripts.

use wsbench_core::result::RunResult;

use crate::metrics::METRICS;
use crate::summary::status_word;
use crate::{Exporter, ReportError};

/// Writes one row per transport run.
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
        header.extend(["loadgen_cpu_utilisation", "loadgen_bound", "error"]);
        w.write_record(&header)?;
        for r in &result.runs {
            let mut row = vec![
                result.scenario.name.clone(),
                r.transport.to_string(),
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
            row.push(r.error.clone().unwrap_or_default());
            w.write_record(&row)?;
        }
        w.into_inner()
            .map_err(|e| ReportError::Csv(e.into_error().into()))
    }
}
