//! The seed's claims, one by one, each with the evidence of this run and a verdict
//! computed from it. No verdict is written by hand.

use serde::Serialize;
use wsbench_core::result::{RunResult, Status};
use wsbench_core::scenario::Mode;
use wsbench_core::system::Protocol;

use crate::metrics::{Better, metric};
use crate::summary::{Stat, TransportSummary};

/// Differences smaller than this share are treated as no difference: a shared machine's
/// noise between two runs is of that order.
pub const NOISE_MARGIN: f64 = 0.05;

/// What the data says about a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The data agrees with the claim beyond noise.
    Supported,
    /// The data does not bear the claim out (equal within noise, or the opposite).
    Contradicted,
    /// This run did not measure it.
    NotMeasured,
}

impl Verdict {
    /// As written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Supported => "supported",
            Verdict::Contradicted => "contradicted",
            Verdict::NotMeasured => "not measured in this run",
        }
    }
}

/// One claim, its evidence and its verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Claim {
    /// The claim as the seed makes it.
    pub claim: &'static str,
    /// What was measured, in numbers.
    pub evidence: String,
    /// The verdict.
    pub verdict: Verdict,
}

/// The claims judged for each runtime measured (wsbench's own servers, then each other
/// one), from that runtime's systems alone.
pub fn by_runtime(result: &RunResult, summaries: &[TransportSummary]) -> Vec<(String, Vec<Claim>)> {
    crate::summary::runtimes(summaries)
        .into_iter()
        .map(|runtime| {
            let own: Vec<TransportSummary> = summaries
                .iter()
                .filter(|s| s.runtime == runtime)
                .cloned()
                .collect();
            let claims = evaluate(result, &own);
            (runtime, claims)
        })
        .collect()
}

/// Evaluates every claim of the seed against `result`, from `summaries` (one runtime's).
///
/// In a sweep, claims are judged at its last point (the heaviest load, as sweeps are written
/// in rising order); [`judged_at`] names it.
pub fn evaluate(result: &RunResult, summaries: &[TransportSummary]) -> Vec<Claim> {
    let last = judged_point(summaries);
    let summaries: Vec<&TransportSummary> = summaries.iter().filter(|s| s.point == last).collect();
    let find = |p: Protocol| summaries.iter().copied().find(|s| s.speaks(p));
    let (ws, sio) = (find(Protocol::Ws), find(Protocol::Socketio));
    let mut claims = vec![
        compare_claim(
            "WebSocket has lower latency",
            "latency_p50_ms",
            ws,
            sio,
            Some("latency_p99_ms"),
        ),
        match search_claim(result, &summaries) {
            Some(claim) => claim,
            None => throughput_claim(ws, sio),
        },
        compare_claim(
            "WebSocket needs less memory",
            "server_memory_per_connection_kib",
            ws,
            sio,
            None,
        ),
        compare_claim(
            "WebSocket costs less CPU per message",
            "server_cpu_us_per_delivery",
            ws,
            sio,
            None,
        ),
        compare_claim(
            "WebSocket has less overhead on the wire",
            "wire_bytes_per_delivery",
            ws,
            sio,
            None,
        ),
    ];
    if result.scenario.outage.is_some() {
        // Killing the server on purpose sets these two figures; they say nothing of the
        // transports' speed.
        for claim in claims.iter_mut().take(2) {
            claim.verdict = Verdict::NotMeasured;
            claim.evidence = format!(
                "this run killed its server mid-window, so latency and delivered/s reflect the \
                 outage (buffered messages arrive seconds late, lost ones never): {}",
                claim.evidence
            );
        }
    }
    claims.push(reconnect_claim(ws, sio));
    claims.push(fallback_claim(find(Protocol::SocketioPolling), sio));
    claims.push(mode_claim(
        "Socket.IO broadcasts to rooms",
        result.scenario.mode == Mode::Rooms,
        "needs a rooms scenario (mode = \"rooms\"); this run did not use rooms",
        sio,
    ));
    claims.push(mode_claim(
        "Socket.IO has acknowledgements",
        result.scenario.mode == Mode::Echo,
        "needs an echo scenario (mode = \"echo\"); this run did not use acks",
        sio,
    ));
    claims
}

