//! The server side of one measurement: the built-in server's nodes (one, or a cluster
//! sharing a Redis this starts), or a target of the user's; what each process did.
//!
//! Every node is handled alike: sampled, watched, counted; a cluster's first node is not
//! special. `docs/method.md` says how memory and CPU are attributed.

use std::time::Instant;

use anyhow::Context;
use wsbench_core::CountersSnapshot;
use wsbench_core::redis_server::RedisServer;
use wsbench_core::result::figures::NodeSample;
use wsbench_core::result::{ClusterFigures, NodeFigures};
use wsbench_core::scenario::Scenario;
use wsbench_core::system::{ServerSpec, System};
use wsbench_loadgen::Endpoint;

use super::child::ServerChild;
use super::plan::{endpoint_for, server_args};
use super::procfs::{self, Sampler};

/// One `wsbench serve` process (a node; the only one unless clustered).
struct Node {
    child: Option<ServerChild>,
    pid: u32,
    addr: std::net::SocketAddr,
    sampler: Sampler,
    baseline_rss: u64,
    idle_rss: u64,
    /// CPU at the window's start (0 for a process started after it).
    cpu_start: f64,
    /// CPU over the window of processes already gone (killed ones).
    cpu_s: f64,
    killed_at_s: Option<f64>,
    counters: Option<CountersSnapshot>,
    counters_window_end: Option<CountersSnapshot>,
}

impl Node {
    fn new(child: ServerChild) -> Node {
        Node {
            pid: child.pid,
            addr: child.addr,
            sampler: Sampler::start(child.pid),
            baseline_rss: procfs::rss_bytes(child.pid).unwrap_or(0),
            child: Some(child),
            idle_rss: 0,
            cpu_start: 0.0,
            cpu_s: 0.0,
            killed_at_s: None,
            counters: None,
            counters_window_end: None,
        }
    }

    /// CPU since the window began, of the process running now.
    fn window_cpu(&self) -> f64 {
        procfs::cpu_seconds(self.pid).map_or(0.0, |c| c - self.cpu_start)
    }

    async fn counters_now(&mut self) -> Option<CountersSnapshot> {
        let child = self.child.as_mut()?;
        if child.exited().is_some() {
            return None;
        }
        child.counters().await.ok()
    }
}

/// A cluster's Redis.
struct Redis {
    server: RedisServer,
    sampler: Sampler,
    cpu_start: f64,
    cpu_s: f64,
}

/// The system under test's server processes, or its target.
pub struct Servers {
    nodes: Vec<Node>,
    redis: Option<Redis>,
    endpoints: Vec<Endpoint>,
    /// `wsbench serve` and its options, to restart a killed node.
    serve: Option<(&'static str, Vec<String>)>,
    load: Option<(Instant, Instant)>,
}

/// What the servers did, once stopped.
pub struct Stopped {
    /// Every node, in order (empty for a target).
    pub nodes: Vec<NodeSample>,
    /// A cluster's figures (Redis's, and every node's).
    pub cluster: Option<ClusterFigures>,
}

impl Servers {
    /// Starts `system`'s server: `scenario.nodes` built-in nodes (with a Redis when more
    /// than one), or nothing for a target.
    pub async fn start(scenario: &Scenario, system: &System) -> anyhow::Result<Servers> {
        let protocol = system.protocol;
        let builtin = match &system.server {
            ServerSpec::Target(url) => {
                return Ok(Servers {
                    nodes: Vec::new(),
                    redis: None,
                    endpoints: vec![endpoint_for(protocol, url)?],
                    serve: None,
                    load: None,
                });
            }
            ServerSpec::Builtin(b) => b.as_str(),
        };
        let mut args = server_args(scenario);
        let redis = if scenario.nodes > 1 {
            let server =
                RedisServer::start().context("cannot start redis-server for the cluster")?;
            args.extend(["--redis".to_owned(), server.url()]);
            let sampler = Sampler::start(server.pid());
            Some(Redis {
                server,
                sampler,
                cpu_start: 0.0,
                cpu_s: 0.0,
            })
        } else {
            None
        };
        let mut servers = Servers {
            nodes: Vec::new(),
            redis,
            endpoints: Vec::new(),
            serve: Some((builtin, args)),
            load: None,
        };
        for _ in 0..scenario.nodes {
            let child = servers.spawn("127.0.0.1:0").await?;
            servers
                .endpoints
                .push(endpoint_for(protocol, &format!("ws://{}/", child.addr))?);
            servers.nodes.push(Node::new(child));
        }
        Ok(servers)
    }

    async fn spawn(&self, listen: &str) -> anyhow::Result<ServerChild> {
        let (server, args) = self.serve.as_ref().expect("built-in servers");
        ServerChild::spawn(server, listen, args)
            .await
            .with_context(|| format!("the {server} server did not start"))
    }

    /// Where clients connect: client `i` to `endpoints[i % len]`.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        self.endpoints.clone()
    }

    /// The server's URL, for the result.
    pub fn url(&self) -> &str {
        &self.endpoints[0].url
    }

    /// Whether this is a cluster.
    pub fn is_cluster(&self) -> bool {
        self.redis.is_some()
    }

