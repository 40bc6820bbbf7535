//! JSON: the result itself, complete and re-analysable.

use wsbench_core::result::RunResult;

use crate::{Exporter, ReportError};

/// Writes the result as pretty JSON.
pub struct JsonExporter;

impl Exporter for JsonExporter {
    fn render(&self, result: &RunResult) -> Result<Vec<u8>, ReportError> {
        let mut bytes = serde_json::to_vec_pretty(result)?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}