/// The sweep point claims are judged at, as text (empty without a sweep).
pub fn judged_at(summaries: &[TransportSummary]) -> String {
    wsbench_core::result::point_label(&judged_point(summaries))
}

/// The last point at which both ws and socketio were measured (a search stops the two at
/// different steps), else the last point.
fn judged_point(summaries: &[TransportSummary]) -> std::collections::BTreeMap<String, f64> {
    let has = |t: Protocol, p: &std::collections::BTreeMap<String, f64>| {
        summaries.iter().any(|s| s.speaks(t) && &s.point == p)
    };
    summaries
        .iter()
        .rev()
        .map(|s| &s.point)
        .find(|p| has(Protocol::Ws, p) && has(Protocol::Socketio, p))
        .or(summaries.last().map(|s| &s.point))
        .cloned()
        .unwrap_or_default()
}

/// "Socket.IO reconnects automatically": judged on a run whose server was killed and
/// restarted; the raw-WS figures beside it come from wsbench's own reconnection loop.
fn reconnect_claim(ws: Option<&TransportSummary>, sio: Option<&TransportSummary>) -> Claim {
    let claim = "Socket.IO reconnects automatically";
    let outages = |s: Option<&TransportSummary>| -> Vec<wsbench_core::result::OutageFigures> {
        s.map(|s| s.runs.iter().filter_map(|r| r.outage.clone()).collect())
            .unwrap_or_default()
    };
    let sio_outages = outages(sio);
    if sio_outages.is_empty() {
        return Claim {
            claim,
            evidence: "needs a run that kills and restarts the server (the reconnect scenario)"
                .to_owned(),
            verdict: Verdict::NotMeasured,
        };
    }
    let summary = |name: &str, o: &[wsbench_core::result::OutageFigures]| {
        let back: u64 = o.iter().map(|o| o.reconnected).sum();
        let at_kill: u64 = o.iter().map(|o| o.clients_at_kill).sum();
        let all = Stat::of(o.iter().filter_map(|o| o.back_all_s).collect());
        let owed: u64 = o.iter().map(|o| o.owed_during).sum();
        let delivered: u64 = o.iter().map(|o| o.delivered_during).sum();
        format!(
            "{name}: {back} of {at_kill} clients back{}, {:.1}% of the deliveries due during \
             the outage made",
            all.map_or(String::new(), |a| format!(
                ", all within {:.2} s (median)",
                a.median
            )),
            if owed == 0 {
                0.0
            } else {
                100.0 * delivered as f64 / owed as f64
            }
        )
    };
    let all_back = sio_outages
        .iter()
        .all(|o| o.back_all_s.is_some() && o.reconnected >= o.clients_at_kill);
    let mut evidence = summary(
        "socketio (its own reconnection and send buffer)",
        &sio_outages,
    );
    let ws_outages = outages(ws);
    if !ws_outages.is_empty() {
        evidence.push_str("; ");
        evidence.push_str(&summary(
            "ws (only with reconnection code written for it, no send buffer)",
            &ws_outages,
        ));
    }
    Claim {
        claim,
        evidence,
        verdict: if all_back {
            Verdict::Supported
        } else {
            Verdict::Contradicted
        },
    }
}

/// Whether two medians differ beyond the noise margin and the repeats' ranges do not
/// overlap.
fn clearly_apart(a: Stat, b: Stat) -> bool {
    let diff = if b.median == 0.0 {
        0.0
    } else {
        (a.median - b.median).abs() / b.median.abs()
    };
    let overlap = a.n > 1 && b.n > 1 && a.max >= b.min && b.max >= a.min;
    diff > NOISE_MARGIN && !overlap
}

fn describe(stat: Stat, unit: &str) -> String {
    if stat.n > 1 {
        format!(
            "{:.2} {unit} (median of {}, {:.2}-{:.2})",
            stat.median, stat.n, stat.min, stat.max
        )
    } else {
        format!("{:.2} {unit}", stat.median)
    }
}

