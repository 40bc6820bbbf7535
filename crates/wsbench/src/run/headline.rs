//! The end of a run as a terminal shows it: the few headline figures per system with units
//! and which way is better, the ratio rows, the seed's claims one line each, and where the
//! three files are — within 100 columns. `--wide` prints every figure instead
//! ([`super::summary::table`]); report.md has them all.

use wsbench_core::result::RunResult;
use wsbench_report::claims::{self, Claim};
use wsbench_report::summary::summarize;
use wsbench_report::table::figure_rows;
use wsbench_report::verdict::Verdict;

/// The widest line the headline prints.
pub const WIDTH: usize = 100;

/// The headline's figures: the metric, its short name, its unit and whether higher is
/// better.
const COLUMNS: [(&str, &str, &str, bool); 7] = [
    ("delivered_per_s", "deliv/s", "msg/s", true),
    ("loss_ratio", "loss", "", false),
    ("latency_p50_ms", "p50", "ms", false),
    ("latency_p99_ms", "p99", "ms", false),
    ("server_memory_per_connection_kib", "mem/conn", "KiB", false),
    ("server_cpu_us_per_delivery", "CPU/deliv", "µs", false),
    ("wire_bytes_per_delivery", "wire", "B", false),
];

/// The headline of a finished run.
pub fn headline(result: &RunResult) -> String {
    let summaries = summarize(result);
    let arrow = |up: bool| if up { " ↑" } else { " ↓" };
    let mut names = vec!["system".to_owned()];
    names.extend(
        COLUMNS
            .iter()
            .map(|(_, short, _, up)| format!("{short}{}", arrow(*up))),
    );
    names.push("status".to_owned());
    let mut units = vec![String::new()];
    units.extend(COLUMNS.iter().map(|(_, _, unit, _)| (*unit).to_owned()));
    let mut lines = vec![names, units];
    let keys: Vec<&str> = COLUMNS.iter().map(|c| c.0).collect();
    for row in figure_rows(&summaries, &keys) {
        let mut line = vec![row.label];
        line.extend(row.cells);
        if !row.ratio {
            line.push(row.summary.status.clone());
        }
        lines.push(line);
    }
    let mut out = align(&lines);
    out.push_str("  ↓ lower is better, ↑ higher is better; medians over repeats\n");
    if result.shard.is_some() {
        out.push_str(
            "  loss: a shard's is known once merged (`wsbench merge`): its senders owe every \
             shard's clients\n",
        );
    }
    let groups = claims::by_runtime(result, &summaries);
    let many = groups.len() > 1;
    for (runtime, claims) in groups {
        out.push_str(&if many {
            format!("\nThe seed's claims ({runtime}):\n")
        } else {
            "\nThe seed's claims:\n".to_owned()
        });
        for c in &claims {
            out.push_str(&claim_line(c));
            out.push('\n');
        }
    }
    out
}

/// Columns padded to their widest cell, the first left-aligned, the others right-aligned.
fn align(lines: &[Vec<String>]) -> String {
    let columns = lines.iter().map(Vec::len).max().unwrap_or(0);
    let width = |c: usize| {
        lines
            .iter()
            .filter_map(|l| l.get(c))
            .map(|s| s.chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..columns).map(width).collect();
    let mut out = String::new();
    for line in lines {
        let mut text = String::from("  ");
        for (c, cell) in line.iter().enumerate() {
            let pad = widths[c].saturating_sub(cell.chars().count());
            if c == 0 {
                text.push_str(cell);
                text.push_str(&" ".repeat(pad));
            } else {
                text.push_str("  ");
                text.push_str(&" ".repeat(pad));
                text.push_str(cell);
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

/// `✓ supported        WebSocket has less overhead on the wire  socketio/ws ×1.27 …`.
fn claim_line(c: &Claim) -> String {
    let mark = match c.verdict {
        Verdict::Supported => "✓",
        Verdict::Reversed | Verdict::Refuted => "✗",
        Verdict::NoDifference => "=",
        Verdict::Inconclusive | Verdict::NotEnoughData => "?",
        Verdict::NotJudged => "!",
        Verdict::NotMeasured => "-",
    };
    // The evidence's part that says why: the ratio and its interval, or what is missing.
    let mut parts = c.evidence.split("; ");
    let why = if c.verdict == Verdict::NotJudged {
        // Its first part says why it was not judged.
        parts.next()
    } else {
        parts
            .clone()
            .find(|p| p.contains('×'))
            .or_else(|| parts.nth(1))
    }
    .unwrap_or(&c.evidence);
    let why = why.replace("bounds of the repeats and the figure's resolution: ", "");
    let verdict = match c.verdict {
        Verdict::NotMeasured => "not measured",
        v => v.as_str(),
    };
    let line = format!("  {mark} {verdict:<15}  {}: {why}", c.claim);
    truncate(&line, WIDTH)
}

/// `text` broken at spaces into lines of at most [`WIDTH`] columns, the later ones after `indent`.
pub fn wrap(text: &str, indent: &str) -> String {
    let body = text.trim_start();
    let mut out = String::new();
    let mut line = text[..text.len() - body.len()].to_owned();
    let mut empty = true;
    for word in body.split(' ') {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = indent.to_owned();
        } else if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(&line);
    out
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut s: String = text.chars().take(width - 1).collect();
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_wrap_at_spaces_keeping_their_indent() {
        let text = format!("  - {}", "word ".repeat(40).trim_end());
        let wrapped = wrap(&text, "    ");
        let lines: Vec<&str> = wrapped.lines().collect();
        assert!(lines.len() > 1 && lines.iter().all(|l| l.chars().count() <= WIDTH));
        assert!(lines[0].starts_with("  - word") && lines[1].starts_with("    word"));
        assert_eq!(
            wrapped.split_whitespace().filter(|w| *w == "word").count(),
            40
        );
        assert_eq!(wrap("short", ""), "short");
    }

    #[test]
    fn columns_align_and_long_lines_are_cut() {
        let lines = vec![
            vec!["system".to_owned(), "p50".to_owned()],
            vec!["socketio/ws".to_owned(), "×1.32".to_owned()],
        ];
        let out = align(&lines);
        assert_eq!(out, "  system         p50\n  socketio/ws  ×1.32\n");
        assert_eq!(truncate(&"x".repeat(120), 100).chars().count(), 100);
    }
}
