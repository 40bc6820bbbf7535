//! `wsbench serve`: one server under test in its own process.

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use wsbench_core::control::{REQUEST_COUNTERS, ServeEvent};
use wsbench_core::io_path::{SendChoice, SendPath};
use wsbench_core::system::BuiltinServer;
use wsbench_core::{CountersSnapshot, net};
use wsbench_sio_server::{SioServer, SioServerConfig, SioServerHandle};
use wsbench_ws_server::{WsServer, WsServerConfig, WsServerHandle};
use wsbench_ws_stock::WsStockHandle;

use crate::cli::ServeArgs;

/// Time the server gets to close its clients after SIGTERM; the process exits 0 well
/// within the two seconds its parent waits.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(1500);

/// What `wsbench serve` needs of a running server, whichever it is.
trait Running {
    fn counters(&self) -> CountersSnapshot;
    fn local_addr(&self) -> SocketAddr;
    /// Closes every client within `grace`; whether they all closed in time.
    fn shutdown(self: Box<Self>, grace: Duration) -> Pin<Box<dyn Future<Output = bool>>>;
    /// How it writes broadcasts, where it says (`wsbench serve ws --io`).
    fn send_path(&self) -> Option<(SendPath, Option<String>)> {
        None
    }
}

impl Running for WsServerHandle {
    fn counters(&self) -> CountersSnapshot {
        WsServerHandle::counters(self)
    }
    fn local_addr(&self) -> SocketAddr {
        WsServerHandle::local_addr(self)
    }
    fn shutdown(self: Box<Self>, grace: Duration) -> Pin<Box<dyn Future<Output = bool>>> {
        Box::pin(WsServerHandle::shutdown(*self, grace))
    }
    fn send_path(&self) -> Option<(SendPath, Option<String>)> {
        Some(WsServerHandle::send_path(self))
    }
}

impl Running for WsStockHandle {
    fn counters(&self) -> CountersSnapshot {
        WsStockHandle::counters(self)
    }
    fn local_addr(&self) -> SocketAddr {
        WsStockHandle::local_addr(self)
    }
    fn shutdown(self: Box<Self>, grace: Duration) -> Pin<Box<dyn Future<Output = bool>>> {
        Box::pin(WsStockHandle::shutdown(*self, grace))
    }
}

impl Running for SioServerHandle {
    fn counters(&self) -> CountersSnapshot {
        SioServerHandle::counters(self)
    }
    fn local_addr(&self) -> SocketAddr {
        SioServerHandle::local_addr(self)
    }
    fn shutdown(self: Box<Self>, grace: Duration) -> Pin<Box<dyn Future<Output = bool>>> {
        Box::pin(SioServerHandle::shutdown(*self, grace))
    }
}

/// The TLS `args` ask for: their files, or a certificate made now; `None` for plain.
fn tls(args: &ServeArgs) -> anyhow::Result<Option<Arc<rustls::ServerConfig>>> {
    match (&args.tls_cert, &args.tls_key) {
        // A certificate or key that cannot be served is the user's input: exit 2, before
        // anything listens.
        (Some(cert), Some(key)) => wsbench_core::tls::server_config(cert, key)
            .map(Some)
            .map_err(|e| crate::exit::Usage(format!("--tls-cert/--tls-key: {e}")).into()),
        _ if args.tls => {
            let (_, cert, key) = crate::certs::generate().context("cannot make a certificate")?;
            eprintln!(
                "wsbench serve: serving TLS with a certificate made now, which no client \
                 trusts: clients need --tls-insecure (or give --tls-cert and --tls-key)"
            );
            Ok(Some(wsbench_core::tls::server_config_pem(
                cert.as_bytes(),
                key.as_bytes(),
            )?))
        }
        _ => Ok(None),
    }
}

/// Where clients connect to a server of `args` at `addr`.
fn url_of(args: &ServeArgs, addr: SocketAddr, tls: bool) -> String {
    let scheme = match (args.transport, tls) {
        (BuiltinServer::Ws | BuiltinServer::WsStock, false) => "ws",
        (BuiltinServer::Ws | BuiltinServer::WsStock, true) => "wss",
        (BuiltinServer::Socketio, false) => "http",
        (BuiltinServer::Socketio, true) => "https",
    };
    format!("{scheme}://{addr}/")
}

