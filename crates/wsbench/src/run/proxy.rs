//! The proxy in front of a system's server (`[proxy]`): nginx from the distribution,
//! started, checked ready and stopped like a `[systems.X]` server (a process group of its
//! own on a free loopback port, its error output kept to explain a failure), with a
//! configuration written for the run under `<out>/proxy/<system>/`. Its CPU over the
//! measured window and its peak memory are recorded as the server's are
//! (docs/method.md, "A proxy in front").

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use wsbench_core::cpus::CpuSet;
use wsbench_core::result::ProxyFigures;
use wsbench_core::scenario::Proxy;
use wsbench_core::system::{CommandSpec, TlsFiles};
use wsbench_loadgen::Endpoint;

use super::command::CommandChild;
use super::procfs;
use super::sampler::Sampler;

/// How long nginx may take to serve.
const READY: Duration = Duration::from_secs(10);

/// Writes the configuration with the port wsbench picked (`$PORT`), then becomes nginx:
/// in the foreground, with its errors on stderr, everything under the run's directory.
const START: &str = "mkdir -p tmp && sed \"s/@PORT@/$PORT/\" nginx.conf.in > nginx.conf && \
                     exec nginx -p \"$PWD/\" -c \"$PWD/nginx.conf\" -e stderr -g 'daemon off;'";

/// A running proxy.
pub struct FrontProxy {
    /// Its log of answers with an error status.
    failed_log: std::path::PathBuf,
    child: CommandChild,
    sampler: Sampler,
    cpu_start: f64,
    figures: ProxyFigures,
}

impl FrontProxy {
    /// Starts nginx in front of `backends` (a server's nodes) for `clients` clients, its
    /// files under `dir`; with `tls` (the system is served over TLS), speaking TLS on both
    /// sides with the run's certificate.
    pub async fn start(
        spec: &Proxy,
        backends: &[SocketAddr],
        clients: u64,
        dir: &Path,
        cpus: Option<&CpuSet>,
        tls: Option<&TlsFiles>,
    ) -> anyhow::Result<FrontProxy> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot make {}", dir.display()))?;
        std::fs::write(
            dir.join("nginx.conf.in"),
            config(spec, backends, clients, tls),
        )
        .context("cannot write the proxy's configuration")?;
        let command = CommandSpec {
            command: ["sh", "-c", START].map(str::to_owned).to_vec(),
            env: [("PORT".to_owned(), "{port}".to_owned())].into(),
            ready: None,
            path: "/".to_owned(),
            ready_timeout: wsbench_core::duration::HumanDuration(READY),
            dir: dir.to_owned(),
        };
        let child = CommandChild::spawn(&command, cpus, None, READY)
            .await
            .context("the proxy (nginx) did not start")?;
        let sampler = Sampler::start(child.pid);
        let figures = ProxyFigures {
            software: version(),
            upgrade: spec.upgrade,
            tls: tls.is_some(),
            nodes: backends.len() as u64,
            sticky: sticky(spec, backends),
            url: format!("{}://{}/", scheme(tls), child.addr),
            ..ProxyFigures::default()
        };
        Ok(FrontProxy {
            failed_log: dir.join(FAILED_LOG),
            child,
            sampler,
            cpu_start: 0.0,
            figures,
        })
    }

    /// `e` reached through the proxy: its address, and its URL on the proxy's port.
    pub fn front(&self, e: &Endpoint) -> Endpoint {
        let mut url = url::Url::parse(&e.url).expect("an endpoint's URL parses");
        let _ = url.set_port(Some(self.child.addr.port()));
        Endpoint {
            addr: self.child.addr,
            url: url.to_string(),
        }
    }

    /// Why it is not running, if it is not.
    pub fn died(&mut self) -> Option<String> {
        self.child.exited().map(|why| format!("the proxy: {why}"))
    }

    /// The measured window began.
    pub fn window_started(&mut self) {
        self.cpu_start = procfs::tree_cpu(self.child.pid).unwrap_or(0.0);
    }

    /// The measured window ended.
    pub fn window_ended(&mut self) {
        let now = procfs::tree_cpu(self.child.pid).unwrap_or(self.cpu_start);
        self.figures.cpu_s = now - self.cpu_start;
    }

    /// Stops it; its figures, `load` being when traffic ran.
    pub async fn stop(self, load: (Instant, Instant)) -> ProxyFigures {
        let mut figures = self.figures;
        figures.rss_peak_bytes = self.sampler.peak_between(load.0, load.1);
        drop(self.sampler.finish());
        self.child.stop().await;
        figures.failed = failed_by_status(&self.failed_log);
        figures
    }
}

