//! The receive path's accounting: what one received payload means for the counts.

use wsbench_core::probe::Probe;

use crate::ledger::{Delivery, Ledger};
use crate::plan::Timeline;
use crate::report::{LoadReport, add_to_bucket, block_at};

/// Accounts a payload received at `now_ns`; returns whether it was a probe.
///
/// Latency is measured from the probe's *intended* send time, so a sender that fell behind
/// its schedule shows up as latency (wrk2's answer to coordinated omission), and only probes
/// due in the measured window count. `origin` gives a probe's due time on this process's
/// clock, whether this process sent it (only then is its latency measurable) and whether
/// it crossed from one server node to another (a cluster's cross-node latency).
pub(crate) fn account(
    ledger: &mut Ledger,
    report: &mut LoadReport,
    now_ns: u64,
    bytes: &[u8],
    timeline: &Timeline,
    lane: &dyn Fn(u32) -> Option<u32>,
    origin: &dyn Fn(&Probe) -> (u64, bool, bool),
) -> bool {
    let Some(probe) = Probe::find(bytes) else {
        report.counts.foreign += 1;
        return false;
    };
    let Some(lane) = lane(probe.sender) else {
        // Another room's message, or someone else's echo: an isolation error, whatever
        // the window.
        report.counts.misrouted += 1;
        return true;
    };
    let (due_ns, sent_here, cross_node) = origin(&probe);
    if !timeline.is_measured(due_ns) {
        return true;
    }
    match ledger.record(lane, probe.seq) {
        delivery @ (Delivery::New | Delivery::OutOfOrder) => {
            report.counts.delivered += 1;
            add_to_bucket(
                &mut report.delivered_by_bucket,
                timeline.bucket_of(due_ns),
                1,
            );
            if delivery == Delivery::OutOfOrder {
                report.counts.out_of_order += 1;
            }
            if sent_here {
                let latency = now_ns.saturating_sub(probe.intended_ns);
                report.counts.latency.record_ns(latency);
                block_at(&mut report.latency_by_block, timeline.block_of(due_ns))
                    .record_ns(latency);
                if cross_node {
                    report.cross_node_latency.record_ns(latency);
                }
            }
        }
        Delivery::Duplicate => report.counts.duplicated += 1,
        Delivery::Foreign => report.counts.foreign += 1,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn timeline() -> Timeline {
        Timeline {
            t0_ns: 1_000 * MS,
            measure_start_ns: 1_000 * MS,
            measure_end_ns: 2_000 * MS,
            drain_end_ns: 2_500 * MS,
        }
    }

    fn probe(sender: u32, seq: u64, intended_ns: u64) -> Vec<u8> {
        Probe {
            sender,
            seq,
            intended_ns,
        }
        .encode(64)
    }

    #[test]
    fn a_stalled_sender_shows_up_as_latency_not_as_a_lower_rate() {
        // 100 messages due every 10 ms; the sender stalls 200 ms before message 50 and then
        // catches up at once. Each message takes 1 ms from actual send to receipt.
        let tl = timeline();
        let (mut ledger, mut report) = (Ledger::new(1, 100), LoadReport::default());
        let mut naive = wsbench_core::histogram::LatencyHistogram::default();
        for k in 0..100u64 {
            let intended = tl.t0_ns + k * 10 * MS;
            let actual = if (50..70).contains(&k) {
                tl.t0_ns + 700 * MS
            } else {
                intended
            };
            let received = actual + MS;
            assert!(account(
                &mut ledger,
                &mut report,
                received,
                &probe(0, k, intended),
                &tl,
                &|s| Some(s),
                &|p| (p.intended_ns, true, false)
            ));
            naive.record_ns(received - actual);
        }
        assert_eq!(report.counts.delivered, 100);
        // Measured from the schedule, the stall is visible: the first message due in it
        // waited 200 ms; measured from the actual send, every message took 1 ms.
        assert!(
            report.counts.latency.figures().max_us >= 200_000,
            "{:?}",
            report.counts.latency.figures().max_us
        );
        assert!(report.counts.latency.quantile_us(0.9) >= 100_000);
        assert!(naive.figures().max_us < 2_000);
    }

    #[test]
    fn a_probe_from_another_shard_is_counted_but_its_latency_is_not_measured() {
        let tl = timeline();
        let (mut ledger, mut report) = (Ledger::new(2, 10), LoadReport::default());
        let due = tl.t0_ns + 10 * MS;
        // Sender 1 runs in another process: its intended time is another clock's, so the
        // due time comes from the shared schedule and no latency is recorded.
        let other_clock = probe(1, 1, 123);
        assert!(account(
            &mut ledger,
            &mut report,
            due + MS,
            &other_clock,
            &tl,
            &|s| Some(s),
            &|_| (due, false, false)
        ));
        assert_eq!(
            (report.counts.delivered, report.counts.latency.len()),
            (1, 0)
        );
        assert_eq!(report.delivered_by_bucket.iter().sum::<u64>(), 1);
    }

    #[test]
    fn loss_duplicates_and_order_are_counted_and_warmup_is_not() {
        let tl = timeline();
        let (mut ledger, mut report) = (Ledger::new(2, 10), LoadReport::default());
        let at = |k: u64| tl.t0_ns + k * 50 * MS;
        // Warm-up probe (due before the window): a probe, but not counted.
        let warm = Probe {
            sender: 0,
            seq: 0,
            intended_ns: tl.t0_ns - MS,
        }
        .encode(64);
        assert!(account(
            &mut ledger,
            &mut report,
            tl.t0_ns,
            &warm,
            &tl,
            &|s| Some(s),
            &|p| (p.intended_ns, true, false)
        ));
        for (sender, k) in [(0, 1), (0, 3), (0, 2), (0, 3), (1, 1)] {
            account(
                &mut ledger,
                &mut report,
                at(k) + MS,
                &probe(sender, k, at(k)),
                &tl,
                &|s| Some(s),
                &|p| (p.intended_ns, true, false),
            );
        }
        assert!(!account(
            &mut ledger,
            &mut report,
            tl.t0_ns,
            b"Welcome!",
            &tl,
            &|s| Some(s),
            &|p| (p.intended_ns, true, false)
        ));
        assert_eq!(report.counts.delivered, 4);
        assert_eq!(report.counts.duplicated, 1);
        assert_eq!(report.counts.out_of_order, 1);
        assert_eq!(report.counts.foreign, 1);
        assert_eq!(report.counts.latency.len(), 4);

        // A probe from outside the receiver's scope is misrouted, never delivered.
        let other_room = |sender: u32| (sender != 1).then_some(sender);
        assert!(account(
            &mut ledger,
            &mut report,
            at(5),
            &probe(1, 5, at(5)),
            &tl,
            &other_room,
            &|p| (p.intended_ns, true, false)
        ));
        assert_eq!((report.counts.misrouted, report.counts.delivered), (1, 4));
    }
}
