//! The seed's claims, one by one, each with the evidence of this run and a verdict
//! computed from it. No verdict is written by hand.

mod features;

use serde::Serialize;
use wsbench_core::result::RunResult;
use wsbench_core::scenario::Mode;
use wsbench_core::system::Protocol;

use crate::metrics::{
    Better, CPU_PER_DELIVERY, DELIVERED_PER_S, LATENCY_P50, LATENCY_P99, LOSS,
    MEMORY_PER_CONNECTION, Metric, WIRE_PER_DELIVERY,
};
use crate::samples::{ratio_interval, resolution, samples};
use crate::stats::Interval;
use crate::summary::{Stat, SystemSummary};
pub use crate::verdict::Verdict;
use crate::verdict::{classify, settle_advice};

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
/// one; over TLS apart from without), from that group's systems alone.
pub fn by_runtime(result: &RunResult, summaries: &[SystemSummary]) -> Vec<(String, Vec<Claim>)> {
    crate::summary::groups(summaries)
        .into_iter()
        .map(|runtime| {
            let own: Vec<SystemSummary> = summaries
                .iter()
                .filter(|s| s.group() == runtime)
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
/// in rising order); after a capacity search, at its common load; [`judged_at`] names it.
pub fn evaluate(result: &RunResult, summaries: &[SystemSummary]) -> Vec<Claim> {
    let last = judged_point(result, summaries);
    let summaries: Vec<&SystemSummary> = summaries.iter().filter(|s| s.point == last).collect();
    let find = |p: Protocol| summaries.iter().copied().find(|s| s.speaks(p));
    let (ws, sio) = (find(Protocol::Ws), find(Protocol::Socketio));
    let env = &result.environment;
    let mut claims = vec![
        compare_claim(
            "WebSocket has lower latency",
            &LATENCY_P50,
            (ws, sio),
            env,
            Some(&LATENCY_P99),
        ),
        match search_claim(result, &summaries) {
            Some(claim) => claim,
            None => throughput_claim(ws, sio, env),
        },
        compare_claim(
            "WebSocket needs less memory",
            &MEMORY_PER_CONNECTION,
            (ws, sio),
            env,
            None,
        ),
        compare_claim(
            "WebSocket costs less CPU per message",
            &CPU_PER_DELIVERY,
            (ws, sio),
            env,
            None,
        ),
        compare_claim(
            "WebSocket has less overhead on the wire",
            &WIRE_PER_DELIVERY,
            (ws, sio),
            env,
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
    // Timings and throughput only from runs that can carry a verdict: latency also not
    // where a system fell short of the load (a capacity finding, not a latency one).
    gate(&mut claims[0], (ws, sio), true);
    gate(&mut claims[1], (ws, sio), false);
    gate(&mut claims[3], (ws, sio), true);
    if let Some(note) = crate::capacity::judged_note(result, &last) {
        for i in [0, 2, 3, 4] {
            claims[i].evidence = format!("{note}: {}", claims[i].evidence);
        }
    }
    claims.push(features::reconnect_claim(ws, sio));
    claims.push(features::fallback_claim(
        find(Protocol::SocketioPolling),
        sio,
    ));
    claims.push(features::mode_claim(
        "Socket.IO broadcasts to rooms",
        result.scenario.mode == Mode::Rooms,
        "needs a rooms scenario (mode = \"rooms\"); this run did not use rooms",
        sio,
    ));
    claims.push(features::mode_claim(
        "Socket.IO has acknowledgements",
        result.scenario.mode == Mode::Echo,
        "needs an echo scenario (mode = \"echo\"); this run did not use acks",
        sio,
    ));
    for claim in &mut claims[5..] {
        if claim.verdict == Verdict::NotJudged {
            let why = [ws, sio, find(Protocol::SocketioPolling)]
                .into_iter()
                .flatten()
                .find_map(conditions)
                .unwrap_or_default();
            claim.evidence = format!("not judged: {why}; {}", claim.evidence);
        }
    }
    claims
}

/// Why `s`'s runs say more of the run's conditions than of the system (a busy machine, a
/// starved load generator), with what to do; `None` when none of its runs says so.
pub(crate) fn conditions(s: &SystemSummary) -> Option<String> {
    shortfall(s, |kind| kind.is_conditions())
}

/// The first reason of `s`'s runs of a kind `which` picks, as "ws: the reason (what to
/// do)".
pub(crate) fn shortfall(
    s: &SystemSummary,
    which: impl Fn(wsbench_core::result::validity::ReasonKind) -> bool,
) -> Option<String> {
    let first = s
        .runs
        .iter()
        .filter(|r| r.status.measured())
        .flat_map(|r| &r.validity.reasons)
        .find(|r| which(r.kind))?;
    let runs = s
        .runs
        .iter()
        .filter(|r| r.validity.reasons.iter().any(|x| which(x.kind)))
        .count();
    Some(format!(
        "{} ({} of {} runs): {} ({})",
        s.label(),
        runs,
        s.runs.len(),
        first.detail,
        first.kind.advice()
    ))
}

/// Turns a comparative claim into "not judged" where its systems' runs cannot carry a
/// verdict: their conditions (any claim), or, with `capacity`, a system that lost
/// deliveries at this load (then it saturated: a finding about its capacity, not about
/// the claim's figure).
fn gate(claim: &mut Claim, pair: (Option<&SystemSummary>, Option<&SystemSummary>), capacity: bool) {
    if matches!(claim.verdict, Verdict::NotMeasured | Verdict::NotEnoughData) {
        return;
    }
    let systems = || [pair.0, pair.1].into_iter().flatten();
    let why = systems().find_map(conditions).or_else(|| {
        capacity.then(|| {
            systems().find_map(|s| {
                shortfall(s, |k| !k.is_conditions()).map(|why| {
                    format!(
                        "{} saturated at this load, a finding about its capacity: {why}; \
                         latency and CPU compare only where every system carries the load",
                        s.label()
                    )
                })
            })
        })?
    });
    if let Some(why) = why {
        claim.verdict = Verdict::NotJudged;
        claim.evidence = format!("not judged: {why}; {}", claim.evidence);
    }
}

/// The sweep point claims are judged at, as text (empty without a sweep).
pub fn judged_at(result: &RunResult, summaries: &[SystemSummary]) -> String {
    wsbench_core::result::point_label(&judged_point(result, summaries))
}

/// After a capacity search, its common load (where every system was measured); otherwise
/// the last point at which both ws and socketio were measured (a search stops the two at
/// different steps), else the last point.
fn judged_point(
    result: &RunResult,
    summaries: &[SystemSummary],
) -> std::collections::BTreeMap<String, f64> {
    let has = |t: Protocol, p: &std::collections::BTreeMap<String, f64>| {
        summaries.iter().any(|s| s.speaks(t) && &s.point == p)
    };
    if let Some(common) = crate::capacity::common_point(result)
        && summaries.iter().any(|s| s.point == common)
    {
        return common;
    }
    summaries
        .iter()
        .rev()
        .map(|s| &s.point)
        .find(|p| has(Protocol::Ws, p) && has(Protocol::Socketio, p))
        .or(summaries.last().map(|s| &s.point))
        .cloned()
        .unwrap_or_default()
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

/// Why no ratio could be formed: the WebSocket side's figure is zero — over its window's
/// blocks, that is in half of them or more (a sparse load, such as one message every 10 s,
/// leaves most blocks without a delivery), which says nothing of the system.
fn zero(m: &Metric, ws: &SystemSummary, from_blocks: bool) -> String {
    if from_blocks {
        format!(
            "{} of {} is zero in half or more of its window's blocks: too few events per \
             block to compare (a longer window or a higher rate would give some)",
            m.label,
            ws.label()
        )
    } else {
        format!("{} of {} is zero", m.label, ws.label())
    }
}

/// The verdict on "ws is better at `m`" between two systems of one run, and the ratio
/// behind it (`sio / ws`, as reports print it, with how its interval was drawn); `Err`
/// with the reason when the data cannot carry one.
fn judge(
    m: &Metric,
    ws: &SystemSummary,
    sio: &SystemSummary,
    env: &wsbench_core::result::Environment,
) -> Result<(Verdict, String), String> {
    let (w, s) = (samples(ws, m, env)?, samples(sio, m, env)?);
    let ratio = ratio_interval(m, (&s, resolution(m, sio)), (&w, resolution(m, ws)))
        .ok_or_else(|| zero(m, ws, w.from_blocks))?;
    let blocks = w.from_blocks && s.from_blocks;
    let text = if blocks {
        ratio.ratio_text()
    } else {
        ratio.ratio_text_as("bounds of the repeats and the figure's resolution:")
    };
    let verdict = classify(&advantage(m, ratio));
    if verdict != Verdict::Inconclusive {
        return Ok((verdict, text));
    }
    let advice = if blocks {
        settle_advice(&ratio, ws.runs.len().min(sio.runs.len()))
    } else if m.kind == crate::metrics::Kind::Memory {
        "RSS resolves 512 KiB in all, so more clients would narrow it".to_owned()
    } else {
        "more repeats would narrow it".to_owned()
    };
    Ok((verdict, format!("{text}: {advice}")))
}

/// `ratio` (`sio / ws`) turned so that above 1 means ws is better at `m`.
fn advantage(m: &Metric, ratio: Interval) -> Interval {
    match m.better {
        Better::Lower => ratio,
        Better::Higher => Interval {
            estimate: 1.0 / ratio.estimate,
            lo: 1.0 / ratio.hi,
            hi: 1.0 / ratio.lo,
        },
    }
}

/// "WebSocket is better at `key`": judged from the confidence interval of the ratio of
/// the two systems' figures (see [`crate::verdict`]); `also`, a second figure (the
/// latency tail), must not clearly disagree.
fn compare_claim(
    claim: &'static str,
    m: &Metric,
    pair: (Option<&SystemSummary>, Option<&SystemSummary>),
    env: &wsbench_core::result::Environment,
    also: Option<&Metric>,
) -> Claim {
    let (ws, sio) = pair;
    if let Some(cut) = [ws, sio].into_iter().flatten().find(|s| !s.any_complete()) {
        return Claim {
            claim,
            evidence: format!(
                "{}: no complete run ({}); a failed or interrupted run's figures are partial",
                cut.label(),
                cut.status
            ),
            verdict: Verdict::NotEnoughData,
        };
    }
    // The systems' own names: `ws` and `socketio` for wsbench's servers, `node-ws`, ...
    let wn = ws.map_or("ws", |x| x.system.as_str());
    let sn = sio.map_or("socketio", |x| x.system.as_str());
    let (Some(ws), Some(sio), Some(w), Some(s)) = (
        ws,
        sio,
        ws.and_then(|x| x.stat(m)),
        sio.and_then(|x| x.stat(m)),
    ) else {
        return Claim {
            claim,
            evidence: format!("{} was not measured for both {wn} and {sn}", m.label),
            verdict: Verdict::NotMeasured,
        };
    };
    let mut evidence = format!(
        "{}: {wn} {}, {sn} {}",
        m.label,
        describe(w, m.unit),
        describe(s, m.unit)
    );
    let (mut verdict, ratio) = match judge(m, ws, sio, env) {
        Ok(v) => v,
        Err(why) => {
            evidence.push_str(&format!("; {why}"));
            return Claim {
                claim,
                evidence,
                verdict: Verdict::NotEnoughData,
            };
        }
    };
    evidence.push_str(&format!("; {sn}/{wn} {ratio}"));
    let second = also.and_then(|a| Some((a, ws.stat(a)?, sio.stat(a)?)));
    if let Some((also, w2, s2)) = second {
        evidence.push_str(&format!(
            "; {}: {wn} {}, {sn} {}",
            also.label,
            describe(w2, also.unit),
            describe(s2, also.unit)
        ));
        if let Ok((Verdict::Reversed, r)) = judge(also, ws, sio, env) {
            evidence.push_str(&format!(
                " ({sn}/{wn} {r}: the {} favours {sn})",
                also.label
            ));
            if verdict == Verdict::Supported {
                verdict = Verdict::Inconclusive;
            }
        }
    }
    Claim {
        claim,
        evidence,
        verdict,
    }
}

/// "WebSocket has higher throughput", from a saturation search: the highest load each
/// system carried within the limits.
fn search_claim(result: &RunResult, summaries: &[&SystemSummary]) -> Option<Claim> {
    let search = result.scenario.search.as_ref()?;
    let find = |p: Protocol| {
        result.search.iter().find(|o| {
            result.scenario.protocol_of(&o.system) == Some(p)
                && summaries.iter().any(|s| s.system == o.system)
        })
    };
    let (ws, sio) = (find(Protocol::Ws)?, find(Protocol::Socketio)?);
    // A capacity, with the deliveries per second made there.
    let show = |o: &wsbench_core::result::SearchOutcome| match (o.highest_held, o.capacity_per_s) {
        (None, _) => "none".to_owned(),
        (Some(v), None) => v.to_string(),
        (Some(v), Some(d)) => format!("{v} ({d:.0} deliveries/s)"),
    };
    let (wn, sn) = (&ws.system, &sio.system);
    let evidence = format!(
        "capacity, the highest {} that held ({}): {wn} {}, {sn} {}; {wn} stopped at {}, {sn} \
         at {}",
        search.field,
        crate::markdown::search_limits(search),
        show(ws),
        show(sio),
        ws.stopped,
        sio.stopped
    );
    if let Some(why) = [ws, sio].iter().find_map(|o| {
        crate::capacity::spoilt(o).map(|why| format!("{}'s capacity was {why}", o.system))
    }) {
        return Some(Claim {
            claim: "WebSocket has higher throughput",
            evidence: format!("not judged: {why}; {evidence}"),
            verdict: Verdict::NotJudged,
        });
    }
    let verdict = match (ws.highest_held, sio.highest_held) {
        (None, None) => Verdict::NotMeasured,
        // Neither broke: the search did not find either limit.
        _ if ws.first_broken.is_none() && sio.first_broken.is_none() => Verdict::NotMeasured,
        (Some(w), Some(s)) if w > s => Verdict::Supported,
        (Some(w), Some(s)) if w < s => Verdict::Reversed,
        // Equal at the search's step: no difference it can resolve.
        (Some(_), Some(_)) => Verdict::NoDifference,
        (Some(_), None) => Verdict::Supported,
        (None, Some(_)) => Verdict::Reversed,
    };
    Some(Claim {
        claim: "WebSocket has higher throughput",
        evidence,
        verdict,
    })
}

/// Throughput differs only when a server could not keep up with the offered load.
fn throughput_claim(
    ws: Option<&SystemSummary>,
    sio: Option<&SystemSummary>,
    env: &wsbench_core::result::Environment,
) -> Claim {
    let claim = "WebSocket has higher throughput";
    let loss = &LOSS;
    let (Some(w), Some(s)) = (ws, sio) else {
        return Claim {
            claim,
            evidence: "needs both ws and socketio in the run".to_owned(),
            verdict: Verdict::NotMeasured,
        };
    };
    let lossless = |t: &SystemSummary| t.stat(loss).is_some_and(|l| l.max == 0.0);
    // A partial run's lack of loss says nothing: compare_claim says why there is no verdict.
    if w.any_complete() && s.any_complete() && lossless(w) && lossless(s) {
        return Claim {
            claim,
            evidence: "both transports delivered the whole offered load without loss, so this \
                       run did not reach either server's limit; raise clients or rate (or use \
                       a saturation search) to measure it; server CPU per delivery bounds it"
                .to_owned(),
            verdict: Verdict::NotMeasured,
        };
    }
    compare_claim(claim, &DELIVERED_PER_S, (ws, sio), env, None)
}

#[cfg(test)]
mod tests;
