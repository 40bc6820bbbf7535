//! How a system's server is started: its command line and environment with placeholders
//! (`{port}`, `{wsbench}`, `{cert}`, `{key}`) the runner fills in, its paths resolved
//! against the scenario file's directory, and the run's TLS files.

use serde::{Deserialize, Serialize};

/// How to start a server: its command line and environment, where `{port}` stands for a
/// free loopback port the runner picks, and how to tell it is ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CommandSpec {
    /// Program and arguments.
    pub command: Vec<String>,
    /// Environment variables set for it.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub env: std::collections::BTreeMap<String, String>,
    /// A line (or part of one) it prints on stdout or stderr once it serves; without one,
    /// it is ready when its port accepts a connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<String>,
    /// The WebSocket path raw-WebSocket clients open (Socket.IO's is `/socket.io/`).
    pub path: String,
    /// How long it may take to be ready.
    pub ready_timeout: crate::duration::HumanDuration,
    /// Where it runs, and what relative paths in its command mean: the scenario file's
    /// directory, so that a scenario runs the same from any directory. Not part of a
    /// result (a path on the machine that ran it).
    #[serde(skip)]
    #[schemars(skip)]
    pub dir: std::path::PathBuf,
}

/// The placeholder for the port in a command or its environment.
pub const PORT_PLACEHOLDER: &str = "{port}";
/// The placeholder for the running wsbench program, as a command's program: `wsbench serve`
/// variants (another queue, TLS) as systems of their own.
pub const WSBENCH_PLACEHOLDER: &str = "{wsbench}";
/// The placeholder for the run's TLS certificate (PEM) of a server served over TLS.
pub const CERT_PLACEHOLDER: &str = "{cert}";
/// The placeholder for that certificate's private key (PEM).
pub const KEY_PLACEHOLDER: &str = "{key}";

/// A run's TLS material for the servers it starts: a CA made for the run, and a
/// certificate it signed for 127.0.0.1 and localhost with its key, as PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The CA's certificate: what the clients trust.
    pub ca: std::path::PathBuf,
    /// The servers' certificate.
    pub cert: std::path::PathBuf,
    /// Its private key.
    pub key: std::path::PathBuf,
}

impl CommandSpec {
    /// The command line with `{port}` (and, given the run's TLS files, `{cert}` and
    /// `{key}`) replaced, its program resolved against [`Self::dir`] when it is a relative
    /// path (`./server`, `bin/server`): a bare name is looked up on PATH as the shell would.
    pub fn argv(&self, port: u16, tls: Option<&TlsFiles>) -> Vec<String> {
        let mut argv: Vec<String> = self
            .command
            .iter()
            .map(|a| substitute(a, port, tls))
            .collect();
        if let Some(program) = argv.first_mut() {
            if program == WSBENCH_PLACEHOLDER
                && let Ok(exe) = std::env::current_exe()
            {
                *program = exe.to_string_lossy().into_owned();
            } else if program.contains('/') {
                *program = self.resolve(program).to_string_lossy().into_owned();
            }
        }
        argv
    }

    /// `path` as the command sees it: relative paths against [`Self::dir`], made absolute,
    /// since the command runs in that directory: `scenarios/../bin/server`, relative to
    /// wsbench's own directory, named nothing from inside `scenarios/`.
    pub fn resolve(&self, path: &str) -> std::path::PathBuf {
        let joined = self.dir.join(path);
        std::path::absolute(&joined).unwrap_or(joined)
    }

    /// The environment with the placeholders replaced as in [`Self::argv`].
    pub fn env(&self, port: u16, tls: Option<&TlsFiles>) -> Vec<(String, String)> {
        self.env
            .iter()
            .map(|(k, v)| (k.clone(), substitute(v, port, tls)))
            .collect()
    }

    /// Whether its command or environment is given the run's certificate and key.
    pub fn takes_tls_files(&self) -> bool {
        let given = |p: &str| {
            self.command
                .iter()
                .chain(self.env.values())
                .any(|s| s.contains(p))
        };
        given(CERT_PLACEHOLDER) && given(KEY_PLACEHOLDER)
    }
}

fn substitute(s: &str, port: u16, tls: Option<&TlsFiles>) -> String {
    let s = s.replace(PORT_PLACEHOLDER, &port.to_string());
    match tls {
        Some(t) => s
            .replace(CERT_PLACEHOLDER, &t.cert.to_string_lossy())
            .replace(KEY_PLACEHOLDER, &t.key.to_string_lossy()),
        None => s,
    }
}