    /// Why a node that should be running is not, if one is not.
    pub fn died(&mut self) -> Option<String> {
        let many = self.nodes.len() > 1;
        self.nodes.iter_mut().enumerate().find_map(|(i, n)| {
            let why = n.child.as_mut()?.exited()?;
            Some(if many {
                format!("node {i}: {why}")
            } else {
                why
            })
        })
    }

    /// All clients connected and settled: every node's idle memory.
    pub fn settled(&mut self) {
        for n in &mut self.nodes {
            n.idle_rss = procfs::rss_bytes(n.pid).unwrap_or(0);
        }
    }

    /// Traffic began: peak memory counts from now.
    pub fn load_started(&mut self) {
        self.load = Some((Instant::now(), Instant::now()));
    }

    /// The drain ended (or the run stopped): peak memory counts up to now.
    pub fn load_ended(&mut self) {
        if let Some((_, end)) = self.load.as_mut() {
            *end = Instant::now();
        }
    }

    /// The measured window begins: CPU from now, and the counters (summed over nodes).
    pub async fn window_started(&mut self) -> Option<CountersSnapshot> {
        for n in &mut self.nodes {
            n.cpu_start = procfs::cpu_seconds(n.pid).unwrap_or(0.0);
        }
        if let Some(r) = self.redis.as_mut() {
            r.cpu_start = procfs::cpu_seconds(r.server.pid()).unwrap_or(0.0);
        }
        self.counters().await
    }

    /// The measured window ended: each node's CPU over it, and the counters then.
    pub async fn window_ended(&mut self) -> Option<CountersSnapshot> {
        for n in self.nodes.iter_mut().filter(|n| n.child.is_some()) {
            n.cpu_s += n.window_cpu();
            n.counters_window_end = n.counters_now().await;
        }
        if let Some(r) = self.redis.as_mut() {
            r.cpu_s = procfs::cpu_seconds(r.server.pid()).map_or(0.0, |c| c - r.cpu_start);
        }
        let mut sum = None;
        for c in self.nodes.iter().filter_map(|n| n.counters_window_end) {
            sum = Some(sum.map_or(c, |s: CountersSnapshot| s.plus(c)));
        }
        sum
    }

    async fn counters(&mut self) -> Option<CountersSnapshot> {
        let mut sum: Option<CountersSnapshot> = None;
        for n in &mut self.nodes {
            let c = n.counters_now().await?;
            sum = Some(sum.map_or(c, |s| s.plus(c)));
        }
        sum
    }

    /// SIGKILLs the last node, `at_s` into the window; returns its index.
    pub async fn kill_last(&mut self, at_s: f64) -> Option<usize> {
        let index = self.nodes.len().checked_sub(1)?;
        let node = &mut self.nodes[index];
        node.cpu_s += node.window_cpu();
        node.killed_at_s = Some(at_s);
        node.child.take()?.kill().await;
        Some(index)
    }

    /// SIGKILLs the (single) server, as a crash would, keeping its CPU up to its death.
    pub async fn kill_for_outage(&mut self) -> anyhow::Result<()> {
        let node = self
            .nodes
            .first_mut()
            .context("no built-in server to kill")?;
        let child = node.child.take().context("the server is already down")?;
        node.cpu_s += node.window_cpu();
        child.kill().await;
        Ok(())
    }

    /// Starts a new server where the killed one listened; sampling and CPU follow it.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        let addr = self.nodes.first().context("no built-in server")?.addr;
        let child = self
            .spawn(&addr.to_string())
            .await
            .context("the restarted server did not start")?;
        let node = &mut self.nodes[0];
        node.sampler.follow(child.pid);
        node.pid = child.pid;
        node.cpu_start = 0.0;
        node.child = Some(child);
        Ok(())
    }

    /// Reads the running nodes' final counters and stops everything: what each did.
    pub async fn stop(mut self, clients: u64) -> Stopped {
        for n in &mut self.nodes {
            if let Some(child) = n.child.as_mut()
                && child.exited().is_none()
            {
                n.counters = child.counters().await.ok();
            }
            if let Some(child) = n.child.take() {
                child.stop().await;
            }
        }
        let (from, to) = self.load.unwrap_or((Instant::now(), Instant::now()));
        let count = self.nodes.len() as u64;
        let nodes: Vec<NodeSample> = self
            .nodes
            .into_iter()
            .enumerate()
            .map(|(i, n)| {
                let peak = n.sampler.peak_between(from, to);
                let samples = n.sampler.finish();
                NodeSample {
                    figures: NodeFigures {
                        pid: n.pid,
                        clients: clients / count + u64::from((i as u64) < clients % count),
                        rss_baseline_bytes: n.baseline_rss,
                        rss_idle_bytes: n.idle_rss,
                        rss_peak_bytes: peak,
                        cpu_s: n.cpu_s,
                        counters: n.counters,
                        killed_at_s: n.killed_at_s,
                    },
                    rss_samples: samples.iter().map(|s| (s.t_s, s.rss_bytes)).collect(),
                    counters_window_end: n.counters_window_end,
                }
            })
            .collect();
        let cluster = self.redis.map(|r| ClusterFigures {
            nodes: nodes.iter().map(|n| n.figures.clone()).collect(),
            cross_node_latency: Default::default(),
            redis_cpu_s: r.cpu_s,
            redis_rss_peak_bytes: r.sampler.peak_between(from, to),
        });
        Stopped { nodes, cluster }
    }
}
