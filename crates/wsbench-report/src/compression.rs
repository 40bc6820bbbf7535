//! What compression bought and cost, per system whose clients offered permessage-deflate:
//! the connections its server accepted it on, and against the same runtime's system of
//! its protocol measured without it, the bytes on the wire saved for the memory per
//! connection and the CPU per delivery it took ("compression saves N% of bytes for M KiB
//! per connection"). A server that declined is said to have, never measured as compressed.
//! What TLS adds is said the same way, against a system's plain twin.

use crate::metrics::{CPU_PER_DELIVERY, MEMORY_PER_CONNECTION, Metric, WIRE_PER_DELIVERY};
use crate::summary::{SystemSummary, plain_twin, uncompressed_twin};
use crate::table::Table;

/// The median of `m` for `s`.
fn median(s: &SystemSummary, m: &Metric) -> Option<f64> {
    s.stat(m).map(|st| st.median)
}

/// Connections its clients made, reconnections included, over all its runs.
fn connections(s: &SystemSummary) -> u64 {
    s.runs.iter().map(|r| r.connections.connected).sum()
}

/// What `s`'s median of `m` adds to `twin`'s.
fn added(s: &SystemSummary, twin: &SystemSummary, m: &Metric) -> Option<f64> {
    Some(median(s, m)? - median(twin, m)?)
}

/// The share of `twin`'s bytes on the wire per delivery that `s` saves, %.
fn saved(s: &SystemSummary, twin: &SystemSummary) -> Option<f64> {
    let (wire, plain) = (
        median(s, &WIRE_PER_DELIVERY)?,
        median(twin, &WIRE_PER_DELIVERY)?,
    );
    Some((1.0 - wire / plain) * 100.0)
}

/// `s`'s server CPU per delivery as a multiple of `twin`'s.
fn cpu_ratio(s: &SystemSummary, twin: &SystemSummary) -> Option<f64> {
    let r = median(s, &CPU_PER_DELIVERY)? / median(twin, &CPU_PER_DELIVERY)?;
    r.is_finite().then_some(r)
}

/// What compression did for `s` against `twin`, in words.
fn against(s: &SystemSummary, twin: &SystemSummary) -> Option<String> {
    let saved = saved(s, twin)?;
    let (wire, plain) = (
        median(s, &WIRE_PER_DELIVERY)?,
        median(twin, &WIRE_PER_DELIVERY)?,
    );
    let memory = added(s, twin, &MEMORY_PER_CONNECTION).map_or_else(
        || "server memory not measured".to_owned(),
        |kib| format!("{kib:+.1} KiB of server memory per connection"),
    );
    let cpu = cpu_ratio(s, twin).map_or_else(
        || "server CPU not measured".to_owned(),
        |r| format!("×{r:.2} server CPU per delivery"),
    );
    Some(format!(
        "{}: compression saves {saved:.0}% of the bytes on the wire ({plain:.0} → {wire:.0} B \
         per delivery) for {memory} and {cpu} (against {}){}",
        s.label(),
        twin.label(),
        caveat(s, twin)
    ))
}

/// Where either side's runs were not all ok, a word that the figures need care.
fn caveat(s: &SystemSummary, twin: &SystemSummary) -> &'static str {
    if [s, twin].iter().all(|x| x.status.starts_with("ok")) {
        ""
    } else {
        "; not every run was ok (see the statuses): read the CPU with care"
    }
}

/// A line per system over TLS with a plain twin: what TLS adds to its memory per
/// connection, CPU per delivery and bytes per delivery ("TLS adds X per connection, Y per
/// delivery").
pub fn tls_lines(summaries: &[SystemSummary]) -> Vec<String> {
    summaries
        .iter()
        .filter_map(|s| {
            let twin = plain_twin(summaries, s)?;
            let added = |m: &Metric| added(s, twin, m);
            let cell = |v: Option<f64>, unit: &str, decimals: usize| {
                v.map_or("-".to_owned(), |v| format!("{v:+.decimals$} {unit}"))
            };
            Some(format!(
                "{}: TLS adds {} of server memory per connection, {} of server CPU and {} on \
                 the wire per delivery (against {}){}",
                s.label(),
                cell(added(&MEMORY_PER_CONNECTION), "KiB", 1),
                cell(added(&CPU_PER_DELIVERY), "µs", 2),
                cell(added(&WIRE_PER_DELIVERY), "B", 0),
                twin.label(),
                caveat(s, twin)
            ))
        })
        .collect()
}

