//! The side-by-side table every format shows: one row per system, then a ratio row per
//! transport against raw WebSocket.

use crate::metrics::{
    CONNECT_P50, CONNECT_P99, CONNECTS_PER_S, CPU_PER_DELIVERY, DELIVERED_PER_S, LATENCY_MAX,
    LATENCY_P50, LATENCY_P99, LATENCY_P999, LOSS, MEMORY_PER_CONNECTION, METRICS, Metric,
    TCP_CONNECT_P50, TLS_HANDSHAKE_P50, UPGRADE_P50, WIRE_PER_DELIVERY,
};
use crate::summary::{Stat, SystemSummary, ratio};
use crate::summary::{baseline_of, own_counterpart, plain_twin, uncompressed_twin};

/// A table as text cells, rendered by each format its own way.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Column titles.
    pub header: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
}

/// Metrics shown in the side-by-side table.
const COLUMNS: &[&Metric] = &[
    &DELIVERED_PER_S,
    &LOSS,
    &LATENCY_P50,
    &LATENCY_P99,
    &LATENCY_P999,
    &LATENCY_MAX,
    &MEMORY_PER_CONNECTION,
    &CPU_PER_DELIVERY,
    &WIRE_PER_DELIVERY,
];

/// One row of figures: a system's medians, or a ratio between two systems.
pub struct FigureRow<'a> {
    /// The system (for a ratio row, the one divided).
    pub summary: &'a SystemSummary,
    /// The row's label: the system, or `socketio/ws`.
    pub label: String,
    /// Whether this is a ratio row.
    pub ratio: bool,
    /// One cell per metric asked for.
    pub cells: Vec<String>,
}

/// The figures `keys` of every system (medians over repeats), then the ratio rows: Socket.IO
/// against raw WebSocket within each runtime (over TLS or not), then each other runtime
/// against wsbench's own for the same protocol, then each system over TLS against its plain
/// twin (what TLS adds), then each compressed system against its uncompressed twin, at the
/// same sweep point. Every table of figures is cut from this.
pub fn figure_rows<'a>(summaries: &'a [SystemSummary], columns: &[&Metric]) -> Vec<FigureRow<'a>> {
    let mut rows: Vec<FigureRow<'a>> = summaries
        .iter()
        .map(|s| FigureRow {
            summary: s,
            label: s.label(),
            ratio: false,
            cells: columns
                .iter()
                .map(|m| s.stat(m).map_or("-".to_owned(), |st| m.format(st.median)))
                .collect(),
        })
        .collect();
    let within = summaries
        .iter()
        .filter_map(|s| Some((s, baseline_of(summaries, s)?)));
    let across = summaries
        .iter()
        .filter_map(|s| Some((s, own_counterpart(summaries, s)?)));
    let tls = summaries
        .iter()
        .filter_map(|s| Some((s, plain_twin(summaries, s)?)));
    let deflate = summaries
        .iter()
        .filter_map(|s| Some((s, uncompressed_twin(summaries, s)?)));
    for (s, base) in within.chain(across).chain(tls).chain(deflate) {
        let cells = columns
            .iter()
            .map(|m| {
                if !m.ratio_row {
                    return String::new();
                }
                ratio(s.stat(m), base.stat(m)).map_or("-".to_owned(), |r| format!("×{r:.2}"))
            })
            .collect();
        rows.push(FigureRow {
            summary: s,
            label: s.ratio_label(base),
            ratio: true,
            cells,
        });
    }
    rows
}

/// The side-by-side table of `summaries` (medians over repeats).
pub fn side_by_side(summaries: &[SystemSummary]) -> Table {
    let mut header = vec!["transport".to_owned(), "connected".to_owned()];
    header.extend(COLUMNS.iter().map(|m| m.title()));
    header.push("loadgen CPU".to_owned());
    header.push("status".to_owned());
    let rows = figure_rows(summaries, COLUMNS)
        .into_iter()
        .map(|r| {
            let s = r.summary;
            let (connected, loadgen, status) = if r.ratio {
                (String::new(), String::new(), String::new())
            } else {
                let bound = if s.loadgen_bound { " BOUND" } else { "" };
                (
                    format!("{:.0}/{}", s.connected, s.requested),
                    format!("{:.0}%{bound}", s.loadgen_cpu * 100.0),
                    s.status.clone(),
                )
            };
            let mut row = vec![r.label, connected];
            row.extend(r.cells);
            row.extend([loadgen, status]);
            row
        })
        .collect();
    Table { header, rows }
}