/// "WebSocket is better at `key`": supported when WebSocket beats Socket.IO beyond noise
/// (and beyond the spread of the repeats).
fn compare_claim(
    claim: &'static str,
    key: &str,
    ws: Option<&TransportSummary>,
    sio: Option<&TransportSummary>,
    also: Option<&str>,
) -> Claim {
    let m = metric(key);
    // The systems' own names: `ws` and `socketio` for wsbench's servers, `node-ws`, ...
    let wn = ws.map_or("ws", |x| x.transport.as_str());
    let sn = sio.map_or("socketio", |x| x.transport.as_str());
    let (Some(w), Some(s)) = (ws.and_then(|x| x.stat(m)), sio.and_then(|x| x.stat(m))) else {
        return Claim {
            claim,
            evidence: format!("{} was not measured for both {wn} and {sn}", m.label),
            verdict: Verdict::NotMeasured,
        };
    };
    let ws_better = match m.better {
        Better::Lower => w.median < s.median,
        Better::Higher => w.median > s.median,
    };
    let clear = clearly_apart(w, s);
    let mut evidence = format!(
        "{}: {wn} {}, {sn} {} ({sn}/{wn} ×{:.2})",
        m.label,
        describe(w, m.unit),
        describe(s, m.unit),
        if w.median == 0.0 {
            0.0
        } else {
            s.median / w.median
        }
    );
    // The second figure (the latency tail) must not clearly favour Socket.IO.
    let mut tail_disagrees = false;
    if let Some(also) = also {
        let a = metric(also);
        if let (Some(w2), Some(s2)) = (ws.and_then(|x| x.stat(a)), sio.and_then(|x| x.stat(a))) {
            evidence.push_str(&format!(
                "; {}: {wn} {}, {sn} {}",
                a.label,
                describe(w2, a.unit),
                describe(s2, a.unit)
            ));
            let sio_better = match a.better {
                Better::Lower => s2.median < w2.median,
                Better::Higher => s2.median > w2.median,
            };
            if sio_better && clearly_apart(w2, s2) {
                tail_disagrees = true;
                evidence.push_str(&format!("; but the {} clearly favours {sn}", a.label));
            }
        }
    }
    if !clear {
        evidence.push_str(&format!(
            "; no difference beyond the {:.0}% noise margin",
            NOISE_MARGIN * 100.0
        ));
    }
    Claim {
        claim,
        evidence,
        verdict: if ws_better && clear && !tail_disagrees {
            Verdict::Supported
        } else {
            Verdict::Contradicted
        },
    }
}

/// "WebSocket has higher throughput", from a saturation search: the highest load each
/// transport carried within the limits.
fn search_claim(result: &RunResult, summaries: &[&TransportSummary]) -> Option<Claim> {
    let search = result.scenario.search.as_ref()?;
    let find = |p: Protocol| {
        result.search.iter().find(|o| {
            result.scenario.protocol_of(&o.transport) == Some(p)
                && summaries.iter().any(|s| s.transport == o.transport)
        })
    };
    let (ws, sio) = (find(Protocol::Ws)?, find(Protocol::Socketio)?);
    let show = |v: Option<f64>| v.map_or("none".to_owned(), |v| v.to_string());
    let (wn, sn) = (&ws.transport, &sio.transport);
    let evidence = format!(
        "highest {} that held ({}): {wn} {}, {sn} {}; {wn} stopped at {}, {sn} at {}",
        search.field,
        crate::markdown::search_limits(search),
        show(ws.highest_held),
        show(sio.highest_held),
        ws.stopped,
        sio.stopped
    );
    let verdict = match (ws.highest_held, sio.highest_held) {
        (None, None) => Verdict::NotMeasured,
        // Neither broke: the search did not find either limit.
        _ if ws.first_broken.is_none() && sio.first_broken.is_none() => Verdict::NotMeasured,
        (Some(w), Some(s)) if w > s => Verdict::Supported,
        (Some(_), None) => Verdict::Supported,
        _ => Verdict::Contradicted,
    };
    Some(Claim {
        claim: "WebSocket has higher throughput",
        evidence,
        verdict,
    })
}

