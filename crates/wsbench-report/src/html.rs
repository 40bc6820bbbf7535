//! HTML: one self-contained page (inline CSS and SVG, nothing fetched) that opens from disk.

use minijinja::{Environment, context};
use serde::Serialize;
use wsbench_core::result::RunResult;

use crate::charts;
use crate::claims;
use crate::markdown::method_line;
use crate::metrics::{
    CPU_PER_DELIVERY, DELIVERED_PER_S, LATENCY_P50, LATENCY_P99, MEMORY_PER_CONNECTION, Metric,
    WIRE_PER_DELIVERY,
};
use crate::summary::summarize;
use crate::table::{connections, reconnection, side_by_side_halves, slow_consumers};
use crate::{Exporter, ReportError};

const TEMPLATE: &str = include_str!("../templates/report.html");

/// Metrics drawn as bars.
const BARS: &[&Metric] = &[
    &DELIVERED_PER_S,
    &MEMORY_PER_CONNECTION,
    &CPU_PER_DELIVERY,
    &WIRE_PER_DELIVERY,
];

/// Metrics drawn against the swept value in a sweep.
const SWEPT: &[&Metric] = &[
    &LATENCY_P50,
    &LATENCY_P99,
    &DELIVERED_PER_S,
    &MEMORY_PER_CONNECTION,
    &CPU_PER_DELIVERY,
    &WIRE_PER_DELIVERY,
];

/// Writes the report as one HTML page.
pub struct HtmlExporter;

#[derive(Serialize)]
struct Problem {
    text: String,
}

impl Exporter for HtmlExporter {
    fn render(&self, result: &RunResult) -> Result<Vec<u8>, ReportError> {
        let summaries = summarize(result);
        let (table, cost) = side_by_side_halves(&summaries);
        let claim_groups: Vec<_> = claims::by_runtime(result, &summaries)
            .into_iter()
            .map(|(runtime, claims)| {
                context! { title => crate::markdown::runtime_title(&runtime), claims => claims }
            })
            .collect();
        let latency_chart = charts::latency_percentiles(&summaries)?;
        let connect_table = connections(&summaries);
        let connect_chart = charts::connect_percentiles(&summaries)?;
        let slow = slow_consumers(result.scenario.stalled, &summaries);
        let recovery = reconnection(&summaries);
        let pairs = crate::shootout::pairs(result, &summaries);
        let deliveries_chart = match &recovery {
            Some(_) => Some(charts::deliveries_over_time(&summaries)?),
            None => None,
        };
        let rss_chart = match &slow {
            Some(_) => Some(charts::rss_over_time(&summaries)?),
            None => None,
        };
        let mut bar_charts = Vec::new();
        let swept = result.scenario.sweep.first().map(|a| a.field).or(result
            .scenario
            .search
            .as_ref()
            .map(|s| s.field));
        match swept {
            // A sweep or a search: each figure against the swept value, as lines.
            Some(axis) => {
                for m in SWEPT {
                    if let Some(svg) = charts::sweep(&summaries, m, axis.as_str())? {
                        bar_charts.push(svg);
                    }
                }
            }
            None => {
                for m in BARS {
                    if let Some(svg) = charts::bars(&summaries, m)? {
                        bar_charts.push(svg);
                    }
                }
            }
        }
        let problems: Vec<Problem> = result
            .runs
            .iter()
            .filter_map(|r| r.error.clone().map(|text| Problem { text }))
            .collect();
        let mut env = Environment::new();
        env.add_template("report.html", TEMPLATE)?;
        let page = env.get_template("report.html")?.render(context! {
            name => result.scenario.name,
            method_line => method_line(result),
            validity_headline => crate::validity::HEADLINE,
            validity => crate::validity::banner(result),
            header => table.header,
            rows => table.rows,
            cost => context! { header => cost.header, rows => cost.rows },
            claim_groups => claim_groups,
            claims_at => claims::judged_at(result, &summaries),
            cluster => crate::table::cluster(&summaries).map(|t| context! { header => t.header, rows => t.rows }),
            thresholds => crate::thresholds::table(&crate::thresholds::check(result)).map(|t| context! { header => t.header, rows => t.rows }),
            search => crate::table::search(result).map(|t| context! { header => t.header, rows => t.rows }),
            search_limits => result.scenario.search.as_ref().map(crate::markdown::search_limits),
            common_load => result.common_load.as_ref().map(crate::capacity::common_load_line),
            shootout => crate::shootout::table(&pairs).map(|t| context! { header => t.header, rows => t.rows }),
            shootout_answer => crate::shootout::answer_line(&pairs),
            latency_chart => latency_chart,
            connect_header => connect_table.header,
            connect_rows => connect_table.rows,
            connect_chart => connect_chart,
            slow => slow.map(|t| context! { header => t.header, rows => t.rows }),
            rss_chart => rss_chart,
            recovery => recovery.map(|t| context! { header => t.header, rows => t.rows }),
            deliveries_chart => deliveries_chart,
            bar_charts => bar_charts,
            problems => problems,
            method => result.method.iter().chain(&crate::markdown::measured_method_lines(result)).map(|m| inline_markdown(m)).collect::<Vec<_>>(),
            swept => swept.map(|a| a.as_str()),
            search_range => result.scenario.search.as_ref().map(|s| format!("from {} up to {}", number(s.start), number(s.max))),
            environment => result.environment,
            scenario => result.scenario,
        })?;
        Ok(page.into_bytes())
    }
}

/// A method line as HTML: escaped, with Markdown's `code` spans as `<code>`.
fn inline_markdown(text: &str) -> String {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let mut out = String::new();
    for (i, part) in escaped.split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str("<code>");
            out.push_str(part);
            out.push_str("</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

/// A number as a person writes it: `20`, not `20.0`.
fn number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_lines_render_code_spans_and_escape_html() {
        assert_eq!(
            inline_markdown("runs `wsbench serve` <here>"),
            "runs <code>wsbench serve</code> &lt;here&gt;"
        );
        assert_eq!(number(20.0), "20");
        assert_eq!(number(0.5), "0.5");
    }
}
