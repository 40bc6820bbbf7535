//! Inherent or implementation? Per runtime, Socket.IO against each raw-WebSocket server of
//! that runtime (a tuned one, a stock one, the seed's with and without its logging): the
//! ratio of their capacities from a capacity search, and of latency, memory per connection
//! and CPU per delivery at the common load after it. An overhead Socket.IO shows against
//! every implementation is the protocol's; one that some implementation shows too is an
//! implementation's (docs/method.md, "Capacity, then a common load").

use wsbench_core::result::RunResult;
use wsbench_core::system::Protocol;

use crate::metrics::{CPU_PER_DELIVERY, LATENCY_P50, MEMORY_PER_CONNECTION, Metric};
use crate::summary::SystemSummary;
use crate::table::Table;
use crate::verdict::MARGIN;

/// Socket.IO against one raw-WebSocket server of its runtime: each ratio Socket.IO / WS.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    /// The runtime both run on.
    pub runtime: String,
    /// The raw-WebSocket system.
    pub ws: String,
    /// The Socket.IO system.
    pub sio: String,
    /// Capacity (the highest value held): below 1, Socket.IO holds less.
    pub capacity: Option<f64>,
    /// How `capacity` bounds the true ratio: `>=` where Socket.IO held the search's
    /// maximum (its capacity is at least that), `<=` where the WebSocket server did, empty
    /// where both broke a limit. Both at the maximum: no ratio.
    pub capacity_bound: &'static str,
    /// Latency p50 at the common load.
    pub p50: Option<f64>,
    /// Server memory per connection at the common load.
    pub memory: Option<f64>,
    /// Server CPU per delivery at the common load.
    pub cpu: Option<f64>,
}

/// Every (Socket.IO, raw WebSocket) pair of one runtime, where a capacity search placed a
/// common load; empty otherwise.
pub fn pairs(result: &RunResult, summaries: &[SystemSummary]) -> Vec<Pair> {
    let Some(point) = crate::capacity::common_point(result) else {
        return Vec::new();
    };
    let at: Vec<&SystemSummary> = summaries.iter().filter(|s| s.point == point).collect();
    let outcome = |s: &SystemSummary| result.search.iter().find(|o| o.system == s.system);
    let capacity = |s: &SystemSummary| outcome(s)?.highest_held;
    // A search that never broke a limit found a lower bound of the capacity.
    let at_max = |s: &SystemSummary| outcome(s).is_some_and(|o| o.first_broken.is_none());
    let ratio = |sio: &SystemSummary, ws: &SystemSummary, m: &Metric| {
        let r = sio.stat(m)?.median / ws.stat(m)?.median;
        r.is_finite().then_some(r)
    };
    let mut out = Vec::new();
    for sio in at.iter().filter(|s| s.speaks(Protocol::Socketio)) {
        let same = at
            .iter()
            .filter(|w| w.speaks(Protocol::Ws) && w.group() == sio.group());
        for ws in same {
            let capacity_bound = match (at_max(sio), at_max(ws)) {
                (true, true) => None,
                (true, false) => Some(">="),
                (false, true) => Some("<="),
                (false, false) => Some(""),
            };
            out.push(Pair {
                runtime: sio.group(),
                ws: ws.system.to_string(),
                sio: sio.system.to_string(),
                capacity: capacity(sio)
                    .zip(capacity(ws))
                    .map(|(s, w)| s / w)
                    .filter(|r| r.is_finite() && capacity_bound.is_some()),
                capacity_bound: capacity_bound.unwrap_or(""),
                p50: ratio(sio, ws, &LATENCY_P50),
                memory: ratio(sio, ws, &MEMORY_PER_CONNECTION),
                cpu: ratio(sio, ws, &CPU_PER_DELIVERY),
            });
        }
    }
    out
}

/// Whether some runtime has Socket.IO against two raw-WebSocket servers or more: only
/// then can an overhead be told the protocol's or an implementation's.
fn compares_implementations(pairs: &[Pair]) -> bool {
    pairs.iter().enumerate().any(|(i, p)| {
        pairs[..i]
            .iter()
            .any(|q| q.runtime == p.runtime && q.sio == p.sio)
    })
}

