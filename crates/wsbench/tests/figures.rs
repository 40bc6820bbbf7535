//! Figures are derived once: a single process's result and the same counts merged from
//! shards give the same figures.

use std::path::Path;
use std::process::{Command, Stdio};

use wsbench::merge::merge_results;
use wsbench_core::histogram::{HistogramFigures, LatencyHistogram};
use wsbench_core::result::figures::Tally;
use wsbench_core::result::{RunResult, SystemRun};
use wsbench_core::shard::Shard;

/// `t` split in two: every count in halves (the first takes the odd one), the
/// histograms all in the first; per-process shares stay as they were.
fn split(t: &Tally) -> [Tally; 2] {
    let half = |n: u64| [n - n / 2, n / 2];
    let mut a = t.clone();
    let mut b = Tally {
        measured_s: t.measured_s,
        wire_source: t.wire_source.clone(),
        payload: t.payload,
        loadgen_utilisation: t.loadgen_utilisation,
        ..Tally::default()
    };
    b.counts.connect_span_ns = t.counts.connect_span_ns;
    macro_rules! halve {
        ($($($field:ident).+),*) => {$(
            [a.$($field).+, b.$($field).+] = half(t.$($field).+);
        )*};
    }
    halve!(
        requested,
        counts.connected,
        counts.disconnected,
        counts.sent,
        counts.unsent,
        counts.owed,
        counts.delivered,
        counts.duplicated,
        counts.out_of_order,
        counts.foreign,
        counts.misrouted,
        received,
        bytes_read,
        bytes_written,
        workers
    );
    for (kind, n) in &t.counts.failures {
        let [x, y] = half(*n);
        a.counts.failures.insert(kind.clone(), x);
        b.counts.failures.insert(kind.clone(), y);
    }
    (a.loadgen_cpu_s, b.loadgen_cpu_s) = (t.loadgen_cpu_s / 2.0, t.loadgen_cpu_s / 2.0);
    let share = a.counts.connected as f64 / t.counts.connected.max(1) as f64;
    a.loadgen_memory_growth = t.loadgen_memory_growth * share;
    b.loadgen_memory_growth = t.loadgen_memory_growth - a.loadgen_memory_growth;
    b.counts.latency = LatencyHistogram::default();
    b.counts.send_lag = LatencyHistogram::default();
    b.counts.connect_time = LatencyHistogram::default();
    [a, b]
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Histogram figures: every percentile exactly, the mean to rounding (it is recomputed
/// from the serialized histogram).
fn same_histogram(a: &HistogramFigures, b: &HistogramFigures) -> bool {
    (a.count, a.p50_us, a.p90_us, a.p99_us, a.p999_us, a.max_us)
        == (b.count, b.p50_us, b.p90_us, b.p99_us, b.p999_us, b.max_us)
        && close(a.mean_us, b.mean_us)
}

/// The figures a reader compares: every count exactly, every ratio to rounding.
fn assert_same_figures(one: &SystemRun, merged: &SystemRun) {
    let t = &one.system;
    assert_eq!(one.messages.sent, merged.messages.sent, "{t}");
    assert_eq!(one.messages.expected, merged.messages.expected, "{t}");
    assert_eq!(one.messages.delivered, merged.messages.delivered, "{t}");
    assert_eq!(one.messages.lost, merged.messages.lost, "{t}");
    assert!(
        close(
            one.messages.delivered_per_s,
            merged.messages.delivered_per_s
        ),
        "{t}"
    );
    assert_eq!(
        one.connections.connected, merged.connections.connected,
        "{t}"
    );
    assert_eq!(one.connections.failures, merged.connections.failures, "{t}");
    assert!(
        same_histogram(
            &one.connections.connect_time,
            &merged.connections.connect_time
        ),
        "{t}"
    );
    assert!(
        close(
            one.connections.connects_per_s,
            merged.connections.connects_per_s
        ),
        "{t}"
    );
    assert!(same_histogram(&one.latency, &merged.latency), "{t}");
    assert!(same_histogram(&one.send_lag, &merged.send_lag), "{t}");
    assert_eq!(one.wire.bytes_read, merged.wire.bytes_read, "{t}");
    assert!(
        close(one.wire.bytes_per_delivery, merged.wire.bytes_per_delivery),
        "{t}"
    );
    assert!(
        close(one.wire.overhead_ratio, merged.wire.overhead_ratio),
        "{t}"
    );
    let (l, m) = (&one.loadgen, &merged.loadgen);
    assert_eq!(l.received, m.received, "{t}");
    assert!(close(l.cpu_s, m.cpu_s), "{t}");
    assert!(
        close(l.cpu_us_per_received, m.cpu_us_per_received),
        "{t}: {l:?} vs {m:?}"
    );
    assert!(
        close(l.memory_per_client_bytes, m.memory_per_client_bytes),
        "{t}"
    );
    assert_eq!(l.bound, m.bound, "{t}");
}

#[test]
fn a_result_merged_from_shards_has_the_figures_of_one_process() {
    let out = std::env::temp_dir().join(format!("wsbench-test-figures-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/smoke.toml");
    let status = Command::new(env!("CARGO_BIN_EXE_wsbench"))
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "{status}");
    let one: RunResult =
        serde_json::from_str(&std::fs::read_to_string(out.join("result.json")).unwrap()).unwrap();
    let payload = one.scenario.payload;

    // The stored figures are what the counts derive: the run used the same formulas.
    for run in &one.runs {
        assert!(run.loadgen.received > 0, "{}", run.system);
        let mut again = run.clone();
        Tally::of(run, payload).apply(&mut again);
        assert_same_figures(run, &again);
    }

    // The same counts as two shards, merged.
    let shards: Vec<(String, RunResult)> = (0..2)
        .map(|i| {
            let mut shard = one.clone();
            shard.shard = Some(Shard { index: i, count: 2 });
            for run in &mut shard.runs {
                split(&Tally::of(run, payload))[i as usize].apply(run);
            }
            (format!("shard-{i}"), shard)
        })
        .collect();
    let merged = merge_results(&shards).unwrap();
    assert_eq!(merged.runs.len(), one.runs.len());
    for (a, b) in one.runs.iter().zip(&merged.runs) {
        assert_same_figures(a, b);
    }
    std::fs::remove_dir_all(out).unwrap();
}
