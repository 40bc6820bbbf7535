//! Charts as inline SVG (plotters), for the self-contained HTML page.

use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::ReportError;
use crate::metrics::Metric;
use crate::summary::SystemSummary;

mod percentile;

pub use percentile::{connect_percentiles, latency_percentiles};

const WIDTH: u32 = 760;
const HEIGHT: u32 = 360;
const BAR_WIDTH: u32 = 370;
const BAR_HEIGHT: u32 = 280;
/// Tick labels, axis names and legends: readable at the page's size (14 px, as its body
/// text nearly is), not plotters' default 9-10 px.
const LABEL: (&str, u32) = ("sans-serif", 14);
const CAPTION: (&str, u32) = ("sans-serif", 18);

/// A colour per curve, in order (the first two for ws and socketio): eight, so that a sweep's
/// curves per system and point are told apart.
fn colour(i: usize) -> RGBColor {
    [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(23, 190, 207),
    ][i % 8]
}

fn chart_error(e: impl std::fmt::Display) -> ReportError {
    ReportError::Chart(e.to_string())
}

/// Server RSS (MiB) against time since the server started, first run of each system:
/// whether memory stays bounded while clients misbehave.
pub fn rss_over_time(summaries: &[SystemSummary]) -> Result<String, ReportError> {
    let curves: Vec<(String, Vec<(f64, f64)>)> = summaries
        .iter()
        .filter_map(|s| {
            let server = s.runs.iter().find_map(|r| r.server.as_ref())?;
            let points = server
                .rss_samples
                .iter()
                .map(|&(t, b)| (t, b as f64 / (1 << 20) as f64))
                .collect::<Vec<_>>();
            (!points.is_empty()).then(|| (s.label(), points))
        })
        .collect();
    line_chart(
        "Server RSS over time (MiB)",
        "seconds since the server started",
        "MiB",
        curves,
    )
}

/// Deliveries per second by the intended send time of their probes, first run of each
/// system, beside what was owed: an outage shows as a dip, a flushed buffer as late
/// deliveries filling it.
pub fn deliveries_over_time(summaries: &[SystemSummary]) -> Result<String, ReportError> {
    let mut curves: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for s in summaries {
        let Some(t) = s.runs.iter().map(|r| &r.timeline).find(|t| !t.is_empty()) else {
            continue;
        };
        let per_s = |v: &[u64]| -> Vec<(f64, f64)> {
            v.iter()
                .enumerate()
                .map(|(i, n)| (i as f64 * t.bucket_s, *n as f64 / t.bucket_s))
                .collect()
        };
        if curves.is_empty() {
            curves.push(("owed".to_owned(), per_s(&t.owed)));
        }
        curves.push((format!("{} delivered", s.label()), per_s(&t.delivered)));
    }
    line_chart(
        "Deliveries per second, by intended send time",
        "seconds into the measured window",
        "deliveries/s",
        curves,
    )
}

/// A metric (medians) against the swept field `axis`: one line per system (and per
/// value of any other swept field), or `None` if nothing measured it.
pub fn sweep(
    summaries: &[SystemSummary],
    metric: &Metric,
    axis: &str,
) -> Result<Option<String>, ReportError> {
    let mut curves: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for s in summaries {
        let (Some(x), Some(st)) = (s.point.get(axis), s.stat(metric)) else {
            continue;
        };
        let mut others = s.point.clone();
        others.remove(axis);
        let at = wsbench_core::result::point_label(&others);
        let name = if at.is_empty() {
            s.system.to_string()
        } else {
            format!("{} {at}", s.system)
        };
        match curves.iter_mut().find(|(n, _)| *n == name) {
            Some((_, points)) => points.push((*x, st.median)),
            None => curves.push((name, vec![(*x, st.median)])),
        }
    }
    if curves.is_empty() {
        return Ok(None);
    }
    line_chart(
        &format!("{} ({}) by {axis}", metric.label, metric.unit),
        axis,
        metric.unit,
        curves,
    )
    .map(Some)
}

