//! The seed's feature claims: reconnection, long-polling fallback, rooms and
//! acknowledgements, each judged by whether the feature did its job in a run that used it.

use wsbench_core::result::Status;

use super::{Claim, Verdict};
use crate::metrics::{CPU_PER_DELIVERY, LATENCY_P50, WIRE_PER_DELIVERY};
use crate::summary::{Stat, SystemSummary};

/// "Socket.IO reconnects automatically": judged on a run whose server was killed and
/// restarted; the raw-WS figures beside it come from wsbench's own reconnection loop.
pub(super) fn reconnect_claim(ws: Option<&SystemSummary>, sio: Option<&SystemSummary>) -> Claim {
    let claim = "Socket.IO reconnects automatically";
    let outages = |s: Option<&SystemSummary>| -> Vec<wsbench_core::result::OutageFigures> {
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
            Verdict::Refuted
        },
    }
}

/// A feature claim judged by whether Socket.IO delivered, in a run of the mode that uses
/// the feature, everything owed and nothing outside its scope.
pub(super) fn mode_claim(
    claim: &'static str,
    measured: bool,
    missing: &str,
    sio: Option<&SystemSummary>,
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
    let p50 = s.stat(&LATENCY_P50).map_or(0.0, |st| st.median);
    Claim {
        claim,
        evidence: format!(
            "socketio delivered {delivered} of {expected} owed, {misrouted} outside their scope, \
             p50 {p50:.2} ms"
        ),
        verdict: feature_verdict(s, expected > 0 && delivered == expected && misrouted == 0),
    }
}

