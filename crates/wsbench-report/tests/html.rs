//! The HTML page read as a reader sees it, on the published four-system Node.js result: its
//! tables fit the page, and its latency chart shows every system, the fast beside the slow.

use std::path::Path;

use wsbench_core::result::RunResult;
use wsbench_report::Format;

/// The page of `results/published/<name>/result.json`.
fn page(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../results/published")
        .join(name)
        .join("result.json");
    let result: RunResult = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    String::from_utf8(Format::Html.exporter().render(&result).unwrap()).unwrap()
}

/// Text between `open` and the next `close`, for each `open` in `text`.
fn between<'a>(text: &'a str, open: &str, close: &str) -> Vec<&'a str> {
    text.split(open)
        .skip(1)
        .filter_map(|part| part.split_once(close).map(|(inside, _)| inside))
        .collect()
}

/// Cell text as shown: the page escapes `/` and friends.
fn decoded(text: &str) -> String {
    [
        ("&#x2f;", "/"),
        ("&#x27;", "'"),
        ("&quot;", "\""),
        ("&lt;", "<"),
        ("&gt;", ">"),
    ]
    .iter()
    .fold(text.to_owned(), |t, (from, to)| t.replace(from, to))
    .replace("&amp;", "&")
}

/// The narrowest a table can be laid out as the page's CSS sets it (13 px tabular figures,
/// half a rem of padding either side, a 1 px border): a cell wraps at spaces, so the
/// longest word of each column counts (a figure, a system's name). Generous per character
/// (7.5 px), so that a table that passes fits in any sans-serif.
fn width_px(table: &str) -> f64 {
    let mut widest: Vec<usize> = Vec::new();
    for row in between(table, "<tr", "</tr>") {
        let cells = row.split("<t").skip(1).filter_map(|c| c.split_once('>'));
        for (i, (tag, rest)) in cells.enumerate() {
            let text = decoded(rest.split("</t").next().unwrap_or(""));
            let _ = tag;
            let chars = text
                .split(' ')
                .map(|w| w.chars().count())
                .max()
                .unwrap_or(0);
            if widest.len() <= i {
                widest.resize(i + 1, 0);
            }
            widest[i] = widest[i].max(chars);
        }
    }
    widest.iter().map(|c| *c as f64 * 7.5 + 17.0).sum()
}

/// The side-by-side table of four systems and their ratio rows was 1,130 px in an
/// 1,100 px box: the status column was cut, and in an 800 px window four or five columns
/// were out of sight. Every table now fits an 800 px window (768 px inside its margins).
#[test]
fn every_table_fits_an_800_pixel_window() {
    let html = page("node");
    let tables = between(&html, "<table", "</table>");
    assert!(tables.len() >= 3, "{} tables", tables.len());
    for table in tables {
        let px = width_px(table);
        assert!(px <= 768.0, "{px:.0} px:\n{table}");
    }
    // Nothing was lost in the split: every system's status and cost are on the page.
    for figure in [
        "server memory/conn",
        "server CPU/delivery",
        "wire",
        "loadgen CPU",
    ] {
        assert!(html.contains(figure), "no {figure}");
    }
}

/// The latency chart's axis was linear and set by the slowest system (node-ws, seconds),
/// so the Rust servers' curves (milliseconds) lay flat on zero. Systems decades apart now
/// share a log axis: its ticks span the decades.
#[test]
fn latencies_decades_apart_are_drawn_on_a_log_axis() {
    let html = page("node");
    let chart = html
        .split("<h2>Latency</h2>")
        .nth(1)
        .and_then(|rest| between(rest, "<svg", "</svg>").into_iter().next())
        .expect("a latency chart");
    let ticks: Vec<f64> = chart
        .split("</text>")
        .filter_map(|t| t.rsplit('>').next()?.trim().parse::<f64>().ok())
        .filter(|v| *v > 0.0)
        .collect();
    let (low, high) = ticks
        .iter()
        .fold((f64::MAX, 0.0f64), |(l, h), v| (l.min(*v), h.max(*v)));
    assert!(high / low >= 100.0, "ticks {ticks:?}");
}