/// The first of [`COLUMNS`] about what a system cost rather than what it delivered.
const FIRST_COST: &Metric = &MEMORY_PER_CONNECTION;

impl Table {
    /// The table with only the columns at `indices`, in that order.
    pub fn columns(&self, indices: &[usize]) -> Table {
        let pick = |cells: &[String]| {
            indices
                .iter()
                .map(|i| cells.get(*i).cloned().unwrap_or_default())
                .collect()
        };
        Table {
            header: pick(&self.header),
            rows: self.rows.iter().map(|r| pick(r)).collect(),
        }
    }
}

/// [`side_by_side`] as two tables narrow enough for a page (an 800-pixel window holds
/// either): what each system delivered and how fast, with its status; then how many clients
/// connected and what it cost (server memory and CPU, bytes on the wire, the load
/// generator's CPU). Ratio rows stay in both.
pub fn side_by_side_halves(summaries: &[SystemSummary]) -> (Table, Table) {
    let table = side_by_side(summaries);
    let last = table.header.len() - 1;
    let first_cost = 2 + COLUMNS
        .iter()
        .position(|m| m.key == FIRST_COST.key)
        .expect("a column");
    let delivery: Vec<usize> = [0].into_iter().chain(2..first_cost).chain([last]).collect();
    let cost: Vec<usize> = [0, 1].into_iter().chain(first_cost..last).collect();
    (table.columns(&delivery), table.columns(&cost))
}

/// Metrics of the connections table.
const CONNECT_COLUMNS: &[&Metric] = &[&CONNECTS_PER_S, &CONNECT_P50, &CONNECT_P99];

