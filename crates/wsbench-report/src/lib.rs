//! Reports of a wsbench result: what a person reads in a minute and a CI job acts on.
//!
//! One [`Exporter`] per format, one file each (hyperfine's layout): JSON is the result
//! itself; Markdown, CSV and HTML are rendered from the same [`summary`] and [`table`], and
//! the seed's claims are judged by [`claims`] from the data alone. [`compare`] sets two
//! results side by side for regression checks; [`thresholds`] checks one against limits.

pub mod capacity;
pub mod charts;
pub mod claims;
pub mod compare;
pub mod compression;
pub mod csv;
pub mod findings;
#[cfg(test)]
mod fixtures;
pub mod floor;
pub mod html;
pub mod json;
pub mod markdown;
pub mod metrics;
pub mod proxy;
pub mod samples;
pub mod shootout;
pub mod stats;
pub mod summary;
pub mod table;
pub mod thresholds;
pub mod validity;
pub mod verdict;

use std::str::FromStr;

use wsbench_core::result::RunResult;

/// Why a report could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// JSON serialization failed.
    #[error("cannot write JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// CSV writing failed.
    #[error("cannot write CSV: {0}")]
    Csv(#[from] ::csv::Error),
    /// The HTML template failed.
    #[error("cannot render HTML: {0}")]
    Template(#[from] minijinja::Error),
    /// A chart could not be drawn.
    #[error("cannot draw a chart: {0}")]
    Chart(String),
}

/// Renders a result in one format.
pub trait Exporter {
    /// The rendered bytes.
    fn render(&self, result: &RunResult) -> Result<Vec<u8>, ReportError>;
}

/// A report format, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The result itself, pretty-printed.
    Json,
    /// Tables and the claims, for people and `$GITHUB_STEP_SUMMARY`.
    Markdown,
    /// One row per system run, every metric a column.
    Csv,
    /// One self-contained page with charts.
    Html,
    /// The claims the run measured, a line each, for a README (see [`findings`]).
    Findings,
}

impl Format {
    /// The exporter of this format.
    pub fn exporter(self) -> Box<dyn Exporter> {
        match self {
            Format::Json => Box::new(json::JsonExporter),
            Format::Markdown => Box::new(markdown::MarkdownExporter),
            Format::Csv => Box::new(csv::CsvExporter),
            Format::Html => Box::new(html::HtmlExporter),
            Format::Findings => Box::new(findings::FindingsExporter),
        }
    }

    /// File extension of this format.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Markdown => "md",
            Format::Csv => "csv",
            Format::Html => "html",
            Format::Findings => "md",
        }
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "json" => Ok(Format::Json),
            "md" | "markdown" => Ok(Format::Markdown),
            "csv" => Ok(Format::Csv),
            "html" => Ok(Format::Html),
            "findings" => Ok(Format::Findings),
            other => Err(format!(
                "unknown format '{other}' (expected md, csv, html, json or findings)"
            )),
        }
    }
}