/// Whether it keeps each client on one node: asked for, and more than one node to choose.
fn sticky(spec: &Proxy, backends: &[SocketAddr]) -> bool {
    backends.len() > 1 && spec.sticky()
}

/// The scheme it serves and proxies to: TLS on both sides or on neither.
fn scheme(tls: Option<&TlsFiles>) -> &'static str {
    if tls.is_some() { "https" } else { "http" }
}

/// The file, beside its configuration, where nginx logs each answer with an error status.
const FAILED_LOG: &str = "failed.log";

/// The error answers in `log` (one status per line), counted by status.
fn failed_by_status(log: &Path) -> std::collections::BTreeMap<u16, u64> {
    let mut out = std::collections::BTreeMap::new();
    let text = std::fs::read_to_string(log).unwrap_or_default();
    for status in text
        .lines()
        .filter_map(|l| l.split(' ').next()?.parse().ok())
    {
        *out.entry(status).or_insert(0) += 1;
    }
    out
}

/// `nginx -v`, as it says it (`nginx/1.22.1`).
fn version() -> String {
    std::process::Command::new("nginx")
        .arg("-v")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_owned())
        .and_then(|v| v.rsplit(' ').next().map(str::to_owned))
        .unwrap_or_else(|| "nginx".to_owned())
}

/// A reverse proxy as deployments write one for WebSockets (nginx's own guide), or, with
/// `upgrade = false`, as one that does not pass the upgrade on (nginx's default: the
/// hop-by-hop `Upgrade` and `Connection` headers are not forwarded). Buffering is off, so
/// long-polling answers and streamed frames pass as they come. In front of a TLS server it
/// terminates the clients' TLS with the run's certificate (a session cache, so clients
/// that offer a session resume it) and speaks TLS to the server, verifying it against the
/// run's CA and reusing its sessions to it.
fn config(spec: &Proxy, backends: &[SocketAddr], clients: u64, tls: Option<&TlsFiles>) -> String {
    // Each client is two connections (to the client, to the server), and nginx sizes its
    // tables by this number: enough, not a fixed 100,000 (98 MB of tables at 20 clients).
    let connections = (clients * 2 + 256).max(1024);
    let upgrade = if spec.upgrade {
        "proxy_set_header Upgrade $http_upgrade;\n            \
         proxy_set_header Connection $connection_upgrade;"
    } else {
        "proxy_set_header Connection \"\";"
    };
    format!(
        r#"# Written by wsbench for one run: the proxy in front of {front}.
user root;
worker_processes 1;
pid nginx.pid;
worker_rlimit_nofile {files};
events {{
    worker_connections {connections};
}}
http {{
    # Only answers with an error status are logged: what a client was refused, counted.
    map $status $failed {{
        ~^[123] 0;
        default 1;
    }}
    log_format status '$status $upstream_addr';
    access_log {FAILED_LOG} status if=$failed;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    client_body_buffer_size 1m;
    client_max_body_size 16m;
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        '' '';
    }}
    upstream system {{{balance}
{servers}
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:@PORT@{listen_tls};{front_tls}
        location / {{
            proxy_pass {scheme}://system;{back_tls}
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            {upgrade}
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
        }}
    }}
}}
"#,
        files = connections + 64,
        front = backends
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        servers = backends
            .iter()
            .map(|b| format!("        server {b};"))
            .collect::<Vec<_>>()
            .join("\n"),
        // Sticky as ip_hash deployments are, but on the whole address (ip_hash takes only
        // the first three bytes of an IPv4 address); round robin, nginx's default, else.
        balance = if sticky(spec, backends) {
            "\n        hash $remote_addr consistent;"
        } else {
            ""
        },
        listen_tls = if tls.is_some() { " ssl" } else { "" },
        scheme = scheme(tls),
        front_tls = tls.map(front_tls).unwrap_or_default(),
        back_tls = tls.map(back_tls).unwrap_or_default(),
    )
}

/// The clients' side of TLS: the run's certificate, and sessions kept for resumption.
fn front_tls(tls: &TlsFiles) -> String {
    format!(
        "\n        ssl_certificate {};\n        ssl_certificate_key {};\n        \
         ssl_protocols TLSv1.2 TLSv1.3;\n        ssl_session_cache shared:wsbench:10m;",
        tls.cert.display(),
        tls.key.display()
    )
}

/// The server's side: verified against the run's CA, its sessions reused.
fn back_tls(tls: &TlsFiles) -> String {
    format!(
        "\n            proxy_ssl_trusted_certificate {};\n            proxy_ssl_verify on;\n            \
         proxy_ssl_name localhost;\n            proxy_ssl_session_reuse on;",
        tls.ca.display()
    )
}
