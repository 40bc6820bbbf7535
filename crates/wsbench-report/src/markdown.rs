//! Markdown: the side-by-side table, the method line, and the seed's claims judged.

use std::fmt::Write;

use wsbench_core::result::RunResult;

use crate::claims::{self, Claim};
use crate::summary::{SystemSummary, summarize};
use crate::table::{self, Table, connections, reconnection, side_by_side, slow_consumers};
use crate::{Exporter, ReportError};

/// Writes the report as GitHub-flavoured Markdown.
pub struct MarkdownExporter;

impl Exporter for MarkdownExporter {
    fn render(&self, result: &RunResult) -> Result<Vec<u8>, ReportError> {
        let summaries = summarize(result);
        let mut out = String::new();
        let s = &result.scenario;
        let _ = writeln!(out, "# wsbench: {}\n", s.name);
        let _ = writeln!(out, "{}\n", method_line(result));
        let banner = crate::validity::banner(result);
        if !banner.is_empty() {
            let _ = writeln!(out, "> **{}:**\n>", crate::validity::HEADLINE);
            for line in banner {
                let _ = writeln!(out, "> - {}", escape(&line));
            }
            out.push('\n');
        }
        if let (Some(table), Some(search)) = (table::search(result), &s.search) {
            let _ = writeln!(
                out,
                "## Saturation search\n\n{} raised from {} ({}) up to {}, per transport, while \
                 {} in a valid run{}; each step below is a row of the table that follows.\n",
                search.field,
                search.start,
                match search.step {
                    Some(step) => format!("+{step} per step"),
                    None => format!("×{} per step", search.factor),
                },
                search.max,
                search_limits(search),
                if search.bisect {
                    ", by bisection over those values"
                } else {
                    ""
                },
            );
            out.push_str(&markdown_table(&table));
            if let Some(load) = &result.common_load {
                let line = crate::capacity::common_load_line(load);
                let _ = writeln!(out, "\n{}.", escape(&line));
            }
            out.push('\n');
            shootout_section(&mut out, result, &summaries);
        }
        out.push_str(&markdown_table(&side_by_side(&summaries)));
        let failures: Vec<String> = result.runs.iter().filter_map(|r| r.error.clone()).collect();
        if !failures.is_empty() {
            out.push_str("\n**Problems:**\n\n");
            for f in failures {
                let _ = writeln!(out, "- {}", escape(&f));
            }
        }
        if let Some(table) = crate::thresholds::table(&crate::thresholds::check(result)) {
            out.push_str("\n## Thresholds\n\n");
            out.push_str(&markdown_table(&table));
        }
        out.push_str("\n## Connections\n\n");
        out.push_str(&markdown_table(&connections(&summaries)));
        scenario_sections(&mut out, result, &summaries);
        let at = claims::judged_at(result, &summaries);
        if at.is_empty() {
            out.push_str("\n## The claims\n\n");
        } else {
            let _ = writeln!(out, "\n## The claims (judged at {at})\n");
        }
        let groups = claims::by_runtime(result, &summaries);
        for (runtime, claims) in &groups {
            if groups.len() > 1 {
                let _ = writeln!(out, "### {}\n", runtime_title(runtime));
            }
            out.push_str(&claims_table(claims));
            if groups.len() > 1 {
                out.push('\n');
            }
        }
        out.push_str("\n## Method\n\n");
        for line in result.method.iter().chain(&measured_method_lines(result)) {
            let _ = writeln!(out, "- {}", escape(line));
        }
        Ok(out.into_bytes())
    }
}

