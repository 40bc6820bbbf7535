//! From the scenario to what the load generator and the servers are asked to do.

use std::time::Duration;

use anyhow::Context;
use wsbench_core::scenario::{Mode, Scenario};
use wsbench_core::system::System;
use wsbench_loadgen::{Backoff, ClientLibrary, Endpoint, LoadPlan, Scope};

use super::measure::RunCtx;

/// Longest one connection attempt may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The load of one measurement of `system`, its clients spread over `endpoints`.
pub fn load_plan(ctx: &RunCtx<'_>, system: &System, endpoints: Vec<Endpoint>) -> LoadPlan {
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
        adapter: std::sync::Arc::new(adapter),
        messages_per_sender: s.messages_per_sender(),
        ramp_interval: s.ramp.interval(s.clients),
        workers: ctx.workers,
        connect_timeout: CONNECT_TIMEOUT,
        reconnect: s
            .outage
            .map(|o| Backoff::new(o.reconnect_delay.0, o.reconnect_delay_max.0)),
        shard: ctx.shard,
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
    if url.scheme() == "http" {
        url.set_scheme("ws").expect("http to ws is allowed");
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
        .socket_addrs(|| Some(80))
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
