//! From the scenario to what the load generator and the servers are asked to do.

use std::time::Duration;

use anyhow::Context;
use wsbench_core::io_path::{IoChoice, IoPath};
use wsbench_core::scenario::{Mode, Scenario};
use wsbench_core::system::{ServerSpec, System};
use wsbench_loadgen::clients::{TlsClient, TlsTrust};
use wsbench_loadgen::{Backoff, ClientLibrary, Endpoint, IoUse, LoadPlan, Scope};

use super::measure::RunCtx;

/// Longest one connection attempt may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Deliveries a second that one load-generator worker is sized for when the scenario does
/// not say how many workers to use (docs/method.md, "The load generator"). Measured on a
/// 16-core Xeon, the raw-WebSocket server pinned to 2 cores and the load generator to the
/// 14 others, 99,900 deliveries/s, three runs each (medians): 1 worker cost 7.9 µs of CPU
/// per received message but queued (p99 8.2 ms), 2 cost 8.1 µs (p99 4.5 ms), 4 cost
/// 10.5 µs (p99 4.6 ms), 14 (one per core, the old default) 14.5 µs (p99 4.9 ms): a worker
/// more than the load needs adds wakeups and nothing else.
pub const DELIVERIES_PER_WORKER: f64 = 50_000.0;

/// How many load-generator threads a measurement gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workers {
    /// As many as asked for (`--workers`, the scenario's `workers`).
    Fixed(usize),
    /// One per [`DELIVERIES_PER_WORKER`] of the deliveries this process's clients are
    /// owed a second, between 1 and `cores` (the CPUs the load generator may use).
    Sized {
        /// The most.
        cores: usize,
    },
}

impl Workers {
    /// The count for a plan whose clients are owed `deliveries_per_s`.
    pub fn count(self, deliveries_per_s: f64) -> usize {
        match self {
            Workers::Fixed(n) => n.max(1),
            Workers::Sized { cores } => {
                let wanted = (deliveries_per_s / DELIVERIES_PER_WORKER).ceil();
                (wanted.max(1.0) as usize).min(cores.max(1))
            }
        }
    }
}

/// The deliveries a second this process's `own` clients of `plan` are owed in steady state.
fn offered_deliveries_per_s(plan: &LoadPlan, own: u64) -> f64 {
    let all: u64 = (0..plan.senders).map(|s| plan.recipients(s)).sum();
    all as f64 * plan.rate * own as f64 / plan.clients.max(1) as f64
}

/// The load of one measurement of `system`, its clients spread over `endpoints`.
pub fn load_plan(
    ctx: &RunCtx<'_>,
    system: &System,
    endpoints: Vec<Endpoint>,
) -> anyhow::Result<LoadPlan> {
    let mut plan = plan_with_one_worker(ctx, system, endpoints);
    plan.workers = ctx
        .workers
        .count(offered_deliveries_per_s(&plan, ctx.own_clients));
    plan.tls = tls_client(ctx, system)?;
    plan.io = match ctx.io {
        IoChoice::Tokio => IoPath::Tokio,
        IoChoice::Epoll => IoPath::Epoll,
        // io_uring measured cheaper for both sides since the ws server writes through it
        // (docs/method.md, "Why `auto` is io_uring").
        IoChoice::Uring | IoChoice::Auto => IoPath::Uring,
    };
    Ok(plan)
}

/// The path the clients read by, and why it is not the one asked for by name (`auto`
/// says nothing where the clients cannot use a batched receiver).
pub fn io_used(
    asked: IoChoice,
    batchable: Result<(), &'static str>,
    io: &IoUse,
) -> (IoPath, Option<String>) {
    let all = |n: u64| io.workers > 0 && n == io.workers;
    if all(io.uring_workers) {
        (IoPath::Uring, None)
    } else if all(io.uring_workers + io.epoll_workers) {
        let refused =
            matches!(asked, IoChoice::Uring | IoChoice::Auto).then(|| io.uring_error.clone());
        (IoPath::Epoll, refused.flatten())
    } else {
        let asked_by_name = matches!(asked, IoChoice::Epoll | IoChoice::Uring);
        let why = batchable.err().filter(|_| asked_by_name).map(str::to_owned);
        (IoPath::Tokio, why)
    }
}

/// The TLS `system`'s clients speak: trusting the run's CA for a server wsbench started,
/// what the scenario says for a target.
fn tls_client(ctx: &RunCtx<'_>, system: &System) -> anyhow::Result<Option<TlsClient>> {
    if !system.tls {
        return Ok(None);
    }
    let trust = match (&system.server, ctx.tls) {
        (ServerSpec::Target { .. }, _) | (_, None) => ctx.scenario.tls_trust.clone(),
        (_, Some(files)) => TlsTrust::CaFile(files.ca.clone()),
    };
    TlsClient::new(&trust, ctx.scenario.tls_resumption)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("TLS for {}: {e}", system.name))
}

