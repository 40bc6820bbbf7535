//! The tables every format shows, from a committed two-system result.

use wsbench_core::result::RunResult;
use wsbench_report::metrics::{LATENCY_P50, LOSS, Metric};
use wsbench_report::summary::{SystemSummary, summarize};
use wsbench_report::table::{connections, side_by_side, side_by_side_halves};

fn summaries() -> Vec<SystemSummary> {
    let result: RunResult =
        serde_json::from_str(include_str!("fixtures/pair-result.json")).unwrap();
    summarize(&result)
}

/// A row per system with its medians, then `socketio/ws` with a ratio for the metrics
/// that have one and nothing for those that do not (loss).
#[test]
fn systems_then_their_ratio_to_raw_websocket() {
    let s = summaries();
    let table = side_by_side(&s);
    let labels: Vec<&str> = table.rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(labels, ["ws", "socketio", "socketio/ws"]);
    let ws = &table.rows[0];
    assert_eq!(ws[1], "50/50");
    assert_eq!(ws.last().unwrap(), "ok ×2");
    let column = |m: &Metric| table.header.iter().position(|h| *h == m.title()).unwrap();
    let p50 = column(&LATENCY_P50);
    let median = |i: usize| s[i].stat(&LATENCY_P50).unwrap().median;
    assert_eq!(ws[p50], LATENCY_P50.format(median(0)));
    let ratio_row = &table.rows[2];
    assert_eq!(ratio_row[p50], format!("×{:.2}", median(1) / median(0)));
    let loss = column(&LOSS);
    assert_eq!(ratio_row[loss], "", "loss has no ratio row");
    assert_eq!(
        (ratio_row[1].as_str(), ratio_row.last().unwrap().as_str()),
        ("", "")
    );
}

/// The two halves hold every column of the whole table between them, the system's name
/// in both, and no other column twice.
#[test]
fn the_halves_split_the_columns_between_them() {
    let s = summaries();
    let whole = side_by_side(&s);
    let (delivery, cost) = side_by_side_halves(&s);
    assert_eq!(delivery.header[0], "transport");
    assert_eq!(cost.header[0], "transport");
    assert_eq!(delivery.header.last().unwrap(), "status");
    assert_eq!(cost.header[1], "connected");
    assert_eq!(
        delivery.header.len() + cost.header.len() - 1,
        whole.header.len()
    );
    for title in &whole.header[1..] {
        let n = [&delivery, &cost]
            .iter()
            .filter(|t| t.header.contains(title))
            .count();
        assert_eq!(n, 1, "{title}");
    }
    assert_eq!(delivery.rows.len(), whole.rows.len());
    let picked = whole.columns(&[0, 99]);
    assert_eq!(picked.header, ["transport", ""]);
}

#[test]
fn connections_sum_failures_and_losses_over_repeats() {
    let mut s = summaries();
    s[0].runs[0]
        .connections
        .failures
        .insert("refused".to_owned(), 2);
    s[0].runs[1]
        .connections
        .failures
        .insert("refused".to_owned(), 1);
    s[0].runs[1].connections.disconnected = 3;
    let table = connections(&s);
    let ws = &table.rows[0];
    assert_eq!(ws[ws.len() - 2], "refused 3");
    assert_eq!(ws[ws.len() - 1], "3");
    let sio = &table.rows[1];
    assert_eq!(
        (sio[sio.len() - 2].as_str(), sio[sio.len() - 1].as_str()),
        ("none", "0")
    );
}
