//! The server side of one measurement: the built-in server's nodes (one, or a cluster
//! sharing a Redis this starts), a server started from the scenario's command, or a target
//! of the user's (sampled if its pid is known); and what each process did.
//!
//! Every node is handled alike: sampled with its whole process tree, watched, counted; a
//! cluster's first node is not special. `docs/method.md` says how memory and CPU are
//! attributed.

use std::time::Instant;

use anyhow::Context;
use wsbench_core::CountersSnapshot;
use wsbench_core::io_path::{SendChoice, SendPath};
use wsbench_core::redis_server::RedisServer;
use wsbench_core::result::figures::NodeSample;
use wsbench_core::result::{ClusterFigures, NodeFigures};
use wsbench_core::scenario::Scenario;
use wsbench_core::system::{BuiltinServer, ServerSpec, System, TlsFiles};
use wsbench_loadgen::Endpoint;

use super::child::ServerChild;
use super::command::CommandChild;
use super::plan::{endpoint_for, server_args};
use super::procfs;
use super::proxy::FrontProxy;
use super::sampler::Sampler;

/// A server process, and how wsbench may handle it.
enum Process {
    /// A `wsbench serve` child: counters on request.
    Serve(ServerChild),
    /// A command's server, in a process group of its own.
    Command(CommandChild),
    /// A target's process: sampled, watched, never signalled.
    External,
}

/// One server process (a node; the only one unless clustered).
struct Node {
    /// `None` once it was killed on purpose.
    process: Option<Process>,
    pid: u32,
    addr: Option<std::net::SocketAddr>,
    sampler: Sampler,
    baseline_rss: u64,
    idle_rss: u64,
    /// CPU at the window's start (0 for a process started after it).
    cpu_start: f64,
    /// CPU over the window of processes already gone (killed ones).
    cpu_s: f64,
    /// Its process tree's CPU when it was killed on purpose: what it adds to the servers'
    /// CPU from then on, so that the other nodes' per-block CPU is still read.
    cpu_at_kill: Option<f64>,
    killed_at_s: Option<f64>,
    counters: Option<CountersSnapshot>,
    counters_window_end: Option<CountersSnapshot>,
    cpus: Option<String>,
}

impl Node {
    fn new(process: Process, pid: u32, addr: Option<std::net::SocketAddr>) -> Node {
        Node {
            pid,
            addr,
            sampler: Sampler::start(pid),
            baseline_rss: procfs::tree_rss(pid).unwrap_or(0),
            cpus: procfs::cpus_allowed(pid),
            process: Some(process),
            idle_rss: 0,
            cpu_start: 0.0,
            cpu_s: 0.0,
            cpu_at_kill: None,
            killed_at_s: None,
            counters: None,
            counters_window_end: None,
        }
    }

    /// CPU since the window began, of the process tree running now.
    fn window_cpu(&self) -> f64 {
        procfs::tree_cpu(self.pid).map_or(0.0, |c| c - self.cpu_start)
    }

    /// Why it is gone, if it is.
    fn exited(&mut self) -> Option<String> {
        match self.process.as_mut()? {
            Process::Serve(c) => c.exited(),
            Process::Command(c) => c.exited(),
            Process::External => (procfs::rss_bytes(self.pid).is_none())
                .then(|| format!("the target's process {} exited", self.pid)),
        }
    }

    async fn counters_now(&mut self) -> Option<CountersSnapshot> {
        match self.process.as_mut()? {
            Process::Serve(c) => match c.exited() {
                None => c.counters().await.ok(),
                Some(_) => None,
            },
            _ => None,
        }
    }

