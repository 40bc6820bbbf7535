//! Percentile charts: latency and connect times against percentile on a log axis up to
//! p99.99, HDR-style.

use plotters::coord::ranged1d::ValueFormatter;
use plotters::prelude::*;
use wsbench_core::histogram::LatencyHistogram;

use super::{CAPTION, HEIGHT, LABEL, WIDTH, chart_error, draw_curves, tick, trim};
use crate::ReportError;
use crate::summary::SystemSummary;

/// Percentiles plotted, from p0 to p99.99, spaced evenly on the `1/(1-p)` axis.
fn percentiles() -> Vec<f64> {
    (0..=40)
        .map(|i| 100.0 * (1.0 - 10f64.powf(-(i as f64) / 10.0)))
        .collect()
}

/// HDR-style latency chart: latency (ms) against percentile on a log axis up to 99.99.
pub fn latency_percentiles(summaries: &[SystemSummary]) -> Result<String, ReportError> {
    percentile_chart(
        "Latency by percentile (ms)",
        summaries.iter().map(|s| (s, &s.latency)),
    )
}

/// The same chart for connection setup times (the handshake histogram of a storm).
pub fn connect_percentiles(summaries: &[SystemSummary]) -> Result<String, ReportError> {
    percentile_chart(
        "Connect time by percentile (ms)",
        summaries.iter().map(|s| (s, &s.connect_time)),
    )
}

fn percentile_chart<'a>(
    caption: &str,
    histograms: impl Iterator<Item = (&'a SystemSummary, &'a LatencyHistogram)>,
) -> Result<String, ReportError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let curves: Vec<(String, Vec<(f64, f64)>)> = histograms
            .filter(|(_, h)| !h.is_empty())
            .map(|(s, h)| {
                let points = percentiles()
                    .into_iter()
                    .map(|p| {
                        let x = 1.0 / (1.0 - p / 100.0);
                        let y = h.quantile_us(p / 100.0) as f64 / 1e3;
                        (x, y)
                    })
                    .collect();
                (s.label(), points)
            })
            .collect();
        let ys = || curves.iter().flat_map(|(_, pts)| pts.iter().map(|p| p.1));
        let y_max = ys().fold(0.0, f64::max).max(0.001);
        // Below a microsecond a histogram has no resolution: that is the axis' floor.
        let y_min = ys().fold(f64::INFINITY, f64::min).max(0.001);
        let mut builder = ChartBuilder::on(&root);
        builder
            .caption(caption, CAPTION)
            .margin(12)
            .margin_right(36)
            .x_label_area_size(36)
            .y_label_area_size(56);
        let x_range = (1.0..10_000.0f64).log_scale();
        // Systems a decade or more apart share a log axis: on a linear one set by the
        // slowest, a faster system's curve lies flat on zero.
        if y_max / y_min >= 10.0 {
            let y_range = (y_min / 1.2..y_max * 1.2).log_scale();
            let mut chart = builder
                .build_cartesian_2d(x_range, y_range)
                .map_err(chart_error)?;
            percentile_mesh(&mut chart, &|v| trim(*v))?;
            draw_curves(&mut chart, curves)?;
        } else {
            let y_max = y_max * 1.1;
            let mut chart = builder
                .build_cartesian_2d(x_range, 0.0..y_max)
                .map_err(chart_error)?;
            percentile_mesh(&mut chart, &|v| tick(*v, y_max))?;
            draw_curves(&mut chart, curves)?;
        }
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

/// The grid and labels of a percentile chart: percentiles along x, milliseconds up y.
fn percentile_mesh<'a, Y>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<LogCoord<f64>, Y>>,
    y_fmt: &dyn Fn(&f64) -> String,
) -> Result<(), ReportError>
where
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    chart
        .configure_mesh()
        .x_labels(5)
        .x_label_formatter(&|x| {
            let p = 100.0 * (1.0 - 1.0 / x);
            if p < 1.0 {
                "0%".to_owned()
            } else {
                format!("{}%", trim(p))
            }
        })
        .y_label_formatter(y_fmt)
        .x_desc("percentile")
        .y_desc("ms")
        .label_style(LABEL)
        .axis_desc_style(LABEL)
        .draw()
        .map_err(chart_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::summarize;
    use wsbench_core::result::RunResult;

    /// From p0 to p99.99, rising, evenly spaced on the 1/(1-p) axis (a tenth of a decade).
    #[test]
    fn percentiles_run_from_zero_to_four_nines() {
        let p = percentiles();
        assert_eq!(p.len(), 41);
        assert_eq!(p[0], 0.0);
        assert!((p[40] - 99.99).abs() < 1e-9, "{}", p[40]);
        assert!((p[10] - 90.0).abs() < 1e-9, "{}", p[10]);
        assert!(p.windows(2).all(|w| w[0] < w[1]));
    }

    /// A curve per system with samples, named by its label; one without is left out.
    #[test]
    fn a_chart_draws_a_curve_per_system_with_samples() {
        let result: RunResult = crate::fixtures::pair();
        let mut summaries = summarize(&result);
        let svg = latency_percentiles(&summaries).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..60]);
        assert!(svg.contains("Latency by percentile (ms)"));
        for s in &summaries {
            assert!(svg.contains(&s.label()), "{}", s.label());
        }
        summaries[1].latency = LatencyHistogram::default();
        let one = latency_percentiles(&summaries).unwrap();
        assert!(!one.contains(&format!(">{}<", summaries[1].label())));
        assert!(one.contains(&summaries[0].label()));
    }
}
