//! A clustered server under test: nodes beyond the first (which the transport run treats as
//! "the server"), and the Redis they share, with their figures.

use std::time::Instant;

use anyhow::Context;
use wsbench_core::histogram::HistogramFigures;
use wsbench_core::redis_server::RedisServer;
use wsbench_core::result::{ClusterFigures, NodeFigures, ServerFigures};

use super::child::ServerChild;
use super::procfs::{self, Sampler};

/// Nodes 1..K of a cluster and its Redis; empty for a single server.
#[derive(Default)]
pub struct Cluster {
    redis: Option<(RedisServer, Sampler)>,
    nodes: Vec<Node>,
    redis_cpu_start: f64,
    redis_cpu_s: f64,
}

struct Node {
    child: Option<ServerChild>,
    pid: u32,
    sampler: Sampler,
    baseline_rss: u64,
    idle_rss: u64,
    cpu_start: f64,
    cpu_s: f64,
    killed_at_s: Option<f64>,
    counters: Option<wsbench_core::CountersSnapshot>,
}

impl Cluster {
    /// Starts Redis when `nodes > 1`; returns the cluster and the `wsbench serve` options
    /// every node needs.
    pub fn redis(nodes: u64) -> anyhow::Result<(Cluster, Vec<String>)> {
        if nodes < 2 {
            return Ok((Cluster::default(), Vec::new()));
        }
        let redis = RedisServer::start().context("cannot start redis-server for the cluster")?;
        let args = vec!["--redis".to_owned(), redis.url()];
        let sampler = Sampler::start(redis.pid());
        Ok((
            Cluster {
                redis: Some((redis, sampler)),
                ..Default::default()
            },
            args,
        ))
    }

    /// Adds a started node.
    pub fn add(&mut self, child: ServerChild) {
        self.nodes.push(Node {
            pid: child.pid,
            sampler: Sampler::start(child.pid),
            baseline_rss: procfs::rss_bytes(child.pid).unwrap_or(0),
            child: Some(child),
            idle_rss: 0,
            cpu_start: 0.0,
            cpu_s: 0.0,
            killed_at_s: None,
            counters: None,
        });
    }

    /// Where each added node listens.
    pub fn addrs(&self) -> Vec<std::net::SocketAddr> {
        self.nodes
            .iter()
            .filter_map(|n| n.child.as_ref().map(|c| c.addr))
            .collect()
    }

    /// Whether this is a cluster at all.
    pub fn is_cluster(&self) -> bool {
        self.redis.is_some()
    }

    /// All clients connected and settled: idle memory.
    pub fn settled(&mut self) {
        for n in &mut self.nodes {
            n.idle_rss = procfs::rss_bytes(n.pid).unwrap_or(0);
        }
    }

    /// The measured window begins.
    pub fn window_started(&mut self) {
        for n in &mut self.nodes {
            n.cpu_start = procfs::cpu_seconds(n.pid).unwrap_or(0.0);
        }
        if let Some((redis, _)) = &self.redis {
            self.redis_cpu_start = procfs::cpu_seconds(redis.pid()).unwrap_or(0.0);
        }
    }

    /// The measured window ended.
    pub fn window_ended(&mut self) {
        for n in self.nodes.iter_mut().filter(|n| n.child.is_some()) {
            n.cpu_s = procfs::cpu_seconds(n.pid).map_or(0.0, |c| c - n.cpu_start);
        }
        if let Some((redis, _)) = &self.redis {
            self.redis_cpu_s =
                procfs::cpu_seconds(redis.pid()).map_or(0.0, |c| c - self.redis_cpu_start);
        }
    }

    /// Kills (SIGKILL) the last node, `at_s` into the measured window; returns its index
    /// in the cluster (node 0 being the transport run's own server).
    pub async fn kill_last(&mut self, at_s: f64) -> Option<usize> {
        let index = self.nodes.len();
        let node = self.nodes.last_mut()?;
        node.cpu_s = procfs::cpu_seconds(node.pid).map_or(0.0, |c| c - node.cpu_start);
        node.killed_at_s = Some(at_s);
        node.child.take()?.kill().await;
        Some(index)
    }

    /// Reads the surviving nodes' counters and stops them and Redis.
    pub async fn stop(&mut self) {
        for n in &mut self.nodes {
            if let Some(mut child) = n.child.take() {
                if child.exited().is_none() {
                    n.counters = child.counters().await.ok();
                }
                child.stop().await;
            }
        }
    }

    /// The figures of every node (node 0 from `first`) and of Redis, for a cluster.
    pub fn figures(
        self,
        first: Option<&ServerFigures>,
        clients: u64,
        load_start: Instant,
        cross_node_latency: HistogramFigures,
    ) -> Option<ClusterFigures> {
        let (_, redis_sampler) = self.redis?;
        let count = self.nodes.len() as u64 + 1;
        let clients_of = |node: u64| clients / count + u64::from(node < clients % count);
        let mut nodes = vec![NodeFigures {
            pid: first.map_or(0, |f| f.pid),
            clients: clients_of(0),
            rss_baseline_bytes: first.map_or(0, |f| f.rss_baseline_bytes),
            rss_idle_bytes: first.map_or(0, |f| f.rss_idle_bytes),
            rss_peak_bytes: first.map_or(0, |f| f.rss_peak_bytes),
            cpu_s: first.map_or(0.0, |f| f.cpu_s),
            counters: first.and_then(|f| f.counters),
            killed_at_s: None,
        }];
        for (i, n) in self.nodes.into_iter().enumerate() {
            let peak = n.sampler.peak_after(load_start);
            nodes.push(NodeFigures {
                pid: n.pid,
                clients: clients_of(i as u64 + 1),
                rss_baseline_bytes: n.baseline_rss,
                rss_idle_bytes: n.idle_rss,
                rss_peak_bytes: peak,
                cpu_s: n.cpu_s,
                counters: n.counters,
                killed_at_s: n.killed_at_s,
            });
        }
        Some(ClusterFigures {
            nodes,
            cross_node_latency,
            redis_cpu_s: self.redis_cpu_s,
            redis_rss_peak_bytes: redis_sampler.peak_after(load_start),
        })
    }
}