fn plan_with_one_worker(ctx: &RunCtx<'_>, system: &System, endpoints: Vec<Endpoint>) -> LoadPlan {
    let s = ctx.scenario;
    let adapter = s.adapter.get(&system.name).cloned().unwrap_or_default();
    LoadPlan {
        protocol: system.protocol,
        client: ClientLibrary::choose(system.protocol, s.socketio_client, &adapter),
        endpoints,
        scope: match s.mode {
            Mode::Broadcast => Scope::Broadcast,
            Mode::Echo => Scope::Echo,
            Mode::Rooms => Scope::Rooms { rooms: s.rooms() },
        },
        encoding: s.encoding,
        clients: s.clients,
        senders: s.senders,
        stalled: s.stalled,
        rate: s.rate,
        // The scenario's payload is the whole message; the check made sure the probe fits.
        payload: s.payload as usize - adapter.template_overhead(),
        payload_kind: s.payload_kind,
        deflate: system.compression.then_some(s.deflate),
        adapter: std::sync::Arc::new(adapter),
        messages_per_sender: s.messages_per_sender(),
        ramp_interval: s.ramp.interval(s.clients),
        workers: 1,
        connect_timeout: CONNECT_TIMEOUT,
        reconnect: s
            .outage
            .map(|o| Backoff::new(o.reconnect_delay.0, o.reconnect_delay_max.0)),
        shard: ctx.shard,
        tls: None,
        io: IoPath::Epoll,
    }
}

/// `wsbench serve` options a scenario sets.
pub fn server_args(s: &Scenario) -> Vec<String> {
    let mut args = vec!["--overflow".to_owned(), s.overflow.to_string()];
    if let Some(q) = s.queue_capacity {
        args.extend(["--queue-capacity".to_owned(), q.to_string()]);
    }
    args
}

/// Where a client of `system` connects on the server at `url`: its TCP address and its
/// WebSocket URL, with the protocol's path (or the adapter's) and the adapter's query. A
/// name that resolves off this machine is refused unless the run allows remote targets.
pub fn endpoint_for(s: &Scenario, system: &System, url: &str) -> anyhow::Result<Endpoint> {
    let mut url = url::Url::parse(url).with_context(|| format!("'{url}' is not a URL"))?;
    let secure = matches!(url.scheme(), "https" | "wss");
    let plain = system.protocol.spec().client_scheme;
    let scheme = if secure {
        format!("{plain}s")
    } else {
        plain.to_owned()
    };
    let scheme = scheme.as_str();
    if url.scheme() != scheme {
        url.set_scheme(scheme)
            .map_err(|()| anyhow::anyhow!("'{url}' cannot be opened as {scheme}://"))?;
    }
    let adapter = s.adapter.get(&system.name).cloned().unwrap_or_default();
    if let Some((path, query)) = system.protocol.spec().endpoint_path {
        let path = adapter.path.as_deref().unwrap_or(path);
        url.set_path(path);
        url.set_query(Some(query));
    }
    if !adapter.query.is_empty() {
        url.query_pairs_mut().extend_pairs(&adapter.query);
    }
    let addrs = url
        .socket_addrs(|| Some(if secure { 443 } else { 80 }))
        .with_context(|| format!("cannot resolve {url}"))?;
    let addr = addrs
        .iter()
        .find(|a| a.ip().is_loopback())
        .or_else(|| addrs.first().filter(|_| s.allow_remote))
        .copied()
        .with_context(|| {
            format!("{url} does not resolve to a loopback address (to load another host, run with --allow-remote)")
        })?;
    Ok(Endpoint {
        addr,
        url: url.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_follow_the_offered_load_up_to_the_cores() {
        let sized = Workers::Sized { cores: 14 };
        assert_eq!(sized.count(0.0), 1);
        assert_eq!(sized.count(19_900.0), 1);
        assert_eq!(sized.count(99_900.0), 2);
        assert_eq!(sized.count(150_000.0), 3);
        assert_eq!(sized.count(1_000_000.0), 14);
        assert_eq!(Workers::Sized { cores: 2 }.count(100_000.0), 2);
        assert_eq!(Workers::Fixed(12).count(100.0), 12);
    }

    #[test]
    fn auto_reads_through_io_uring_and_says_why_where_it_cannot() {
        let used = |uring, epoll, error: Option<&str>| IoUse {
            workers: 2,
            uring_workers: uring,
            epoll_workers: epoll,
            uring_error: error.map(str::to_owned),
        };
        let (ok, refused) = (Ok(()), Some("cannot set up io_uring: EPERM"));
        assert_eq!(
            io_used(IoChoice::Auto, ok, &used(2, 0, None)),
            (IoPath::Uring, None)
        );
        assert_eq!(
            io_used(IoChoice::Auto, ok, &used(0, 2, refused)),
            (IoPath::Epoll, refused.map(str::to_owned))
        );
        assert_eq!(
            io_used(IoChoice::Epoll, ok, &used(0, 2, None)),
            (IoPath::Epoll, None)
        );
        // Clients no batched receiver can serve: `auto` asked for nothing by name.
        assert_eq!(
            io_used(IoChoice::Auto, Err("TLS"), &used(0, 0, None)),
            (IoPath::Tokio, None)
        );
    }
}