/// "Socket.IO falls back to long-polling": everything owed arrived over long-polling only;
/// what it costs against Socket.IO's websocket transport is in the evidence.
pub(super) fn fallback_claim(
    polling: Option<&SystemSummary>,
    sio: Option<&SystemSummary>,
) -> Claim {
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
    let p50 = p.stat(&LATENCY_P50).map_or(0.0, |s| s.median);
    let mut evidence = format!(
        "over long-polling only, {delivered} of {expected} deliveries arrived, p50 {p50:.2} ms"
    );
    // Clients that never connected owe and are owed nothing: say so, or "0 of 0" reads as
    // if nothing had been tried.
    let requested: u64 = p.runs.iter().map(|r| r.connections.requested).sum();
    let connected: u64 = p.runs.iter().map(|r| r.connections.connected).sum();
    if connected < requested {
        let mut failures = std::collections::BTreeMap::<&str, u64>::new();
        for r in &p.runs {
            for (kind, n) in &r.connections.failures {
                *failures.entry(kind.as_str()).or_default() += n;
            }
        }
        let kinds: Vec<String> = failures.iter().map(|(k, n)| format!("{n} {k}")).collect();
        evidence = format!(
            "only {connected} of {requested} long-polling clients connected ({}){}; {evidence}",
            kinds.join(", "),
            if expected == 0 {
                ", so no sender sent"
            } else {
                ""
            }
        );
    }
    if let Some(place) = through(p) {
        evidence = format!("{place}: {evidence}");
    }
    // What the fallback costs against Socket.IO's own websocket transport (where polling
    // delivered something to cost).
    if let Some(sio) = sio.filter(|_| delivered > 0) {
        let costs: Vec<String> = [&LATENCY_P50, &CPU_PER_DELIVERY, &WIRE_PER_DELIVERY]
            .into_iter()
            .filter_map(|m| {
                let r = crate::summary::ratio(p.stat(m), sio.stat(m))?;
                Some(format!("{} ×{r:.2}", m.label))
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
        verdict: feature_verdict(p, expected > 0 && delivered == expected),
    }
}

/// Where the long-polling clients were measured, when a proxy stood in front: the
/// condition the claim was judged under ("through a proxy that blocks upgrades", "behind
/// a load balancer without sticky sessions"), with the proxy's 400s where it spread a
/// session's requests over nodes.
fn through(p: &SystemSummary) -> Option<String> {
    let proxies: Vec<_> = p.runs.iter().filter_map(|r| r.proxy.as_ref()).collect();
    let front = proxies.first()?;
    let software = &front.software;
    let nodes = front.nodes;
    Some(if nodes > 1 && !front.sticky {
        let by_status = crate::proxy::failed_by_status(&proxies);
        let refused = by_status.get(&400).copied().unwrap_or(0);
        format!(
            "behind a load balancer without sticky sessions ({software} in front of {nodes} \
             nodes, round robin; it passed on 400 to {refused} request(s))"
        )
    } else if nodes > 1 {
        format!(
            "behind a load balancer with sticky sessions ({software} in front of {nodes} \
             nodes, each client hashed to one)"
        )
    } else if !front.upgrade {
        format!("through a proxy that blocks upgrades ({software})")
    } else {
        format!("through a proxy ({software})")
    })
}

/// A feature claim's verdict: supported when every run completed and `delivered_all`;
/// refuted when a run failed or something was not delivered; not enough data when a run
/// was cut short by the user (its missing deliveries are not the feature's fault).
fn feature_verdict(s: &SystemSummary, delivered_all: bool) -> Verdict {
    let statuses = || s.runs.iter().map(|r| r.status);
    if statuses().all(Status::measured) && delivered_all {
        Verdict::Supported
    } else if super::conditions(s).is_some() {
        // What was not delivered says more of the run than of the feature.
        Verdict::NotJudged
    } else if statuses().any(|st| st == Status::Failed) || statuses().all(Status::measured) {
        Verdict::Refuted
    } else {
        Verdict::NotEnoughData
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::summarize;
    use wsbench_core::result::{OutageFigures, RunResult};

    fn socketio() -> SystemSummary {
        let result: RunResult = crate::fixtures::pair();
        summarize(&result).remove(1)
    }

    fn outage(reconnected: u64, back_all_s: Option<f64>) -> OutageFigures {
        OutageFigures {
            clients_at_kill: 10,
            reconnected,
            back_all_s,
            owed_during: 200,
            delivered_during: 50,
            ..Default::default()
        }
    }

    /// Supported when every client came back in every run, refuted when one did not; not
    /// measured without an outage; the evidence gives the counts and the share delivered.
    #[test]
    fn reconnection_is_judged_on_every_client_coming_back() {
        let mut sio = socketio();
        let claim = reconnect_claim(None, Some(&sio));
        assert_eq!(claim.verdict, Verdict::NotMeasured);
        for r in &mut sio.runs {
            r.outage = Some(outage(10, Some(1.5)));
        }
        let claim = reconnect_claim(None, Some(&sio));
        assert_eq!(claim.verdict, Verdict::Supported, "{}", claim.evidence);
        let back = 10 * sio.runs.len();
        assert!(
            claim.evidence.contains(&format!(
                "{back} of {back} clients back, all within 1.50 s (median), 25.0% of the \
                 deliveries due during the outage made"
            )),
            "{}",
            claim.evidence
        );
        sio.runs[0].outage = Some(outage(9, None));
        assert_eq!(reconnect_claim(None, Some(&sio)).verdict, Verdict::Refuted);
    }

    /// A feature did its job when every run completed and delivered everything; a failed
    /// run refutes it; a run the user cut short is not enough to say.
    #[test]
    fn a_features_verdict_follows_its_runs() {
        let mut sio = socketio();
        assert_eq!(feature_verdict(&sio, true), Verdict::Supported);
        assert_eq!(feature_verdict(&sio, false), Verdict::Refuted);
        sio.runs[0].status = Status::Interrupted;
        assert_eq!(feature_verdict(&sio, true), Verdict::NotEnoughData);
        sio.runs[1].status = Status::Failed;
        assert_eq!(feature_verdict(&sio, true), Verdict::Refuted);
    }
}
