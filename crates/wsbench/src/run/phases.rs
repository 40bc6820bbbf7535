//! The phases of one measurement, one function each: connect, settle, start the traffic,
//! warm up, the measured window (with a planned outage or node kill inside it), drain.
//! Every wait watches for a dead server and for Ctrl-C, in 100 ms steps.

use std::time::{Duration, SystemTime};

use wsbench_core::CountersSnapshot;
use wsbench_core::clock::monotonic_ns;
use wsbench_loadgen::{LiveSnapshot, LoadGen, Timeline};

use super::heap;
use super::measure::RunCtx;
use super::plan::CONNECT_TIMEOUT;
use super::procfs::{self, MachineReading};
use super::servers::Servers;

/// Time between all clients being connected and the idle memory reading.
const SETTLE: Duration = Duration::from_secs(1);
/// Longest wait between two looks at the server and at Ctrl-C.
const TICK: Duration = Duration::from_millis(100);

/// Why the phases stopped early.
pub enum Stop {
    /// A server process died (or never took a client).
    ServerDied(String),
    /// The run could not go on as planned (a start time already passed).
    Failed(String),
    /// The user pressed Ctrl-C.
    Interrupted,
}

/// What the phases observed, whether or not they all ran.
#[derive(Debug, Default)]
pub struct Observed {
    /// The phase reached.
    pub phase: &'static str,
    /// This process's memory ([`super::heap::footprint`]) once every client was connected
    /// and settled.
    pub loadgen_idle_memory: u64,
    /// Load-generator CPU over the window, seconds.
    pub loadgen_cpu_s: f64,
    /// How long the window actually ran, seconds.
    pub window_s: f64,
    /// The load generator's live totals when the window began and ended.
    pub live_start: LiveSnapshot,
    /// See `live_start`.
    pub live_end: LiveSnapshot,
    /// The traffic's timeline, once published.
    pub timeline: Option<Timeline>,
    /// The planned outage, once the server was killed and restarted.
    pub outage: Option<OutageRecord>,
    /// The servers' counters when the window began and ended (built-in servers).
    pub server_start: Option<CountersSnapshot>,
    /// See `server_start`.
    pub server_end: Option<CountersSnapshot>,
    /// The servers' cumulative CPU seconds at each block boundary of the window, scaled
    /// to the boundary's planned time (`None` where unreadable or after a kill).
    pub block_cpu: Vec<Option<f64>>,
    /// The calibration kernel's CPU time, ms, timed at the end of each block.
    pub block_kernel: Vec<f64>,
    /// What went to other guests and other processes over each block (docs/method.md,
    /// "Calibration").
    pub block_interference: Vec<super::procfs::Interference>,
    /// The load generator's and the servers' wait shares over each block (docs/method.md,
    /// "Validity").
    pub block_wait: Vec<(Option<f64>, Option<f64>)>,
    /// The load generator's live totals when the drain ended: what the clients had read
    /// and written, against the server's counters then (a loss's causes).
    pub live_drained: Option<LiveSnapshot>,
    /// The servers' counters when the drain ended.
    pub server_drained: Option<CountersSnapshot>,
}

/// When a planned outage happened.
#[derive(Debug, Clone, Copy)]
pub struct OutageRecord {
    /// When the server was killed (CLOCK_MONOTONIC ns).
    pub kill_ns: u64,
    /// When its replacement was ready.
    pub ready_ns: u64,
    /// Clients connected just before the kill.
    pub clients_at_kill: u64,
}

/// Runs every phase; returns what was observed and, if they stopped early, why.
pub async fn run(
    ctx: &RunCtx<'_>,
    load: &LoadGen,
    servers: &mut Servers,
) -> (Observed, Option<Stop>) {
    let mut phases = Phases {
        ctx,
        load,
        servers,
        seen: Observed::default(),
        live: super::live_view::LiveView::new(load),
        phase_end_ns: 0,
    };
    let stop = phases.all().await.err();
    phases.servers.load_ended();
    (phases.seen, stop)
}

