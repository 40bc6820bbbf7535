//! The side-by-side table printed at the end of a run, and the threshold lines.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, Table};
use wsbench_core::result::RunResult;
use wsbench_core::result::ThresholdCheck;
use wsbench_report::summary::summarize;
use wsbench_report::table::{connections, reconnection, side_by_side, slow_consumers};
use wsbench_report::thresholds::value_text;

/// One row per system (medians over repeats) and a ratio row per system against ws,
/// then how the clients connected.
pub fn table(result: &RunResult) -> String {
    let summaries = summarize(result);
    let mut out = format!(
        "{}\n{}",
        terminal_table(&side_by_side(&summaries)),
        terminal_table(&connections(&summaries))
    );
    let extra = [
        slow_consumers(result.scenario.stalled, &summaries),
        reconnection(&summaries),
        wsbench_report::table::search(result),
        wsbench_report::table::cluster(&summaries),
    ];
    for table in extra.iter().flatten() {
        out.push('\n');
        out.push_str(&terminal_table(table));
    }
    out
}

fn terminal_table(data: &wsbench_report::table::Table) -> String {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_header(data.header.clone());
    for row in &data.rows {
        table.add_row(row.clone());
    }
    for column in 1..data.header.len().saturating_sub(1) {
        if let Some(c) = table.column_mut(column) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    table.to_string()
}

/// One line per threshold: `✓ ws: p99 <= 50ms (3.21 ms)`.
pub fn threshold_lines(checks: &[ThresholdCheck]) -> String {
    checks
        .iter()
        .map(|c| {
            format!(
                "{} {}: {} ({})",
                if c.pass { "✓" } else { "✗" },
                c.label,
                c.limit,
                value_text(c)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
