//! Each side's cost as a ratio to the kernel's floor on the machine it ran on
//! (docs/method.md, "The floors"): the load generator's CPU per received message to the
//! receive floor of the path its clients read by, a server's CPU per delivery to the send
//! floor of the path it wrote by. Absolute CPU times move with the machine and the hour;
//! the ratio says how much of a cost is the program's own.

use wsbench_core::result::{Floor, RunResult, SystemRun};

use crate::stats::median;

/// One system's ratios (medians over its repeats).
#[derive(Debug, Clone, PartialEq)]
pub struct Ratios {
    /// The system's name.
    pub system: String,
    /// Load-generator CPU per received message ÷ the receive floor of its path.
    pub loadgen: Option<f64>,
    /// Server CPU per delivery ÷ the send floor of its path.
    pub server: Option<f64>,
}

/// The ratio of `cost` to `floor`: `None` unless both are measured.
pub fn ratio(cost: f64, floor: Option<f64>) -> Option<f64> {
    floor.filter(|f| *f > 0.0 && cost > 0.0).map(|f| cost / f)
}

/// Each system's ratios to `floor`, in the order the systems ran.
pub fn ratios(result: &RunResult, floor: &Floor) -> Vec<Ratios> {
    let mut out: Vec<Ratios> = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for run in &result.runs {
        if !names.contains(&run.system.as_str()) {
            names.push(run.system.as_str());
        }
    }
    for name in names {
        let runs: Vec<&SystemRun> = result
            .runs
            .iter()
            .filter(|r| r.system.as_str() == name && r.error.is_none())
            .collect();
        let of = |f: &dyn Fn(&SystemRun) -> Option<f64>| {
            median(&runs.iter().filter_map(|r| f(r)).collect::<Vec<_>>())
        };
        out.push(Ratios {
            system: name.to_owned(),
            loadgen: of(&|r| ratio(r.loadgen.cpu_us_per_received, floor.recv_us(r.loadgen.io))),
            server: of(&|r| {
                let s = r.server.as_ref()?;
                ratio(s.cpu_us_per_delivery, floor.send_us(s.io.is_uring()))
            }),
        });
    }
    out
}

/// The method line: the floors and each system's ratios to them, or how to get a floor.
pub fn method_line(result: &RunResult) -> String {
    let Some(floor) = &result.environment.floor else {
        return "Floor: none was measured on this machine, so no cost is given as a ratio to \
                it: `wsbench floor` (or `wsbench run --floor`) measures one, which later runs \
                on this machine use."
            .to_owned();
    };
    let way = |v: Option<f64>| v.map_or_else(|| "not measured".to_owned(), |v| format!("{v:.2}"));
    let mut line = format!(
        "Floor ({}, measured {}, median of 3 rounds of {} s a way on {} loopback \
         connections): a bare reader pays \
         {:.2} µs per 64-byte message at 100,000 a second with epoll + recv and {} with \
         io_uring; a bare writer {:.2} µs per recipient of 100 broadcasts a second with send \
         and {} with io_uring (a run at a lower rate pays more per message for its wakeups)",
        floor.source,
        floor.measured_at,
        floor.seconds_each,
        floor.connections,
        floor.recv_epoll_us,
        way(floor.recv_uring_us),
        floor.send_us,
        way(floor.send_uring_us),
    );
    if let Some(why) = &floor.uring_refused {
        line.push_str(&format!(" ({why})"));
    }
    let parts = ratio_parts(result, floor);
    if parts.is_empty() {
        line.push('.');
    } else {
        line.push_str(&format!(
            ". CPU per message to the floor of the path each side used (medians): {}.",
            parts.join("; ")
        ));
    }
    line
}

/// The ratios in a line for the terminal, where the run had a floor to take them to.
pub fn terminal_line(result: &RunResult) -> Option<String> {
    let floor = result.environment.floor.as_ref()?;
    let parts = ratio_parts(result, floor);
    (!parts.is_empty()).then(|| {
        format!(
            "CPU per message to the kernel's floor ({}, {}): {}",
            floor.source,
            floor.measured_at,
            parts.join("; ")
        )
    })
}

/// "ws server 1.25×, load generator 1.00×" for each system with a ratio.
fn ratio_parts(result: &RunResult, floor: &Floor) -> Vec<String> {
    ratios(result, floor)
        .iter()
        .filter_map(|r| {
            let server = r.server.map(|v| format!("server {v:.2}×"));
            let loadgen = r.loadgen.map(|v| format!("load generator {v:.2}×"));
            let sides: Vec<String> = [server, loadgen].into_iter().flatten().collect();
            (!sides.is_empty()).then(|| format!("{} {}", r.system, sides.join(", ")))
        })
        .collect()
}