    /// Ends the process if it is wsbench's: SIGKILL when `crash`, else SIGTERM first.
    async fn end(&mut self, crash: bool) {
        match self.process.take() {
            Some(Process::Serve(c)) if crash => c.kill().await,
            Some(Process::Serve(c)) => c.stop().await,
            Some(Process::Command(c)) if crash => c.kill().await,
            Some(Process::Command(c)) => c.stop().await,
            Some(Process::External) | None => {}
        }
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
    cpus: Option<wsbench_core::cpus::CpuSet>,
    load: Option<(Instant, Instant)>,
    proxy: Option<FrontProxy>,
}

/// What the servers did, once stopped.
pub struct Stopped {
    /// The proxy in front, if one was.
    pub proxy: Option<wsbench_core::result::ProxyFigures>,
    /// Every node, in order (empty for a target without a pid).
    pub nodes: Vec<NodeSample>,
    /// A cluster's figures (Redis's, and every node's).
    pub cluster: Option<ClusterFigures>,
}

impl Servers {
    fn new(scenario: &Scenario) -> Servers {
        Servers {
            nodes: Vec::new(),
            redis: None,
            endpoints: Vec::new(),
            serve: None,
            cpus: scenario.server_cpus.clone(),
            load: None,
            proxy: None,
        }
    }

    /// Starts `system`'s server: `scenario.nodes` built-in nodes (with a Redis when more
    /// than one), its command, or nothing for a target.
    pub async fn start(
        scenario: &Scenario,
        system: &System,
        tls: Option<&TlsFiles>,
        io: SendChoice,
    ) -> anyhow::Result<Servers> {
        let mut servers = Servers::new(scenario);
        match &system.server {
            ServerSpec::Target { url, pid } => {
                servers.endpoints.push(endpoint_for(scenario, system, url)?);
                if let Some(pid) = *pid {
                    procfs::rss_bytes(pid)
                        .with_context(|| format!("the target's process {pid} is not running"))?;
                    servers.nodes.push(Node::new(Process::External, pid, None));
                }
            }
            ServerSpec::Command(spec) => {
                let timeout = spec.ready_timeout.0;
                let tls = tls.filter(|_| system.tls);
                let child = CommandChild::spawn(spec, servers.cpus.as_ref(), tls, timeout).await?;
                let scheme = if tls.is_some() { "wss" } else { "ws" };
                let url = format!("{scheme}://{}{}", child.addr, spec.path);
                servers
                    .endpoints
                    .push(endpoint_for(scenario, system, &url)?);
                let (pid, addr) = (child.pid, child.addr);
                servers
                    .nodes
                    .push(Node::new(Process::Command(child), pid, Some(addr)));
            }
            ServerSpec::Builtin(builtin) => {
                let tls = tls.filter(|_| system.tls);
                servers
                    .start_builtin(scenario, system, builtin.as_str(), tls, io)
                    .await?;
            }
        }
        Ok(servers)
    }

    async fn start_builtin(
        &mut self,
        scenario: &Scenario,
        system: &System,
        builtin: &'static str,
        tls: Option<&TlsFiles>,
        io: SendChoice,
    ) -> anyhow::Result<()> {
        let mut args = server_args(scenario);
        if builtin == BuiltinServer::Ws.as_str() {
            args.extend(["--io".to_owned(), io.to_string()]);
        }
        if let Some(files) = tls {
            for (flag, path) in [("--tls-cert", &files.cert), ("--tls-key", &files.key)] {
                args.extend([flag.to_owned(), path.display().to_string()]);
            }
        }
        if scenario.nodes > 1 {
            let server =
                RedisServer::start().context("cannot start redis-server for the cluster")?;
            args.extend(["--redis".to_owned(), server.url()]);
            let sampler = Sampler::start(server.pid());
            self.redis = Some(Redis {
                server,
                sampler,
                cpu_start: 0.0,
                cpu_s: 0.0,
            });
        }
        self.serve = Some((builtin, args));
        for _ in 0..scenario.nodes {
            let child = self.spawn("127.0.0.1:0").await?;
            let scheme = if tls.is_some() { "wss" } else { "ws" };
            let url = format!("{scheme}://{}/", child.addr);
            self.endpoints.push(endpoint_for(scenario, system, &url)?);
            let (pid, addr) = (child.pid, child.addr);
            self.nodes
                .push(Node::new(Process::Serve(child), pid, Some(addr)));
        }
        Ok(())
    }