/// Throughput differs only when a server could not keep up with the offered load.
fn throughput_claim(ws: Option<&TransportSummary>, sio: Option<&TransportSummary>) -> Claim {
    let claim = "WebSocket has higher throughput";
    let loss = metric("loss_ratio");
    let (Some(w), Some(s)) = (ws, sio) else {
        return Claim {
            claim,
            evidence: "needs both ws and socketio in the run".to_owned(),
            verdict: Verdict::NotMeasured,
        };
    };
    let lossless = |t: &TransportSummary| t.stat(loss).is_some_and(|l| l.max == 0.0);
    if lossless(w) && lossless(s) {
        return Claim {
            claim,
            evidence: "both transports delivered the whole offered load without loss, so this \
                       run did not reach either server's limit; raise clients or rate (or use \
                       a saturation search) to measure it; server CPU per delivery bounds it"
                .to_owned(),
            verdict: Verdict::NotMeasured,
        };
    }
    compare_claim(claim, "delivered_per_s", ws, sio, None)
}

/// A feature claim judged by whether Socket.IO delivered, in a run of the mode that uses
/// the feature, everything owed and nothing outside its scope.
fn mode_claim(
    claim: &'static str,
    measured: bool,
    missing: &str,
    sio: Option<&TransportSummary>,
) -> Claim {
    let Some(s) = sio.filter(|_| measured) else {
        return Claim {
            claim,
            evidence: missing.to_owned(),
            verdict: Verdict::NotMeasured,
        };
    };
    let delivered: u64 = s.runs.iter().map(|r| r.messages.delivered).sum();
    let expected: u64 = s.runs.iter().map(|r| r.messages.expected).sum();
    let misrouted: u64 = s.runs.iter().map(|r| r.messages.misrouted).sum();
    let complete = s.runs.iter().all(|r| r.status == Status::Complete);
    let p50 = s.stat(metric("latency_p50_ms")).map_or(0.0, |st| st.median);
    Claim {
        claim,
        evidence: format!(
            "socketio delivered {delivered} of {expected} owed, {misrouted} outside their scope, \
             p50 {p50:.2} ms"
        ),
        verdict: if complete && expected > 0 && delivered == expected && misrouted == 0 {
            Verdict::Supported
        } else {
            Verdict::Contradicted
        },
    }
}

fn fallback_claim(polling: Option<&TransportSummary>, sio: Option<&TransportSummary>) -> Claim {
    let claim = "Socket.IO falls back to long-polling";
    let Some(p) = polling else {
        return Claim {
            claim,
            evidence: "socketio-polling was not among this run's transports".to_owned(),
            verdict: Verdict::NotMeasured,
        };
    };
    let delivered: u64 = p.runs.iter().map(|r| r.messages.delivered).sum();
    let expected: u64 = p.runs.iter().map(|r| r.messages.expected).sum();
    let complete = p.runs.iter().all(|r| r.status == Status::Complete);
    let p50 = p.stat(metric("latency_p50_ms")).map_or(0.0, |s| s.median);
    let mut evidence = format!(
        "over long-polling only, {delivered} of {expected} deliveries arrived, p50 {p50:.2} ms"
    );
    // What the fallback costs against Socket.IO's own websocket transport.
    if let Some(sio) = sio {
        let costs: Vec<String> = [
            ("latency_p50_ms", "p50"),
            ("server_cpu_us_per_delivery", "server CPU/delivery"),
            ("wire_bytes_per_delivery", "wire bytes/delivery"),
        ]
        .into_iter()
        .filter_map(|(key, label)| {
            let m = metric(key);
            crate::summary::ratio(p.stat(m), sio.stat(m)).map(|r| format!("{label} ×{r:.2}"))
        })
        .collect();
        if !costs.is_empty() {
            evidence.push_str(&format!(
                "; against Socket.IO over websocket: {}",
                costs.join(", ")
            ));
        }
    }
    Claim {
        claim,
        evidence,
        verdict: if complete && expected > 0 && delivered == expected {
            Verdict::Supported
        } else {
            Verdict::Contradicted
        },
    }
}
