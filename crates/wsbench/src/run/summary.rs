//! The side-by-side table printed at the end of a run.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, Table};
use wsbench_core::result::{RunResult, Status, TransportRun, WIRE_COUNTED_AT_SOCKETS};
use wsbench_core::scenario::Transport;

/// One row per transport (medians over repeats) and a Socket.IO/WS ratio row.
pub fn table(result: &RunResult) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "transport",
        "connected",
        "delivered/s",
        "lost",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms",
        "srv KiB/conn",
        "srv µs/msg",
        "wire B/msg",
        "loadgen CPU",
        "status",
    ]);
    let mut rows: Vec<(Transport, Row)> = Vec::new();
    for transport in &result.scenario.transports {
        let runs: Vec<&TransportRun> = result
            .runs
            .iter()
            .filter(|r| r.transport == *transport)
            .collect();
        if runs.is_empty() {
            continue;
        }
        let row = Row::median(&runs);
        table.add_row(row.cells(transport.as_str()));
        rows.push((*transport, row));
    }
    let ws = rows.iter().find(|(t, _)| *t == Transport::Ws);
    for (transport, row) in rows.iter().filter(|(t, _)| *t != Transport::Ws) {
        if let Some((_, ws)) = ws {
            table.add_row(row.ratio_cells(ws, &format!("{transport}/ws")));
        }
    }
    for column in 1..12 {
        if let Some(c) = table.column_mut(column) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    table.to_string()
}

/// The figures of one transport, as medians over its repeats.
struct Row {
    connected: f64,
    requested: u64,
    delivered_per_s: f64,
    lost: f64,
    p50: f64,
    p99: f64,
    p999: f64,
    max: f64,
    kib_per_conn: Option<f64>,
    us_per_msg: Option<f64>,
    wire: Option<f64>,
    loadgen_cpu: f64,
    bound: bool,
    status: String,
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

impl Row {
    fn median(runs: &[&TransportRun]) -> Row {
        let m = |f: &dyn Fn(&TransportRun) -> f64| median(runs.iter().map(|r| f(r)).collect());
        let server = |f: &dyn Fn(&TransportRun) -> Option<f64>| {
            let v: Vec<f64> = runs.iter().filter_map(|r| f(r)).collect();
            (!v.is_empty()).then(|| median(v))
        };
        let statuses: Vec<&str> = runs
            .iter()
            .map(|r| match r.status {
                Status::Complete => "ok",
                Status::Failed => "FAILED",
                Status::Interrupted => "interrupted",
                Status::Running => "running",
            })
            .collect();
        let mut status = statuses.join(",");
        if runs.len() > 1 && statuses.iter().all(|s| *s == "ok") {
            status = format!("ok ×{}", runs.len());
        }
        Row {
            connected: m(&|r| r.connections.connected as f64),
            requested: runs[0].connections.requested,
            delivered_per_s: m(&|r| r.messages.delivered_per_s),
            lost: m(&|r| r.messages.lost as f64),
            p50: m(&|r| r.latency.p50_us as f64 / 1e3),
            p99: m(&|r| r.latency.p99_us as f64 / 1e3),
            p999: m(&|r| r.latency.p999_us as f64 / 1e3),
            max: m(&|r| r.latency.max_us as f64 / 1e3),
            kib_per_conn: server(&|r| {
                r.server
                    .as_ref()
                    .map(|s| s.memory_per_connection_bytes / 1024.0)
            }),
            us_per_msg: server(&|r| r.server.as_ref().map(|s| s.cpu_us_per_delivery)),
            wire: server(&|r| {
                (r.wire.source == WIRE_COUNTED_AT_SOCKETS).then_some(r.wire.bytes_per_delivery)
            }),
            loadgen_cpu: m(&|r| r.loadgen.cpu_utilisation * 100.0),
            bound: runs.iter().any(|r| r.loadgen.bound),
            status,
        }
    }

    fn cells(&self, name: &str) -> Vec<Cell> {
        let opt = |v: Option<f64>, p: usize| v.map_or("-".to_owned(), |v| format!("{v:.p$}"));
        vec![
            Cell::new(name),
            Cell::new(format!("{:.0}/{}", self.connected, self.requested)),
            Cell::new(format!("{:.0}", self.delivered_per_s)),
            Cell::new(format!("{:.0}", self.lost)),
            Cell::new(format!("{:.2}", self.p50)),
            Cell::new(format!("{:.2}", self.p99)),
            Cell::new(format!("{:.2}", self.p999)),
            Cell::new(format!("{:.2}", self.max)),
            Cell::new(opt(self.kib_per_conn, 1)),
            Cell::new(opt(self.us_per_msg, 2)),
            Cell::new(opt(self.wire, 1)),
            Cell::new(format!(
                "{:.0}%{}",
                self.loadgen_cpu,
                if self.bound { " BOUND" } else { "" }
            )),
            Cell::new(&self.status),
        ]
    }

    fn ratio_cells(&self, ws: &Row, name: &str) -> Vec<Cell> {
        let r = |a: f64, b: f64| {
            if b > 0.0 {
                format!("×{:.2}", a / b)
            } else {
                "-".to_owned()
            }
        };
        let ro = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => r(a, b),
            _ => "-".to_owned(),
        };
        vec![
            Cell::new(name),
            Cell::new(""),
            Cell::new(r(self.delivered_per_s, ws.delivered_per_s)),
            Cell::new(""),
            Cell::new(r(self.p50, ws.p50)),
            Cell::new(r(self.p99, ws.p99)),
            Cell::new(r(self.p999, ws.p999)),
            Cell::new(r(self.max, ws.max)),
            Cell::new(ro(self.kib_per_conn, ws.kib_per_conn)),
            Cell::new(ro(self.us_per_msg, ws.us_per_msg)),
            Cell::new(ro(self.wire, ws.wire)),
            Cell::new(""),
            Cell::new(""),
        ]
    }
}
