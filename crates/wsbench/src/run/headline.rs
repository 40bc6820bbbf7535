//! The end of a run as a terminal shows it: the few headline figures per system with units
//! and which way is better, the ratio rows, the seed's claims one line each, and where the
//! three files are — within the terminal's width, 100 columns at most. `--wide` prints every figure instead
//! ([`super::summary::table`]); report.md has them all.

use wsbench_core::result::RunResult;
use wsbench_report::claims::{self, Claim};
use wsbench_report::metrics::{
    Better, CPU_PER_DELIVERY, DELIVERED_PER_S, LATENCY_P50, LATENCY_P99, LOSS,
    MEMORY_PER_CONNECTION, Metric, WIRE_PER_DELIVERY,
};
use wsbench_report::summary::summarize;
use wsbench_report::table::figure_rows;
use wsbench_report::verdict::Verdict;

/// The widest line the headline prints, whatever the terminal.
pub const WIDTH: usize = 100;

/// The narrowest it fits itself to: below this, lines wrap as the terminal wraps them.
const NARROWEST: usize = 60;

/// The headline's figures.
const COLUMNS: [&Metric; 7] = [
    &DELIVERED_PER_S,
    &LOSS,
    &LATENCY_P50,
    &LATENCY_P99,
    &MEMORY_PER_CONNECTION,
    &CPU_PER_DELIVERY,
    &WIRE_PER_DELIVERY,
];

/// Which of [`COLUMNS`] go first when the terminal is too narrow for all of them: bytes on
/// the wire and memory move least between runs and are in report.md; delivery, loss and
/// p50 stay.
const DROP_ORDER: [usize; 4] = [6, 4, 5, 3];

/// The columns the end of a run fits itself to: `COLUMNS` (as `ls` reads it), else the
/// terminal's width when stdout is one, else [`WIDTH`]; at most [`WIDTH`].
pub fn width() -> usize {
    let given = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c > 0);
    given
        .or_else(terminal_columns)
        .unwrap_or(WIDTH)
        .clamp(NARROWEST, WIDTH)
}

/// The width of the terminal on stdout, if stdout is one.
fn terminal_columns() -> Option<usize> {
    // SAFETY: TIOCGWINSZ writes a `winsize` into the struct it is given, and only that.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

/// The headline of a finished run, in at most `width` columns: figures the terminal has no
/// room for are left to `--wide` and report.md, and said so.
pub fn headline(result: &RunResult, width: usize) -> String {
    let summaries = summarize(result);
    let mut shown: Vec<usize> = (0..COLUMNS.len()).collect();
    let mut out = figures(&summaries, &shown);
    for column in DROP_ORDER {
        if widest(&out) <= width {
            break;
        }
        shown.retain(|c| *c != column);
        out = figures(&summaries, &shown);
    }
    out.push_str(&wrap(
        "  ↓ lower is better, ↑ higher is better; medians over repeats",
        "    ",
        width,
    ));
    out.push('\n');
    if shown.len() < COLUMNS.len() {
        let left: Vec<&str> = (0..COLUMNS.len())
            .filter(|c| !shown.contains(c))
            .map(|c| COLUMNS[c].short)
            .collect();
        let text = format!(
            "  {} left out at {width} columns: --wide or report.md has them",
            left.join(", ")
        );
        out.push_str(&wrap(&text, "    ", width));
        out.push('\n');
    }
    if result.shard.is_some() {
        let text = "  loss: a shard's is known once merged (`wsbench merge`): its senders owe \
                    every shard's clients";
        out.push_str(&wrap(text, "    ", width));
        out.push('\n');
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
            out.push_str(&truncate(&claim_line(c), width));
            out.push('\n');
        }
    }
    out
}

/// The figures' table for the `shown` columns of [`COLUMNS`]: names with their direction,
/// units, a row per system and per ratio.
fn figures(summaries: &[wsbench_report::summary::SystemSummary], shown: &[usize]) -> String {
    let arrow = |m: &Metric| match m.better {
        Better::Higher => " ↑",
        Better::Lower => " ↓",
    };
    let columns: Vec<&Metric> = shown.iter().map(|c| COLUMNS[*c]).collect();
    let mut names = vec!["system".to_owned()];
    names.extend(columns.iter().map(|m| format!("{}{}", m.short, arrow(m))));
    names.push("status".to_owned());
    // A share is shown as a percentage: its unit is in the cell.
    let unit = |m: &Metric| if m.unit == "share" { "" } else { m.unit };
    let mut units = vec![String::new()];
    units.extend(columns.iter().map(|m| unit(m).to_owned()));
    let mut lines = vec![names, units];
    for row in figure_rows(summaries, &columns) {
        let mut line = vec![row.label];
        line.extend(row.cells);
        if !row.ratio {
            line.push(row.summary.status.clone());
        }
        lines.push(line);
    }
    align(&lines)
}

/// The widest line of `text`, in characters.
fn widest(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
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
    format!("  {mark} {verdict:<15}  {}: {why}", c.claim)
}

/// `text` broken at spaces into lines of at most `width` columns, the later ones after
/// `indent`.
pub fn wrap(text: &str, indent: &str, width: usize) -> String {
    let body = text.trim_start();
    let mut out = String::new();
    let mut line = text[..text.len() - body.len()].to_owned();
    let mut empty = true;
    for word in body.split(' ') {
        if !empty && line.chars().count() + 1 + word.chars().count() > width {
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
        let wrapped = wrap(&text, "    ", WIDTH);
        let lines: Vec<&str> = wrapped.lines().collect();
        assert!(lines.len() > 1 && lines.iter().all(|l| l.chars().count() <= WIDTH));
        assert!(lines[0].starts_with("  - word") && lines[1].starts_with("    word"));
        assert_eq!(
            wrapped.split_whitespace().filter(|w| *w == "word").count(),
            40
        );
        assert_eq!(wrap("short", "", 80), "short");
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