/// Lines with a marker at each point, one colour and marker size per curve, with a
/// legend; the x axis is logarithmic when its values span a decade or more (a sweep of
/// 100 to 10,000 clients), else linear from 0.
fn line_chart(
    caption: &str,
    x_desc: &str,
    y_desc: &str,
    curves: Vec<(String, Vec<(f64, f64)>)>,
) -> Result<String, ReportError> {
    let xs = || curves.iter().flat_map(|(_, p)| p.iter().map(|p| p.0));
    let x_max = xs().fold(0.0, f64::max).max(1.0);
    let x_min = xs().filter(|x| *x > 0.0).fold(f64::INFINITY, f64::min);
    let y_max = curves
        .iter()
        .flat_map(|(_, p)| p.iter().map(|p| p.1))
        .fold(0.0, f64::max)
        .max(1.0)
        * 1.1;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let mut builder = ChartBuilder::on(&root);
        builder
            .caption(caption, CAPTION)
            .margin(12)
            .margin_right(36)
            .x_label_area_size(44)
            .y_label_area_size(72);
        let decimals = if y_max > 100.0 { 0 } else { 1 };
        let y_fmt = |v: &f64| format!("{v:.decimals$}");
        let whole = xs().all(|x| x.fract() == 0.0);
        if x_min.is_finite() && x_max / x_min >= 10.0 {
            let range = (x_min / 1.2..x_max * 1.2).log_scale();
            let mut chart = builder
                .build_cartesian_2d(range, 0.0..y_max)
                .map_err(chart_error)?;
            mesh(&mut chart, (x_desc, 10, whole), y_desc, &y_fmt)?;
            draw_curves(&mut chart, curves)?;
        } else {
            // A few whole values (1 to 3 nodes): a tick at each.
            let ticks = if whole && x_max <= 12.0 {
                x_max as usize + 1
            } else {
                10
            };
            let mut chart = builder
                .build_cartesian_2d(0.0..x_max, 0.0..y_max)
                .map_err(chart_error)?;
            mesh(&mut chart, (x_desc, ticks, whole), y_desc, &y_fmt)?;
            draw_curves(&mut chart, curves)?;
        }
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

/// The grid, tick labels and axis names of a line chart. Where every x is a whole number
/// (clients, nodes, senders) only whole ticks are labelled, `x_ticks` of them: no 0.5
/// nodes.
fn mesh<'a, X>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, RangedCoordf64>>,
    (x_desc, x_ticks, whole): (&str, usize, bool),
    y_desc: &str,
    y_fmt: &dyn Fn(&f64) -> String,
) -> Result<(), ReportError>
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let x_fmt = |v: &f64| {
        if whole && (v - v.round()).abs() > 1e-9 {
            String::new()
        } else {
            trim(*v)
        }
    };
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_labels(x_ticks)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(y_fmt)
        .label_style(LABEL)
        .axis_desc_style(LABEL)
        .draw()
        .map_err(chart_error)
}

/// Draws `curves` and their legend on `chart`.
fn draw_curves<'a, X, Y>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
    curves: Vec<(String, Vec<(f64, f64)>)>,
) -> Result<(), ReportError>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for (i, (name, points)) in curves.into_iter().enumerate() {
        let c = colour(i);
        // Lines that coincide stay apparent: each curve's markers are a size of their own,
        // the earlier ones larger, so they show around the later ones.
        let radius = 6u32.saturating_sub(i as u32).max(2);
        let width = if i == 0 { 3 } else { 2 };
        let markers: Vec<(f64, f64)> = if points.len() <= 30 {
            points.clone()
        } else {
            Vec::new()
        };
        chart
            .draw_series(LineSeries::new(points, c.stroke_width(width)))
            .map_err(chart_error)?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], c.stroke_width(width)));
        chart
            .draw_series(
                markers
                    .into_iter()
                    .map(move |p| Circle::new(p, radius, c.filled())),
            )
            .map_err(chart_error)?;
    }
    chart
        .configure_series_labels()
        .label_font(LABEL)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.9))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(chart_error)?;
    Ok(())
}