/// A line per system whose clients resumed TLS sessions (`tls_resumption`): how many of
/// its TLS handshakes the server resumed, out of how many (first connections cannot be).
pub fn resumption_lines(summaries: &[SystemSummary]) -> Vec<String> {
    summaries
        .iter()
        .filter(|s| s.runs.iter().any(|r| r.tls_resumption))
        .map(|s| {
            let handshakes: u64 = s.runs.iter().map(|r| r.connections.tls_time.count).sum();
            let resumed: u64 = s.runs.iter().map(|r| r.connections.tls_resumed).sum();
            let back: u64 = s
                .runs
                .iter()
                .filter_map(|r| r.outage.as_ref())
                .map(|o| o.reconnected)
                .sum();
            let none = if resumed == 0 && handshakes > connections(s).saturating_sub(back) {
                ": the server resumed none (it issued no session tickets, or none it could \
                 open again)"
            } else {
                ""
            };
            format!(
                "{}: {resumed} of {handshakes} TLS handshakes resumed the client's session \
                 ({back} reconnections; first connections have none to resume){none}",
                s.label()
            )
        })
        .collect()
}

/// A line per system whose clients offered compression: what it saved and cost, or that
/// its server declined (on every connection, or on some).
pub fn lines(summaries: &[SystemSummary]) -> Vec<String> {
    let mut out = Vec::new();
    for s in summaries.iter().filter(|s| s.compression) {
        let (took, all) = (s.compressed_connections(), connections(s));
        if took == 0 {
            out.push(format!(
                "{}: the server declined permessage-deflate on all {all} connections: its \
                 figures are uncompressed",
                s.label()
            ));
            continue;
        }
        if took < all {
            out.push(format!(
                "{}: the server accepted permessage-deflate on {took} of {all} connections \
                 only",
                s.label()
            ));
        }
        if let Some(line) = uncompressed_twin(summaries, s).and_then(|t| against(s, t)) {
            out.push(line);
        }
    }
    out
}

/// The compression table: per system that offered it, the connections it was accepted on
/// and the wire, memory and CPU figures beside its uncompressed twin's; `None` when no
/// system offered it.
pub fn table(summaries: &[SystemSummary]) -> Option<Table> {
    let offered: Vec<&SystemSummary> = summaries.iter().filter(|s| s.compression).collect();
    if offered.is_empty() {
        return None;
    }
    let header = [
        "transport",
        "compressed connections",
        "wire B/delivery",
        "uncompressed twin",
        "its wire B/delivery",
        "bytes saved",
        "mem/conn added KiB",
        "CPU/delivery ×",
    ];
    let cell = |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map_or("-".to_owned(), f);
    let rows = offered
        .into_iter()
        .map(|s| {
            let twin = uncompressed_twin(summaries, s);
            let with_twin = |f: &dyn Fn(&SystemSummary) -> Option<f64>| twin.and_then(f);
            let wire = median(s, &WIRE_PER_DELIVERY);
            let twin_wire = with_twin(&|t| median(t, &WIRE_PER_DELIVERY));
            let memory = with_twin(&|t| added(s, t, &MEMORY_PER_CONNECTION));
            let saved = with_twin(&|t| saved(s, t));
            let cpu = with_twin(&|t| cpu_ratio(s, t));
            vec![
                s.label(),
                format!("{}/{}", s.compressed_connections(), connections(s)),
                cell(wire, &|v| format!("{v:.1}")),
                twin.map_or("-".to_owned(), SystemSummary::label),
                cell(twin_wire, &|v| format!("{v:.1}")),
                cell(saved, &|v| format!("{v:.0}%")),
                cell(memory, &|v| format!("{v:+.1}")),
                cell(cpu, &|v| format!("×{v:.2}")),
            ]
        })
        .collect();
    Some(Table {
        header: header.iter().map(|h| (*h).to_owned()).collect(),
        rows,
    })
}