/// The sections only some scenarios have: slow consumers, an outage, a cluster.
fn scenario_sections(out: &mut String, result: &RunResult, summaries: &[SystemSummary]) {
    let s = &result.scenario;
    if let Some(table) = slow_consumers(s.stalled, summaries) {
        let _ = writeln!(
            out,
            "\n## Slow consumers\n\n{} of {} clients stopped reading when traffic began \
             (overflow policy: {}). Medians over repeats; latency and loss are those of \
             the clients that kept reading.\n",
            s.stalled, s.clients, s.overflow
        );
        out.push_str(&markdown_table(&table));
    }
    if let (Some(table), Some(o)) = (reconnection(summaries), s.outage) {
        let _ = writeln!(
            out,
            "\n## Reconnection\n\nThe server was killed (SIGKILL) {} into the measured \
             window and a new one started on the same port {} later. Every client \
             reconnected by itself on the same schedule: jittered exponential backoff \
             from {}, doubling, at most {} (socket.io-client's algorithm). Socket.IO \
             clients buffer what is sent while disconnected and send it on reconnect, \
             as socket.io-client does; raw WebSocket has no reconnection of its own, so \
             its clients use a loop written in wsbench, as a raw-WS user would have to, \
             and discard what is sent meanwhile. Times are from the kill; medians over \
             repeats.\n",
            o.at, o.down, o.reconnect_delay, o.reconnect_delay_max
        );
        out.push_str(&markdown_table(&table));
    }
    let proxied = crate::proxy::lines(summaries);
    if !proxied.is_empty() {
        out.push_str(
            "\n## Through a proxy\n\nThe clients reached each server through a \
                      reverse proxy wsbench started in front of it (its configuration is \
                      under proxy/ beside the result):\n\n",
        );
        for line in proxied {
            let _ = writeln!(out, "- {}", escape(&line));
        }
    }
    let tls = crate::compression::tls_lines(summaries);
    if !tls.is_empty() {
        out.push_str(
            "\n## What TLS adds\n\nEach system over TLS against the same runtime's \
                      system of its protocol without TLS, at the same load (medians over \
                      repeats):\n\n",
        );
        for line in tls {
            let _ = writeln!(out, "- {}", escape(&line));
        }
    }
    let resumed = crate::compression::resumption_lines(summaries);
    if !resumed.is_empty() {
        out.push_str(
            "\n## TLS session resumption\n\nThe clients kept the session each server gave \
             them and offered it when they connected again (`tls_resumption = true`):\n\n",
        );
        for line in resumed {
            let _ = writeln!(out, "- {}", escape(&line));
        }
    }
    if let Some(table) = crate::compression::table(summaries) {
        let _ = writeln!(
            out,
            "\n## Compression\n\nThe clients offered permessage-deflate (RFC 7692: `{}`) \
             to the systems below, and inflated what the servers compressed; they send \
             uncompressed, so the bytes saved are the server's (wire: bytes read per probe \
             received, at the TCP level). Payloads: `{}`. Each is compared with the same \
             runtime's system of its protocol measured without compression.\n",
            s.deflate.header(),
            s.payload_kind
        );
        out.push_str(&markdown_table(&table));
        out.push('\n');
        for line in crate::compression::lines(summaries) {
            let _ = writeln!(out, "- {}", escape(&line));
        }
    }
    if let Some(table) = table::cluster(summaries) {
        let _ = writeln!(
            out,
            "\n## Cluster\n\nA clustered run's server processes (nodes) share one Redis, \
             started by wsbench; client i connects to node i mod nodes, so most deliveries \
             cross nodes through Redis (their latency is the last column below). Server \
             memory per connection and CPU per delivery above are the whole cluster's \
             (every node); Redis's are below.{}\n",
            s.kill_node_at.map_or(String::new(), |at| format!(
                " The last node was killed (SIGKILL) {at} into the measured window: its \
                 clients' deliveries from then on are counted as lost, the other nodes' \
                 clients kept receiving."
            ))
        );
        out.push_str(&markdown_table(&table));
    }
}

/// Socket.IO against each raw-WebSocket server of its runtime, after a capacity search:
/// the ratios and the answer to "inherent or implementation?".
fn shootout_section(out: &mut String, result: &RunResult, summaries: &[SystemSummary]) {
    let pairs = crate::shootout::pairs(result, summaries);
    let (Some(table), Some(answer)) = (
        crate::shootout::table(&pairs),
        crate::shootout::answer_line(&pairs),
    ) else {
        return;
    };
    out.push_str(
        "## Inherent or implementation?\n\nSocket.IO against each raw-WebSocket server of \
         its runtime: capacities from the search, the rest at the common load (Socket.IO / \
         WS; above ×1 Socket.IO has more, of capacity the better, of the rest the worse; a \
         capacity ratio marked >= or <= is a bound: a server held the search's maximum).\n\n",
    );
    out.push_str(&markdown_table(&table));
    let _ = writeln!(out, "\n{}.\n", escape(&answer));
}