    async fn spawn(&self, listen: &str) -> anyhow::Result<ServerChild> {
        let (server, args) = self.serve.as_ref().expect("built-in servers");
        ServerChild::spawn(server, listen, args, self.cpus.as_ref())
            .await
            .with_context(|| format!("the {server} server did not start"))
    }

    /// How the first node wrote its broadcasts, where it said (a built-in ws server).
    pub fn send_path(&self) -> Option<(SendPath, Option<String>)> {
        self.nodes.iter().find_map(|n| match &n.process {
            Some(Process::Serve(child)) => child.send_path.clone(),
            _ => None,
        })
    }

    /// Puts `proxy` in front of the server: clients connect to it from now on.
    pub fn front_with(&mut self, proxy: FrontProxy) {
        // One front for all nodes: the proxy, not the load generator, places each client.
        self.endpoints = vec![proxy.front(&self.endpoints[0])];
        self.proxy = Some(proxy);
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
        if let Some(why) = self.proxy.as_mut().and_then(FrontProxy::died) {
            return Some(why);
        }
        let many = self.nodes.len() > 1;
        self.nodes.iter_mut().enumerate().find_map(|(i, n)| {
            let why = n.exited()?;
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
            n.idle_rss = procfs::tree_rss(n.pid).unwrap_or(0);
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

    /// Every node's process-tree CPU now, seconds; `None` without a process to read (a
    /// target without a pid, a node killed) or when one cannot be read.
    pub fn cpu_now(&self) -> Option<f64> {
        if self.nodes.is_empty() {
            return None;
        }
        self.nodes
            .iter()
            .map(|n| match n.process {
                Some(_) => procfs::tree_cpu(n.pid),
                None => n.cpu_at_kill,
            })
            .sum()
    }

    /// The servers' [`procfs::Demand`] now, every node's process tree summed; `None` where
    /// one cannot be read.
    pub fn demand_now(&self) -> Option<procfs::Demand> {
        if self.nodes.is_empty() {
            return None;
        }
        self.nodes
            .iter()
            .map(|n| n.process.as_ref().and_then(|_| procfs::tree_demand(n.pid)))
            .try_fold(procfs::Demand::default(), |sum, d| Some(sum.plus(d?)))
    }

    /// The counters now, summed over nodes (built-in servers only).
    pub async fn counters_now(&mut self) -> Option<CountersSnapshot> {
        let mut sum: Option<CountersSnapshot> = None;
        for n in &mut self.nodes {
            let c = n.counters_now().await?;
            sum = Some(sum.map_or(c, |s| s.plus(c)));
        }
        sum
    }

    /// The measured window begins: CPU from now, and the counters (summed over nodes).
    pub async fn window_started(&mut self) -> Option<CountersSnapshot> {
        for n in &mut self.nodes {
            n.cpu_start = procfs::tree_cpu(n.pid).unwrap_or(0.0);
        }
        if let Some(r) = self.redis.as_mut() {
            r.cpu_start = procfs::cpu_seconds(r.server.pid()).unwrap_or(0.0);
        }
        if let Some(p) = self.proxy.as_mut() {
            p.window_started();
        }
        self.counters_now().await
    }

    /// The measured window ended: each node's CPU over it, and the counters then.
    pub async fn window_ended(&mut self) -> Option<CountersSnapshot> {
        for n in self.nodes.iter_mut().filter(|n| n.process.is_some()) {
            n.cpu_s += n.window_cpu();
            n.counters_window_end = n.counters_now().await;
        }
        if let Some(r) = self.redis.as_mut() {
            r.cpu_s = procfs::cpu_seconds(r.server.pid()).map_or(0.0, |c| c - r.cpu_start);
        }
        if let Some(p) = self.proxy.as_mut() {
            p.window_ended();
        }
        let mut sum = None;
        for c in self.nodes.iter().filter_map(|n| n.counters_window_end) {
            sum = Some(sum.map_or(c, |s: CountersSnapshot| s.plus(c)));
        }
        sum
    }

    /// SIGKILLs the last node, `at_s` into the window; returns its index.
    pub async fn kill_last(&mut self, at_s: f64) -> Option<usize> {
        let index = self.nodes.len().checked_sub(1)?;
        let node = &mut self.nodes[index];
        node.cpu_s += node.window_cpu();
        node.cpu_at_kill = procfs::tree_cpu(node.pid);
        node.killed_at_s = Some(at_s);
        node.end(true).await;
        Some(index)
    }

    /// SIGKILLs the (single) server, as a crash would, keeping its CPU up to its death.
    pub async fn kill_for_outage(&mut self) -> anyhow::Result<()> {
        let node = self
            .nodes
            .first_mut()
            .context("no built-in server to kill")?;
        anyhow::ensure!(node.process.is_some(), "the server is already down");
        node.cpu_s += node.window_cpu();
        node.end(true).await;
        Ok(())
    }

    /// Starts a new server where the killed one listened; sampling and CPU follow it.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        let addr = self
            .nodes
            .first()
            .and_then(|n| n.addr)
            .context("no built-in server")?;
        let child = self
            .spawn(&addr.to_string())
            .await
            .context("the restarted server did not start")?;
        let node = &mut self.nodes[0];
        node.sampler.follow(child.pid);
        node.pid = child.pid;
        node.cpu_start = 0.0;
        node.process = Some(Process::Serve(child));
        Ok(())
    }

    /// Reads the running nodes' final counters and stops everything: what each did.
    pub async fn stop(mut self, clients: u64) -> Stopped {
        for n in &mut self.nodes {
            n.counters = n.counters_now().await;
            n.end(false).await;
        }
        let (from, to) = self.load.unwrap_or((Instant::now(), Instant::now()));
        let proxied = self.proxy.is_some();
        let proxy = match self.proxy.take() {
            Some(p) => Some(p.stop((from, to)).await),
            None => None,
        };
        let count = self.nodes.len() as u64;
        let nodes: Vec<NodeSample> = self
            .nodes
            .into_iter()
            .enumerate()
            .map(|(i, n)| {
                // Behind a proxy the proxy placed the clients: what each node counted.
                let placed = if proxied {
                    n.counters.map_or(0, |c| c.connections_total)
                } else {
                    clients / count + u64::from((i as u64) < clients % count)
                };
                sample(n, placed, (from, to))
            })
            .collect();
        let cluster = self.redis.map(|r| ClusterFigures {
            nodes: nodes.iter().map(|n| n.figures.clone()).collect(),
            cross_node_latency: Default::default(),
            redis_cpu_s: r.cpu_s,
            redis_rss_peak_bytes: r.sampler.peak_between(from, to),
        });
        Stopped {
            nodes,
            cluster,
            proxy,
        }
    }
}

/// A node's figures, `clients` having been placed on it; `load` is when traffic ran.
fn sample(n: Node, clients: u64, load: (Instant, Instant)) -> NodeSample {
    let peak = n.sampler.peak_between(load.0, load.1);
    let samples = n.sampler.finish();
    NodeSample {
        figures: NodeFigures {
            pid: n.pid,
            clients,
            rss_baseline_bytes: n.baseline_rss,
            rss_idle_bytes: n.idle_rss,
            rss_peak_bytes: peak,
            cpu_s: n.cpu_s,
            counters: n.counters,
            killed_at_s: n.killed_at_s,
            cpus: n.cpus,
        },
        rss_samples: samples.iter().map(|s| (s.t_s, s.rss_bytes)).collect(),
        counters_window_end: n.counters_window_end,
    }
}