struct Phases<'a, 'c> {
    ctx: &'a RunCtx<'c>,
    load: &'a LoadGen,
    servers: &'a mut Servers,
    seen: Observed,
    /// Deliveries per second and p99 of the last seconds, for the progress line.
    live: super::live_view::LiveView,
    /// The end of the phase under way (the window's, while it is waited out block by
    /// block): what the progress line counts down to.
    phase_end_ns: u64,
}

impl Phases<'_, '_> {
    async fn all(&mut self) -> Result<(), Stop> {
        self.connect().await?;
        self.settle().await?;
        let timeline = self.start_traffic()?;
        self.seen.phase = "warm-up";
        self.wait_until(timeline.measure_start_ns, "warm-up")
            .await?;
        self.window(&timeline).await?;
        self.seen.phase = "drain";
        self.wait_until(timeline.drain_end_ns, "draining").await?;
        self.seen.live_drained = Some(self.load.live());
        self.seen.server_drained = self.servers.counters_now().await;
        Ok(())
    }

    /// Until every client of this process connected or failed, or the ramp plus one
    /// attempt is over.
    async fn connect(&mut self) -> Result<(), Stop> {
        self.seen.phase = "connect";
        let s = self.ctx.scenario;
        let ramp = s.ramp.interval(s.clients) * s.clients as u32;
        let deadline =
            monotonic_ns() + (ramp + CONNECT_TIMEOUT + Duration::from_secs(5)).as_nanos() as u64;
        let own = self.ctx.own_clients;
        loop {
            let live = self.load.live();
            self.ctx.progress.set_message(format!(
                "connecting {}/{own} ({} failed)",
                live.connected, live.failed
            ));
            if live.connected + live.failed >= own || monotonic_ns() >= deadline {
                break;
            }
            self.tick(monotonic_ns() + TICK.as_nanos() as u64).await?;
        }
        let live = self.load.live();
        if live.connected == 0 {
            let nodes = self.ctx.scenario.nodes;
            let blocked = match &self.ctx.scenario.proxy {
                Some(p) if !p.upgrade => {
                    " (through the proxy, which does not pass the WebSocket upgrade on: \
                     [proxy] upgrade = false)"
                }
                Some(p) if nodes > 1 && !p.sticky() => {
                    " (through the proxy in front of the cluster, without sticky sessions: a \
                     long-polling session's requests reach nodes that did not open it, which \
                     answer 400 \"Session ID unknown\"; [proxy] sticky = true keeps each \
                     client on one node)"
                }
                _ => "",
            };
            let why = format!(
                "no client could connect to {}{}{blocked}",
                self.servers.url(),
                failure_kinds(&live)
            );
            return Err(Stop::ServerDied(why));
        }
        Ok(())
    }

    /// Lets the connections settle, then reads idle memory.
    async fn settle(&mut self) -> Result<(), Stop> {
        self.seen.phase = "settle";
        self.ctx.progress.set_message("settling");
        self.pause(monotonic_ns() + SETTLE.as_nanos() as u64)
            .await?;
        self.servers.settled();
        self.seen.loadgen_idle_memory = heap::footprint();
        Ok(())
    }

    /// Traffic: at once, or at the wall-clock instant every shard was given.
    fn start_traffic(&mut self) -> Result<Timeline, Stop> {
        let s = self.ctx.scenario;
        let t0 = match self.ctx.start_at {
            None => monotonic_ns() + 100_000_000,
            Some(at) => match at.duration_since(SystemTime::now()) {
                Ok(wait) => monotonic_ns() + wait.as_nanos() as u64,
                Err(late) => {
                    return Err(Stop::Failed(format!(
                        "--start-at was {:.1} s in the past once the clients were ready: give a later time",
                        late.duration().as_secs_f64()
                    )));
                }
            },
        };
        let ns = |d: Duration| d.as_nanos() as u64;
        let timeline = Timeline {
            t0_ns: t0,
            measure_start_ns: t0 + ns(s.warmup.0),
            measure_end_ns: t0 + ns(s.warmup.0 + s.duration.0),
            drain_end_ns: t0 + ns(s.warmup.0 + s.duration.0 + s.drain.0),
        };
        self.load.begin(timeline);
        self.seen.timeline = Some(timeline);
        self.servers.load_started();
        self.live = super::live_view::LiveView::new(self.load);
        Ok(timeline)
    }