/// A search's limits in words: "p99 <= 100ms and loss <= 0%".
pub fn search_limits(search: &wsbench_core::scenario::Search) -> String {
    let mut limits = Vec::new();
    if let Some(p99) = search.p99 {
        limits.push(format!("p99 <= {p99}"));
    }
    limits.push(format!("loss <= {}%", search.loss * 100.0));
    limits.push("every client connected and the run complete".to_owned());
    limits.join(", ")
}

/// The method lines a run's figures give (its I/O paths, its floor), after the ones it was
/// described with: every report lists both.
pub fn measured_method_lines(result: &RunResult) -> Vec<String> {
    let mut lines: Vec<String> = io_line(result).into_iter().collect();
    lines.extend(server_io_line(result));
    lines.push(crate::floor::method_line(result));
    lines
}

/// How the load generator's clients read, per system (`--io`; docs/method.md, "The load
/// generator's I/O"), with why where a path asked for by name was not used.
fn io_line(result: &RunResult) -> Option<String> {
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for run in &result.runs {
        let l = &run.loadgen;
        let path = match &l.io_note {
            Some(why) => format!("{} ({why})", l.io.describe()),
            None => l.io.describe().to_owned(),
        };
        let name = run.system.as_str();
        match groups.iter_mut().find(|(p, _)| *p == path) {
            Some((_, names)) if !names.contains(&name) => names.push(name),
            Some(_) => {}
            None => groups.push((path, vec![name])),
        }
    }
    let parts: Vec<String> = groups
        .iter()
        .map(|(path, names)| format!("{path} for {}", names.join(", ")))
        .collect();
    (!parts.is_empty()).then(|| {
        format!(
            "The load generator's clients read with {}.",
            parts.join("; ")
        )
    })
}

/// Which servers wrote their broadcasts through io_uring (`--server-io`), or were asked to
/// and did not, and why; nothing when every server wrote one `send` per recipient.
fn server_io_line(result: &RunResult) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for run in &result.runs {
        let Some(s) = &run.server else { continue };
        let part = match (&s.io_note, s.io.is_uring()) {
            (Some(why), _) => format!("{} one `send` per recipient ({why})", run.system),
            (None, true) => format!("{} through io_uring, a submission per share", run.system),
            (None, false) => continue,
        };
        if !parts.contains(&part) {
            parts.push(part);
        }
    }
    (!parts.is_empty()).then(|| {
        format!(
            "Server writes (--server-io): {}; every other server one `send` per recipient.",
            parts.join("; ")
        )
    })
}

/// One line: what ran, how long, on what.
pub fn method_line(result: &RunResult) -> String {
    let s = &result.scenario;
    let sweep: Vec<String> = s
        .sweep
        .iter()
        .map(|a| {
            let values: Vec<String> = a.values.iter().map(|v| v.to_string()).collect();
            format!("{} = [{}]", a.field, values.join(", "))
        })
        .collect();
    let line = describe_run(result);
    if sweep.is_empty() {
        line
    } else {
        format!("Sweep over {}; first point: {line}", sweep.join(", "))
    }
}

fn describe_run(result: &RunResult) -> String {
    let s = &result.scenario;
    let e = &result.environment;
    format!(
        "{} clients, {} senders × {} msg/s, {} B {} payloads, measured {} after {} warm-up \
         (drain {}), {} repeat(s); {} × {} cores, {} GiB, kernel {}, {}; status {}, {}",
        s.clients,
        s.senders,
        s.rate,
        s.payload,
        match s.encoding {
            wsbench_core::scenario::Encoding::Text => "text",
            wsbench_core::scenario::Encoding::Binary => "binary",
        },
        humanize(s.duration.0),
        humanize(s.warmup.0),
        humanize(s.drain.0),
        s.repeat,
        e.cpu_model,
        e.cores,
        e.memory_bytes / (1 << 30),
        e.kernel,
        if e.release_build {
            "release build"
        } else {
            "DEBUG build"
        },
        crate::summary::status_word(result.status),
        result.started_at,
    )
}

fn humanize(d: std::time::Duration) -> String {
    wsbench_core::scenario::HumanDuration(d).to_string()
}

