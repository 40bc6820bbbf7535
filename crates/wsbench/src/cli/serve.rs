//! `wsbench serve`'s options: which built-in server, where it listens, and how it bounds,
//! writes and times its clients.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use wsbench_core::OverflowPolicy;
use wsbench_core::io_path::SendChoice;
use wsbench_core::system::BuiltinServer;

use super::{parse_duration, parse_send_io};

/// `wsbench serve`'s server argument: one of the built-in servers, each listed in `--help`.
fn builtin_server() -> impl TypedValueParser<Value = BuiltinServer> {
    PossibleValuesParser::new([
        PossibleValue::new(BuiltinServer::Ws.as_str())
            .help("Raw WebSocket (tokio-tungstenite): paths `/`, `/room/NAME`, `/echo`"),
        PossibleValue::new(BuiltinServer::Socketio.as_str())
            .help("Socket.IO (socketioxide): events `broadcast`, `join`, `echo` on namespace `/`"),
        PossibleValue::new(BuiltinServer::WsStock.as_str()).help(
            "Raw WebSocket as tokio-tungstenite's example server writes it (the stock \
             baseline): same paths, plain ws:// only, no bound or policy",
        ),
    ])
    .try_map(|s| s.parse::<BuiltinServer>())
}

/// Options of `wsbench serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The server to run.
    #[arg(value_parser = builtin_server())]
    pub transport: BuiltinServer,

    /// Address to listen on; port 0 lets the OS choose (see the ready line).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0", value_parser = parse_listen)]
    pub listen: SocketAddr,

    /// What to do when a client's outgoing queue is full.
    #[arg(long, value_name = "POLICY", default_value = "drop", value_parser = parse_policy)]
    pub overflow: OverflowPolicy,

    /// ws only: how a broadcast to many clients is written: `epoll` (one `send` per
    /// recipient), `uring` (a share of recipients' sends submitted together on io_uring;
    /// plain ws:// only, `send` where the kernel refuses a ring), or `auto` (the one that
    /// measured cheaper, docs/cost-breakdown.md). The ready line says which it uses.
    #[arg(long, value_name = "PATH", default_value = "auto", env = "WSBENCH_SERVER_IO", value_parser = parse_send_io)]
    pub io: SendChoice,

    /// Messages that may wait in one client's outgoing queue.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub queue_capacity: u32,

    /// Bytes that may wait for one client, its own replies (pongs, echoes) included: past
    /// it, the overflow policy applies, and a client whose replies back up is not read
    /// until it reads them. A message larger than this still reaches a client that keeps
    /// up. The default lets 10,000 clients that stop reading hold 1.25 GiB at most.
    #[arg(long, value_name = "BYTES", default_value_t = wsbench_core::bounds::DEFAULT_QUEUE_BYTES, value_parser = clap::value_parser!(u64).range(1024..))]
    pub queue_bytes: u64,

    /// Bytes that may wait over all clients of the server, with the same policy.
    #[arg(long, value_name = "BYTES", default_value_t = wsbench_core::bounds::DEFAULT_SERVER_QUEUE_BYTES, value_parser = clap::value_parser!(u64).range(1024..))]
    pub server_queue_bytes: u64,

    /// Largest message a client may send, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024, value_parser = clap::value_parser!(u32).range(16..))]
    pub max_message_size: u32,

    /// Raw WebSocket only: send this text to each client on connect, as the seed's server does.
    #[arg(long, value_name = "TEXT", num_args = 0..=1, default_missing_value = "Welcome to the WebSocket server!")]
    pub welcome: Option<String>,

    /// How often clients are pinged (e.g. "25s"). Socket.IO: engine.io's heartbeat, 25 s
    /// unless given. Raw WebSocket: off unless given; then a client that sends nothing,
    /// not even the pong, for a whole interval after a ping is disconnected (1008).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub ping_interval: Option<Duration>,

    /// Run as one node of a cluster sharing this Redis server (e.g.
    /// redis://127.0.0.1:6379/?protocol=resp3): Socket.IO through socketioxide's Redis
    /// adapter, raw WebSocket by relaying broadcasts over Redis pub/sub (a channel per room).
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,

    /// How long a new connection has to complete its handshake (the WebSocket upgrade; for
    /// Socket.IO also the namespace CONNECT) before it is closed.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub handshake_timeout: Duration,

    /// Serve TLS (wss://, https://). Without --tls-cert and --tls-key, with a certificate
    /// made at start for 127.0.0.1 and localhost, which no client trusts (clients then need
    /// --tls-insecure).
    #[arg(long)]
    pub tls: bool,

    /// Serve TLS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Socket.IO only: engine.io ping timeout (e.g. "20s").
    #[arg(long, value_name = "DURATION", default_value = "20s", value_parser = parse_duration)]
    pub ping_timeout: Duration,

    /// Test aid, not for measuring: burn this many µs of CPU per delivery (fractions
    /// allowed), to check that `wsbench compare` catches a real regression. `wsbench run`
    /// passes the environment variable to the servers it starts.
    #[arg(long, value_name = "US", env = wsbench_core::handicap::ENV_BURN_US, default_value_t = 0.0)]
    pub handicap_us: f64,

    /// Test aid, raw WebSocket only: write an unsolicited pong of this many bytes (at most
    /// 125) before each delivery, adding that much and 2 to the wire bytes per delivery.
    #[arg(long, value_name = "BYTES", env = wsbench_core::handicap::ENV_WIRE_BYTES, default_value_t = 0)]
    pub handicap_wire_bytes: usize,
}

impl ServeArgs {
    /// The byte bounds these options ask for.
    pub fn queue_bytes(&self) -> wsbench_core::bounds::QueueBytes {
        wsbench_core::bounds::QueueBytes {
            per_connection: self.queue_bytes,
            server: self.server_queue_bytes,
        }
    }

    /// The test aid's handicap these options ask for.
    pub fn handicap(&self) -> wsbench_core::handicap::Handicap {
        wsbench_core::handicap::Handicap::new(self.handicap_us, self.handicap_wire_bytes)
    }
}

/// `--listen`: an address and port, such as 127.0.0.1:8080 (a usage error otherwise).
fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    s.parse()
        .map_err(|e| format!("not an address like 127.0.0.1:8080 ({e})"))
}

fn parse_policy(s: &str) -> Result<OverflowPolicy, String> {
    s.parse()
}