/// How the clients connected: rate, handshake times (and, where measured, its steps: TCP
/// connect, TLS handshake, WebSocket upgrade) and failures by kind (summed over repeats),
/// the figures a connect storm is about.
pub fn connections(summaries: &[SystemSummary]) -> Table {
    let mut columns = CONNECT_COLUMNS.to_vec();
    let steps = [&TCP_CONNECT_P50, &TLS_HANDSHAKE_P50, &UPGRADE_P50];
    columns.extend(
        steps
            .into_iter()
            .filter(|m| summaries.iter().any(|s| s.stat(m).is_some())),
    );
    let mut header = vec!["transport".to_owned(), "connected".to_owned()];
    header.extend(columns.iter().map(|m| format!("{} {}", m.label, m.unit)));
    header.push("failures".to_owned());
    header.push("lost after connecting".to_owned());
    let rows = summaries
        .iter()
        .map(|s| {
            let mut row = vec![s.label(), format!("{:.0}/{}", s.connected, s.requested)];
            row.extend(
                columns
                    .iter()
                    .map(|m| s.stat(m).map_or("-".to_owned(), |st| m.format(st.median))),
            );
            let mut failures = std::collections::BTreeMap::<&str, u64>::new();
            for r in &s.runs {
                for (kind, n) in &r.connections.failures {
                    *failures.entry(kind).or_default() += n;
                }
            }
            row.push(if failures.is_empty() {
                "none".to_owned()
            } else {
                failures
                    .iter()
                    .map(|(k, n)| format!("{k} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            row.push(
                s.runs
                    .iter()
                    .map(|r| r.connections.disconnected)
                    .sum::<u64>()
                    .to_string(),
            );
            row
        })
        .collect();
    Table { header, rows }
}

/// What slow consumers did to each server (`None` when the scenario has none): what the
/// overflow policy dropped or disconnected (server counters over the run), the server's
/// memory, and the latency of the clients that kept reading.
pub fn slow_consumers(stalled: u64, summaries: &[SystemSummary]) -> Option<Table> {
    if stalled == 0 {
        return None;
    }
    let header = [
        "transport",
        "stalled clients",
        "deliveries dropped",
        "slow clients disconnected",
        "clients lost",
        "connected at window end",
        "server RSS peak MiB",
        "server RSS idle MiB",
        "readers' p99 ms",
    ]
    .map(str::to_owned)
    .to_vec();
    let mib = |b: u64| format!("{:.1}", b as f64 / (1 << 20) as f64);
    let median = |values: Vec<u64>| -> Option<u64> {
        Stat::of(values.into_iter().map(|v| v as f64).collect()).map(|s| s.median as u64)
    };
    let rows = summaries
        .iter()
        .map(|s| {
            let counters: Vec<_> = s
                .runs
                .iter()
                .filter_map(|r| r.server.as_ref().and_then(|sv| sv.counters))
                .collect();
            let servers: Vec<_> = s.runs.iter().filter_map(|r| r.server.as_ref()).collect();
            let show = |v: Option<u64>| v.map_or("-".to_owned(), |v| v.to_string());
            vec![
                s.label(),
                stalled.to_string(),
                show(median(
                    counters.iter().map(|c| c.deliveries_dropped).collect(),
                )),
                show(median(
                    counters
                        .iter()
                        .map(|c| c.slow_clients_disconnected)
                        .collect(),
                )),
                show(median(
                    s.runs.iter().map(|r| r.connections.disconnected).collect(),
                )),
                show(median(
                    servers
                        .iter()
                        .filter_map(|sv| sv.counters_window_end)
                        .map(|c| c.connections_open)
                        .collect(),
                )),
                median(servers.iter().map(|sv| sv.rss_peak_bytes).collect())
                    .map_or("-".to_owned(), mib),
                median(servers.iter().map(|sv| sv.rss_idle_bytes).collect())
                    .map_or("-".to_owned(), mib),
                s.stat(&LATENCY_P99)
                    .map_or("-".to_owned(), |st| format!("{:.2}", st.median)),
            ]
        })
        .collect();
    Some(Table { header, rows })
}

/// Recovery from the planned outage, per system (`None` without one): medians over
/// repeats of when clients were back and what was delivered of the messages due meanwhile.
pub fn reconnection(summaries: &[SystemSummary]) -> Option<Table> {
    if !summaries
        .iter()
        .any(|s| s.runs.iter().any(|r| r.outage.is_some()))
    {
        return None;
    }
    let header = [
        "transport",
        "back",
        "50% back s",
        "99% back s",
        "100% back s",
        "failed attempts",
        "delivered of owed during outage",
        "buffered",
        "discarded",
        "out of order (run)",
    ]
    .map(str::to_owned)
    .to_vec();
    let rows = summaries
        .iter()
        .map(|s| {
            let outages: Vec<_> = s.runs.iter().filter_map(|r| r.outage.as_ref()).collect();
            let med = |f: &dyn Fn(&wsbench_core::result::OutageFigures) -> Option<f64>| {
                Stat::of(outages.iter().filter_map(|o| f(o)).collect()).map(|st| st.median)
            };
            let secs = |v: Option<f64>| v.map_or("never".to_owned(), |v| format!("{v:.2}"));
            let count = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.0}"));
            let share = med(&|o| {
                (o.owed_during > 0).then(|| o.delivered_during as f64 / o.owed_during as f64)
            });
            vec![
                s.label(),
                format!(
                    "{}/{}",
                    count(med(&|o| Some(o.reconnected as f64))),
                    count(med(&|o| Some(o.clients_at_kill as f64)))
                ),
                secs(med(&|o| o.back_p50_s)),
                secs(med(&|o| o.back_p99_s)),
                secs(med(&|o| o.back_all_s)),
                count(med(&|o| Some(o.failed_attempts as f64))),
                share.map_or("-".to_owned(), |v| format!("{:.1}%", v * 100.0)),
                count(med(&|o| Some(o.buffered as f64))),
                count(med(&|o| Some(o.discarded as f64))),
                count(
                    Stat::of(
                        s.runs
                            .iter()
                            .map(|r| r.messages.out_of_order as f64)
                            .collect(),
                    )
                    .map(|st| st.median),
                ),
            ]
        })
        .collect();
    Some(Table { header, rows })
}

/// Every node of a clustered run and its Redis (`None` without a cluster): medians over
/// repeats.
pub fn cluster(summaries: &[SystemSummary]) -> Option<Table> {
    if !summaries
        .iter()
        .any(|s| s.runs.iter().any(|r| r.cluster.is_some()))
    {
        return None;
    }
    let header = [
        "transport",
        "process",
        "clients",
        "RSS idle MiB",
        "RSS peak MiB",
        "CPU s (window)",
        "state",
        "cross-node p50 / p99 ms",
    ]
    .map(str::to_owned)
    .to_vec();
    let mib = |b: f64| format!("{:.1}", b / (1 << 20) as f64);
    let med = |v: Vec<f64>| Stat::of(v).map_or(0.0, |s| s.median);
    let mut rows = Vec::new();
    for s in summaries {
        let clusters: Vec<_> = s.runs.iter().filter_map(|r| r.cluster.as_ref()).collect();
        let Some(first) = clusters.first() else {
            continue;
        };
        for (i, node) in first.nodes.iter().enumerate() {
            let of = |f: &dyn Fn(&wsbench_core::result::NodeFigures) -> f64| {
                med(clusters
                    .iter()
                    .filter_map(|c| c.nodes.get(i))
                    .map(f)
                    .collect())
            };
            rows.push(vec![
                s.label(),
                format!("node {i}"),
                node.clients.to_string(),
                mib(of(&|n| n.rss_idle_bytes as f64)),
                mib(of(&|n| n.rss_peak_bytes as f64)),
                format!("{:.2}", of(&|n| n.cpu_s)),
                node.killed_at_s
                    .map_or("up".to_owned(), |at| format!("killed at {at:.1} s")),
                String::new(),
            ]);
        }
        rows.push(vec![
            s.label(),
            "redis".to_owned(),
            String::new(),
            String::new(),
            mib(med(clusters
                .iter()
                .map(|c| c.redis_rss_peak_bytes as f64)
                .collect())),
            format!(
                "{:.2}",
                med(clusters.iter().map(|c| c.redis_cpu_s).collect())
            ),
            "up".to_owned(),
            format!(
                "{:.2} / {:.2}",
                med(clusters
                    .iter()
                    .map(|c| c.cross_node_latency.p50_us as f64 / 1e3)
                    .collect()),
                med(clusters
                    .iter()
                    .map(|c| c.cross_node_latency.p99_us as f64 / 1e3)
                    .collect())
            ),
        ]);
    }
    Some(Table { header, rows })
}

/// What a saturation search found per system (`None` without one).
pub fn search(result: &wsbench_core::result::RunResult) -> Option<Table> {
    let search = result.scenario.search.as_ref()?;
    let header = vec![
        "transport".to_owned(),
        format!("highest {} that held", search.field),
        "deliveries/s there".to_owned(),
        "first that broke".to_owned(),
        "why it stopped".to_owned(),
    ];
    let show = |v: Option<f64>| v.map_or("-".to_owned(), |v| v.to_string());
    let rows = result
        .search
        .iter()
        .map(|o| {
            vec![
                o.system.to_string(),
                o.highest_held.map_or("none".to_owned(), |v| v.to_string()),
                o.capacity_per_s
                    .map_or("-".to_owned(), |d| format!("{d:.0}")),
                show(o.first_broken),
                o.stopped.clone(),
            ]
        })
        .collect();
    Some(Table { header, rows })
}

/// Every metric, for formats that list them all (CSV).
pub fn all_metrics() -> &'static [Metric] {
    METRICS
}