/// A [`Table`] as a Markdown table.
pub fn markdown_table(table: &Table) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "| {} |", table.header.join(" | "));
    let _ = writeln!(
        out,
        "|{}",
        table
            .header
            .iter()
            .enumerate()
            .map(|(i, _)| if i == 0 { " --- |" } else { " ---: |" })
            .collect::<String>()
    );
    for row in &table.rows {
        let cells: Vec<String> = row.iter().map(|c| escape(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

/// A runtime's heading above its claims.
pub(crate) fn runtime_title(runtime: &str) -> String {
    if runtime == crate::summary::OWN_RUNTIME {
        "Rust (wsbench's own servers)".to_owned()
    } else if let Some(over) = runtime
        .strip_prefix(crate::summary::OWN_RUNTIME)
        .filter(|rest| rest.starts_with(' '))
    {
        format!("Rust (wsbench's own servers){over}")
    } else {
        format!("{runtime} (the scenario's [systems])")
    }
}

fn claims_table(claims: &[Claim]) -> String {
    let mut out = String::from("| claim | verdict | evidence |\n| --- | --- | --- |\n");
    for c in claims {
        let _ = writeln!(
            out,
            "| {} | **{}** | {} |",
            c.claim,
            c.verdict.as_str(),
            escape(&c.evidence)
        );
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Verdict;
    use std::time::Duration;
    use wsbench_core::scenario::{HumanDuration, Search, SweepAxis, SweepField};

    use crate::fixtures::pair;

    /// The first column left-aligned, figures right-aligned; a `|` or a line break inside
    /// a cell cannot break the table.
    #[test]
    fn a_table_is_aligned_and_its_cells_escaped() {
        let table = Table {
            header: vec!["system".to_owned(), "p50".to_owned(), "note".to_owned()],
            rows: vec![vec![
                "ws".to_owned(),
                "1.00".to_owned(),
                "a|b\nc".to_owned(),
            ]],
        };
        assert_eq!(
            markdown_table(&table),
            "| system | p50 | note |\n| --- | ---: | ---: |\n| ws | 1.00 | a\\|b c |\n"
        );
        let claims = [Claim {
            claim: "WebSocket is faster",
            evidence: "p50 1 | 2".to_owned(),
            verdict: Verdict::Supported,
        }];
        let text = claims_table(&claims);
        assert!(
            text.ends_with(&format!(
                "| WebSocket is faster | **{}** | p50 1 \\| 2 |\n",
                Verdict::Supported.as_str()
            )),
            "{text}"
        );
    }

    #[test]
    fn a_searchs_limits_are_said_in_words() {
        let mut search = Search {
            field: SweepField::Clients,
            start: 100.0,
            factor: 2.0,
            step: None,
            max: 800.0,
            p99: Some(HumanDuration(Duration::from_millis(100))),
            loss: 0.0,
            bisect: false,
            common_load: 0.5,
        };
        assert_eq!(
            search_limits(&search),
            "p99 <= 100ms, loss <= 0%, every client connected and the run complete"
        );
        search.p99 = None;
        search.loss = 0.01;
        assert_eq!(
            search_limits(&search),
            "loss <= 1%, every client connected and the run complete"
        );
    }

    /// The method line names the load, the window and the machine; a sweep says its axes
    /// and that the figures that follow are the first point's.
    #[test]
    fn the_method_line_says_what_ran_and_on_what() {
        let mut result = pair();
        let line = method_line(&result);
        let s = &result.scenario;
        assert!(
            line.starts_with(&format!(
                "{} clients, {} senders × {} msg/s, {} B text payloads",
                s.clients, s.senders, s.rate, s.payload
            )),
            "{line}"
        );
        assert!(
            line.contains(&format!("{} cores", result.environment.cores)),
            "{line}"
        );
        result.scenario.sweep = vec![SweepAxis {
            field: SweepField::Clients,
            values: vec![100.0, 1000.0],
        }];
        let swept = method_line(&result);
        assert!(
            swept.starts_with("Sweep over clients = [100, 1000]; first point: "),
            "{swept}"
        );
        assert_eq!(runtime_title("node"), "node (the scenario's [systems])");
        assert_eq!(
            runtime_title("rust over TLS"),
            "Rust (wsbench's own servers) over TLS"
        );
        assert_eq!(
            runtime_title(crate::summary::OWN_RUNTIME),
            "Rust (wsbench's own servers)"
        );
    }
}