/// Starts the built-in server `args` names on `listener`.
async fn start(
    args: &ServeArgs,
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> anyhow::Result<Box<dyn Running>> {
    Ok(match args.transport {
        BuiltinServer::Ws => {
            let config = WsServerConfig {
                welcome: args.welcome.clone(),
                max_message_size: args.max_message_size as usize,
                queue_capacity: args.queue_capacity as usize,
                queue_bytes: args.queue_bytes(),
                ping_interval: args.ping_interval,
                overflow: args.overflow,
                handshake_timeout: args.handshake_timeout,
                handicap: args.handicap(),
                tls,
                io: args.io,
            };
            Box::new(match &args.redis {
                None => WsServer::start(listener, config)?,
                Some(url) => WsServer::start_clustered(listener, config, url).await?,
            })
        }
        BuiltinServer::WsStock => Box::new(wsbench_ws_stock::start(listener)?),
        BuiltinServer::Socketio => {
            let config = SioServerConfig {
                ping_interval: args.ping_interval.unwrap_or(Duration::from_secs(25)),
                ping_timeout: args.ping_timeout,
                max_message_size: args.max_message_size as usize,
                queue_capacity: args.queue_capacity as usize,
                queue_bytes: args.queue_bytes(),
                overflow: args.overflow,
                handshake_timeout: args.handshake_timeout,
                handicap: args.handicap(),
                tls,
            };
            Box::new(match &args.redis {
                None => SioServer::start(listener, config)?,
                Some(url) => SioServer::start_clustered(listener, config, url).await?,
            })
        }
    })
}

/// Why `--io` (or `WSBENCH_SERVER_IO`) changes nothing for a server other than ws: its
/// writes are its library's (socketioxide's, tungstenite's); `None` where it was not asked
/// for by name.
fn io_not_applicable(args: &ServeArgs) -> Option<String> {
    (args.transport != BuiltinServer::Ws && args.io != SendChoice::Auto).then(|| {
        format!(
            "--io {} applies to the ws server only: {} writes as its library does",
            args.io,
            args.transport.as_str()
        )
    })
}

/// Runs `wsbench serve` to completion.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let addr = args.listen;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    let code = runtime.block_on(serve(args, addr))?;
    // The stdin reader is a plain thread blocked in read(2); do not wait for it.
    runtime.shutdown_background();
    Ok(code)
}

async fn serve(args: ServeArgs, addr: SocketAddr) -> anyhow::Result<ExitCode> {
    let asks_tls = args.tls || args.tls_cert.is_some();
    if args.transport == BuiltinServer::WsStock && (asks_tls || args.redis.is_some()) {
        // The example server as written: no TLS, no cluster.
        return Err(crate::exit::Usage(
            "ws-stock serves plain ws:// on one node only, as tokio-tungstenite's example \
             does: drop --tls/--tls-cert and --redis"
                .to_owned(),
        )
        .into());
    }
    let listener = net::bind_listener(addr).with_context(|| format!("cannot listen on {addr}"))?;
    let tls = tls(&args)?;
    let secure = tls.is_some();
    let server = start(&args, listener, tls).await?;
    let mut sigterm = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut sigint = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;

    let (io, io_note) = server.send_path().unzip();
    let io_note = io_note.flatten().or_else(|| io_not_applicable(&args));
    if let Some(note) = io_note.as_ref().filter(|_| io.is_none()) {
        eprintln!("wsbench serve: {note}");
    }
    print_line(&ServeEvent::Ready {
        transport: args.transport.as_str().to_owned(),
        addr: server.local_addr(),
        pid: std::process::id(),
        url: Some(url_of(&args, server.local_addr(), secure)),
        io,
        io_note,
    });
    let mut requests = read_requests();

    loop {
        tokio::select! {
            _ = sigterm.recv() => break,
            _ = sigint.recv() => break,
            request = requests.recv(), if !requests.is_closed() => {
                // stdin closed (EOF) just ends the control channel: a server started with
                // no stdin keeps serving until it is signalled.
                let Some(request) = request else { continue };
                let answer = match request.trim() {
                    REQUEST_COUNTERS => ServeEvent::Counters(server.counters()),
                    "" => continue,
                    other => ServeEvent::Error {
                        message: format!("unknown request '{other}' (expected '{REQUEST_COUNTERS}')"),
                    },
                };
                print_line(&answer);
            }
        }
    }
    if !server.shutdown(SHUTDOWN_GRACE).await {
        tracing::warn!("some connections did not close within {SHUTDOWN_GRACE:?}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes one event line on stdout and flushes it, so a parent reading a pipe sees it now.
fn print_line(event: &ServeEvent) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", event.to_line());
    let _ = out.flush();
}

/// Lines of stdin, read on a plain thread (a blocking read cannot be cancelled).
fn read_requests() -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel(16);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    rx
}