/// The pairs as a table of ratios; `None` unless a runtime has two raw-WebSocket servers.
pub fn table(pairs: &[Pair]) -> Option<Table> {
    if !compares_implementations(pairs) {
        return None;
    }
    let header = [
        "runtime",
        "Socket.IO / raw WebSocket",
        "capacity ×",
        "p50 at common load ×",
        "memory/conn ×",
        "CPU/delivery ×",
    ];
    let cell = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("×{v:.2}"));
    let rows = pairs
        .iter()
        .map(|p| {
            vec![
                p.runtime.clone(),
                format!("{}/{}", p.sio, p.ws),
                p.capacity
                    .map_or("-".to_owned(), |v| format!("{}×{v:.2}", p.capacity_bound)),
                cell(p.p50),
                cell(p.memory),
                cell(p.cpu),
            ]
        })
        .collect();
    Some(Table {
        header: header.iter().map(|h| (*h).to_owned()).collect(),
        rows,
    })
}

/// One figure's answer: Socket.IO worse against every raw-WebSocket implementation beyond
/// the verdicts' margin (the protocol's), or not against some (an implementation's).
fn answer(pairs: &[Pair], name: &str, get: fn(&Pair) -> Option<f64>, lower: bool) -> String {
    let measured: Vec<(&Pair, f64)> = pairs.iter().filter_map(|p| Some((p, get(p)?))).collect();
    if measured.is_empty() {
        return format!("{name}: not measured");
    }
    // A ratio as "how much worse Socket.IO is": above 1 worse.
    let worse = |r: f64| if lower { r } else { 1.0 / r };
    let (lo, hi) = measured
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), (_, r)| {
            (lo.min(*r), hi.max(*r))
        });
    let range = format!("×{lo:.2}-×{hi:.2}");
    let not_worse: Vec<String> = measured
        .iter()
        .filter(|(_, r)| worse(*r) <= 1.0 + MARGIN)
        .map(|(p, r)| format!("{} ×{r:.2}", p.ws))
        .collect();
    if not_worse.is_empty() {
        format!("{name} worse against every raw-WebSocket server ({range}): the protocol's")
    } else {
        format!(
            "{name} not worse against {} ({range}): an implementation's",
            not_worse.join(", ")
        )
    }
}

/// "Inherent or implementation?" in one line, figure by figure (`None` unless a runtime
/// has two raw-WebSocket servers).
pub fn answer_line(pairs: &[Pair]) -> Option<String> {
    if !compares_implementations(pairs) {
        return None;
    }
    let parts = [
        answer(pairs, "capacity", |p| p.capacity, false),
        answer(pairs, "latency", |p| p.p50, true),
        answer(pairs, "memory", |p| p.memory, true),
        answer(pairs, "CPU", |p| p.cpu, true),
    ];
    Some(format!(
        "Inherent or implementation? Socket.IO's {}",
        parts.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(ws: &str, capacity: f64, cpu: f64) -> Pair {
        Pair {
            runtime: "rust".to_owned(),
            ws: ws.to_owned(),
            sio: "socketio".to_owned(),
            capacity: Some(capacity),
            capacity_bound: "",
            p50: None,
            memory: Some(5.5),
            cpu: Some(cpu),
        }
    }

    #[test]
    fn an_overhead_against_every_implementation_is_the_protocols() {
        let pairs = [pair("ws", 0.8, 1.3), pair("ws-stock", 1.7, 0.9)];
        let line = answer_line(&pairs).unwrap();
        assert!(
            line.contains(
                "memory worse against every raw-WebSocket server (×5.50-×5.50): the protocol's"
            ),
            "{line}"
        );
        assert!(
            line.contains(
                "CPU not worse against ws-stock ×0.90 (×0.90-×1.30): an implementation's"
            ),
            "{line}"
        );
        // Capacity is better higher: ×1.7 is Socket.IO holding more than ws-stock.
        assert!(
            line.contains("capacity not worse against ws-stock ×1.70"),
            "{line}"
        );
        assert!(line.contains("latency: not measured"), "{line}");
        let table = table(&pairs).unwrap();
        assert_eq!(table.rows[1][1], "socketio/ws-stock");
        assert_eq!(table.rows[1][2], "×1.70");
        let held_the_maximum = Pair {
            capacity_bound: ">=",
            ..pair("ws", 1.4, 1.3)
        };
        let table = super::table(&[held_the_maximum, pair("ws-stock", 1.7, 0.9)]).unwrap();
        assert_eq!(table.rows[0][2], ">=×1.40");
        assert_eq!(table.rows[1][3], "-");
        assert!(answer_line(&[]).is_none());
        // One raw-WebSocket server per runtime cannot tell a protocol from an implementation.
        let one = [pair("ws", 0.8, 1.3)];
        assert!(answer_line(&one).is_none() && super::table(&one).is_none());
    }
}