    /// The measured window: CPU and counters at both ends, and the planned failure inside.
    async fn window(&mut self, timeline: &Timeline) -> Result<(), Stop> {
        self.seen.phase = "measured window";
        let self_cpu = procfs::cpu_seconds(0).unwrap_or(0.0);
        self.seen.server_start = self.servers.window_started().await;
        let start_ns = monotonic_ns();
        self.seen.live_start = self.load.live();
        self.phase_end_ns = timeline.measure_end_ns;
        let result = self.window_events(timeline).await;
        self.phase_end_ns = 0;
        self.seen.window_s = (monotonic_ns() - start_ns) as f64 / 1e9;
        self.seen.loadgen_cpu_s = procfs::cpu_seconds(0).unwrap_or(0.0) - self_cpu;
        self.seen.live_end = self.load.live();
        self.seen.server_end = self.servers.window_ended().await;
        result
    }

    /// Waits out the window, killing the server or a node when the scenario says.
    async fn window_events(&mut self, timeline: &Timeline) -> Result<(), Stop> {
        let s = self.ctx.scenario;
        let into = |at: Duration| timeline.measure_start_ns + at.as_nanos() as u64;
        if let Some(outage) = s.outage {
            self.wait_until(into(outage.at.0), "measuring").await?;
            self.outage(outage.down.0).await?;
        } else {
            // A node killed goes on counting the CPU it had (see `Servers::cpu_now`), so
            // blocks are read throughout, the kill included.
            let kill = s.kill_node_at.filter(|_| self.servers.is_cluster());
            return self
                .blocks(timeline, kill.map(|at| (into(at.0), at.0)))
                .await;
        }
        self.wait_until(timeline.measure_end_ns, "measuring").await
    }

    /// Kills the cluster's last node (`at` into the window) and says so.
    async fn kill_node(&mut self, at: Duration) {
        if let Some(node) = self.servers.kill_last(at.as_secs_f64()).await {
            self.ctx
                .progress
                .suspend(|| eprintln!("node {node} killed"));
        }
    }

    /// Waits out the window block by block, reading the servers' CPU at each boundary
    /// (docs/method.md, "Uncertainty"), and kills a cluster's node when `kill` says (the
    /// instant, and how far into the window).
    async fn blocks(
        &mut self,
        timeline: &Timeline,
        mut kill: Option<(u64, Duration)>,
    ) -> Result<(), Stop> {
        let (start, end, block) = (
            timeline.measure_start_ns,
            timeline.measure_end_ns,
            timeline.block_ns(),
        );
        let mut last = (monotonic_ns(), self.servers.cpu_now());
        let mut total = last.1.map(|_| 0.0);
        self.seen.block_cpu = vec![total];
        let mut machine = MachineReading::now(last.1);
        let mut demand = (procfs::demand(0), self.servers.demand_now());
        let mut at = start;
        while at < end {
            let from = at;
            at = (at + block).min(end);
            if let Some((when, into)) = kill.filter(|(when, _)| *when <= at) {
                self.wait_until(when, "measuring").await?;
                self.kill_node(into).await;
                kill = None;
            }
            self.wait_until(at, "measuring").await?;
            let now = (monotonic_ns(), self.servers.cpu_now());
            // The tick wakes a little late: a block's CPU is the rate read over the
            // interval times the block's planned length.
            total = match (total, last.1, now.1) {
                (Some(t), Some(a), Some(b)) if now.0 > last.0 => {
                    Some(t + (b - a) * (at - from) as f64 / (now.0 - last.0) as f64)
                }
                _ => None,
            };
            self.seen.block_cpu.push(total);
            let now_machine = MachineReading::now(now.1);
            let interference = machine
                .zip(now_machine)
                .map(|(a, b)| a.interference(&b))
                .unwrap_or_default();
            self.seen.block_interference.push(interference);
            machine = now_machine;
            let now_demand = (procfs::demand(0), self.servers.demand_now());
            let share = |a: Option<procfs::Demand>, b: Option<procfs::Demand>| {
                a.zip(b).and_then(|(a, b)| a.wait_share(&b))
            };
            self.seen
                .block_wait
                .push((share(demand.0, now_demand.0), share(demand.1, now_demand.1)));
            demand = now_demand;
            self.seen
                .block_kernel
                .push(super::calibrate::kernel_once_ms());
            last = (monotonic_ns(), self.servers.cpu_now());
        }
        Ok(())
    }

