//! From the scenario to what the load generator and the servers are asked to do.

use std::time::Duration;

use anyhow::Context;
use wsbench_core::scenario::{Mode, Scenario};
use wsbench_core::system::{Protocol, System};
use wsbench_loadgen::{Backoff, ClientLibrary, Endpoint, LoadPlan, Scope};

use super::measure::RunCtx;

/// Longest one connection attempt may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The load of one measurement of `system`, its clients spread over `endpoints`.
pub fn load_plan(ctx: &RunCtx<'_>, system: &System, endpoints: Vec<Endpoint>) -> LoadPlan {
    let s = ctx.scenario;
    LoadPlan {
        protocol: system.protocol,
        client: ClientLibrary::choose(system.protocol, s.socketio_client),
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
        payload: s.payload as usize,
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

/// Where a client of `protocol` connects on the server at `url`: its TCP address (on
/// loopback) and its WebSocket URL, with the protocol's path.
pub fn endpoint_for(protocol: Protocol, url: &str) -> anyhow::Result<Endpoint> {
    let mut url = url::Url::parse(url).with_context(|| format!("'{url}' is not a URL"))?;
    if url.scheme() == "http" {
        url.set_scheme("ws").expect("http to ws is allowed");
    }
    if let Some((path, query)) = protocol.spec().endpoint_path {
        url.set_path(path);
        url.set_query(Some(query));
    }
    let addr = url
        .socket_addrs(|| Some(80))
        .with_context(|| format!("cannot resolve {url}"))?
        .into_iter()
        .find(|a| a.ip().is_loopback())
        .with_context(|| format!("{url} does not resolve to a loopback address"))?;
    Ok(Endpoint {
        addr,
        url: url.to_string(),
    })
}