/// A tick label: whole numbers once the axis reaches 100 (`1600`, not `1600.0`).
fn tick(v: f64, axis_max: f64) -> String {
    if axis_max >= 100.0 {
        format!("{v:.0}")
    } else {
        trim(v)
    }
}

/// A bar's value: three significant digits, thousands grouped.
fn value_label(v: f64) -> String {
    if v >= 1000.0 {
        let whole = format!("{v:.0}");
        let mut out = String::new();
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn trim(p: f64) -> String {
    let s = format!("{p:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// One bar per system for `metric` (medians), or `None` if no system has it.
pub fn bars(summaries: &[SystemSummary], metric: &Metric) -> Result<Option<String>, ReportError> {
    let values: Vec<(String, f64)> = summaries
        .iter()
        .filter_map(|s| s.stat(metric).map(|st| (s.label(), st.median)))
        .collect();
    if values.is_empty() {
        return Ok(None);
    }
    let y_max = values.iter().map(|v| v.1).fold(0.0, f64::max).max(1e-9) * 1.15;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (BAR_WIDTH, BAR_HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let names: Vec<String> = values.iter().map(|v| v.0.clone()).collect();
        let n = values.len() as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{} ({})", metric.label, metric.unit),
                ("sans-serif", 16),
            )
            .margin(10)
            .x_label_area_size(32)
            .y_label_area_size(64)
            .build_cartesian_2d(-0.5..n - 0.5, 0.0..y_max)
            .map_err(chart_error)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(values.len())
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 {
                    names.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|v| tick(*v, y_max))
            .label_style(LABEL)
            .draw()
            .map_err(chart_error)?;
        for (i, (_, v)) in values.iter().enumerate() {
            let x = i as f64;
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x - 0.35, 0.0), (x + 0.35, *v)],
                    colour(i).filled(),
                )))
                .map_err(chart_error)?;
            // The value itself above its bar: the figure is read, not estimated.
            let label = Text::new(value_label(*v), (x - 0.3, *v + y_max * 0.02), LABEL);
            chart
                .draw_series(std::iter::once(label))
                .map_err(chart_error)?;
        }
        root.present().map_err(chart_error)?;
    }
    Ok(Some(svg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_and_values_read_as_numbers() {
        assert_eq!(tick(1600.0, 2000.0), "1600");
        assert_eq!(tick(2.5, 3.0), "2.5");
        assert_eq!(value_label(99_900.0), "99,900");
        assert_eq!(value_label(84.0), "84.0");
        assert_eq!(value_label(3.456), "3.46");
    }

    /// The text of every label in an SVG.
    fn labels(svg: &str) -> Vec<String> {
        svg.split("</text>")
            .filter_map(|part| part.rsplit_once('>').map(|(_, t)| t.trim().to_owned()))
            .filter(|t| !t.is_empty())
            .collect()
    }

    #[test]
    fn a_sweep_of_whole_values_ticks_at_whole_values() {
        let curves = vec![("ws".to_owned(), vec![(1.0, 5.0), (3.0, 7.0)])];
        let svg = line_chart("p50 by nodes", "nodes", "ms", curves).unwrap();
        let ticks = labels(&svg);
        for whole in ["1", "2", "3"] {
            assert!(ticks.iter().any(|t| t == whole), "no {whole} in {ticks:?}");
        }
        assert!(
            !ticks.iter().any(|t| t.contains(".5")),
            "half a node in {ticks:?}"
        );
        // A fractional field keeps its fractional ticks.
        let curves = vec![("ws".to_owned(), vec![(0.5, 5.0), (1.5, 7.0)])];
        let ticks = labels(&line_chart("p50 by share", "share", "ms", curves).unwrap());
        assert!(ticks.iter().any(|t| t.contains('.')), "{ticks:?}");
    }
}