    /// Kills the server (SIGKILL), keeps it down for `down`, and starts a new one on the
    /// same port; the clients find it by themselves.
    async fn outage(&mut self, down: Duration) -> Result<(), Stop> {
        let live = self.load.live();
        let clients_at_kill = live.connected.saturating_sub(live.disconnected);
        let kill_ns = monotonic_ns();
        self.servers
            .kill_for_outage()
            .await
            .map_err(|e| Stop::ServerDied(format!("{e:#}")))?;
        self.ctx.progress.set_message("server killed");
        self.ctx
            .progress
            .set_message(format!("server down for {:.1}s", down.as_secs_f64()));
        self.pause(kill_ns + down.as_nanos() as u64).await?;
        self.servers
            .restart()
            .await
            .map_err(|e| Stop::ServerDied(format!("{e:#}")))?;
        self.seen.outage = Some(OutageRecord {
            kill_ns,
            ready_ns: monotonic_ns(),
            clients_at_kill,
        });
        Ok(())
    }

    /// Ticks until monotonic time `until_ns`, showing `label`, the seconds left and (but
    /// while draining) the live delivery rate.
    async fn wait_until(&mut self, until_ns: u64, label: &str) -> Result<(), Stop> {
        loop {
            let now = monotonic_ns();
            if now >= until_ns {
                return Ok(());
            }
            let left = (until_ns.max(self.phase_end_ns) - now) as f64 / 1e9;
            let message = if label == "draining" {
                format!("{label}, {left:.0}s left")
            } else {
                format!("{label}, {left:.0}s left, {}", self.live.text(self.load))
            };
            self.live.plain_line(&self.ctx.progress.prefix(), &message);
            self.ctx.progress.set_message(message);
            self.tick(until_ns).await?;
        }
    }

    /// Waits until monotonic time `until_ns`, tick by tick.
    async fn pause(&mut self, until_ns: u64) -> Result<(), Stop> {
        while monotonic_ns() < until_ns {
            self.tick(until_ns).await?;
        }
        Ok(())
    }

    /// Sleeps until `until_ns` or one tick, whichever is first; fails if a server died or
    /// the user interrupted.
    async fn tick(&mut self, until_ns: u64) -> Result<(), Stop> {
        let step = Duration::from_nanos(until_ns.saturating_sub(monotonic_ns())).min(TICK);
        tokio::select! {
            _ = self.ctx.interrupt.cancelled() => return Err(Stop::Interrupted),
            _ = tokio::time::sleep(step) => {}
        }
        match self.servers.died() {
            Some(why) => Err(Stop::ServerDied(why)),
            None => Ok(()),
        }
    }
}

/// What the failed connection attempts were, each kind with its count and meaning:
/// "; 20 rejected: the Socket.IO server refused the namespace CONNECT (…)".
fn failure_kinds(live: &wsbench_loadgen::LiveSnapshot) -> String {
    use wsbench_loadgen::ConnectFailure;
    let kinds: Vec<String> = ConnectFailure::ALL
        .iter()
        .zip(live.failures)
        .filter(|(_, n)| *n > 0)
        .map(|(kind, n)| format!("{n} {}: {}", kind.as_str(), kind.meaning()))
        .collect();
    if kinds.is_empty() {
        String::new()
    } else {
        format!("; {}", kinds.join("; "))
    }
}
