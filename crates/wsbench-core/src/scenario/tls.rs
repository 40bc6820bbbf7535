//! `tls`, `tls_ca_file`, `tls_insecure`, `tls_resumption`: whether the systems wsbench
//! starts are served over TLS, what the clients trust on a secure server (`wss://`,
//! `https://`), and whether they resume their sessions when they reconnect.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::ScenarioError;
use super::check::Common;
use super::checker::{Checker, Fields};
use super::parse::Overrides;
use super::systems::SystemDef;
use crate::client_library::ClientLibrary;
use crate::system::SystemName;

/// What the clients trust when they speak TLS to a server they did not start.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TlsTrust {
    /// The machine's root certificates.
    #[default]
    System,
    /// The certificates of this PEM file (`tls_ca_file`).
    CaFile(PathBuf),
    /// Any certificate (`tls_insecure = true`): the handshake's signatures are checked,
    /// the certificate's chain and name are not. For a server's self-signed certificate
    /// only: the figures are the same, the trust is not.
    Insecure,
}

/// `tls = true|false` and the trust (the command line's, else the file's): `None` where a
/// value is wrong (reported).
pub(super) fn tls(check: &Checker<'_>, f: &Fields<'_>, o: &Overrides) -> Option<(bool, TlsTrust)> {
    let on = match f.get("tls") {
        Some(v) => check.boolean("tls", v),
        None => Some(false),
    };
    let file = trust(check, f);
    let flags = match (o.tls_insecure, &o.tls_ca_file) {
        (true, Some(_)) => {
            let why = "trusts any certificate: it cannot be combined with --tls-ca-file";
            check.push(ScenarioError::flag("--tls-insecure", why));
            return None;
        }
        (true, None) => Some(TlsTrust::Insecure),
        (false, Some(path)) if !holds_a_certificate(path) => {
            let why = format!("{} holds no readable PEM certificate", path.display());
            check.push(ScenarioError::flag("--tls-ca-file", why));
            return None;
        }
        (false, Some(path)) => Some(TlsTrust::CaFile(std::path::absolute(path).ok()?)),
        (false, None) => None,
    };
    Some((on?, flags.or(file?)?))
}

fn holds_a_certificate(path: &std::path::Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| t.contains("-----BEGIN CERTIFICATE-----"))
}

/// The file's trust: `tls_ca_file`, `tls_insecure`, or the machine's roots.
fn trust(check: &Checker<'_>, f: &Fields<'_>) -> Option<Option<TlsTrust>> {
    let insecure = match f.get("tls_insecure") {
        Some(v) => check.boolean("tls_insecure", v),
        None => Some(false),
    };
    let ca_file = match f.get("tls_ca_file") {
        None => Some(None),
        Some(v) => check.string("tls_ca_file", v).and_then(|p| {
            let path = super::systems::scenario_dir(check.file).join(p);
            match std::fs::read_to_string(&path) {
                Ok(text) if text.contains("-----BEGIN CERTIFICATE-----") => Some(Some(path)),
                Ok(_) => check.fail(
                    v.span.clone(),
                    "tls_ca_file",
                    format!("{} holds no PEM certificate", path.display()),
                ),
                Err(e) => check.fail(
                    v.span.clone(),
                    "tls_ca_file",
                    format!("cannot read {}: {e}", path.display()),
                ),
            }
        }),
    };
    let trust = match (insecure?, ca_file?) {
        (true, Some(_)) => {
            let span = f
                .get("tls_insecure")
                .map(|v| v.span.clone())
                .unwrap_or(0..0);
            return check.fail(
                span,
                "tls_insecure",
                "trusts any certificate: it cannot be combined with tls_ca_file (give one)",
            );
        }
        (true, None) => TlsTrust::Insecure,
        (false, Some(path)) => TlsTrust::CaFile(path),
        (false, None) => TlsTrust::System,
    };
    Some(Some(trust))
}

/// `tls_resumption = true|false` (false: every handshake a full one).
pub(super) fn resumption(check: &Checker<'_>, f: &Fields<'_>) -> Option<bool> {
    match f.get("tls_resumption") {
        Some(v) => check.boolean("tls_resumption", v),
        None => Some(false),
    }
}

/// A system spoken to over TLS: a command wsbench starts must take the run's certificate
/// (`{cert}` and `{key}`; a built-in server is given it), and its clients must be lean ones
/// (rust_socketio's long-polling client opens plain `http://` only).
pub(super) fn servers_take_tls(check: &Checker<'_>, f: &Fields<'_>, c: &Common) {
    let no_adapter = crate::adapter::Adapter::default();
    for name in &c.compared {
        let def = c.systems.get(name);
        let (tls, span) = match (c.target.get(name), def) {
            (Some(url), _) => (
                url.starts_with("https:") || url.starts_with("wss:"),
                f.get("target").map_or(0..0, |v| v.span.clone()),
            ),
            (None, Some(def)) => (def.tls || c.tls, tls_span(f, name, def)),
            (None, None) => (c.tls, tls_span_top(f)),
        };
        if !tls {
            continue;
        }
        let protocol = def.map(|d| d.protocol).or(name.builtin());
        let adapter = c.adapters.get(name).unwrap_or(&no_adapter);
        let polls = protocol.is_some_and(|p| {
            ClientLibrary::choose(p, c.socketio_client, adapter) == ClientLibrary::RustSocketio
        });
        let why = if polls {
            format!(
                "{name}'s clients are rust_socketio's, which speak plain http:// only: \
                 measure TLS with the lean clients (websocket)"
            )
        } else if c.target.contains_key(name) {
            continue;
        } else if let Some(def) = def {
            if def.start.takes_tls_files() {
                continue;
            }
            format!(
                "{name} is served over TLS but its server is not given the run's certificate: \
                 put {{cert}} and {{key}} in its command or env (e.g. env = {{ TLS_CERT = \
                 \"{{cert}}\", TLS_KEY = \"{{key}}\" }})"
            )
        } else {
            // A built-in server, given the run's certificate.
            continue;
        };
        check.report(span, "tls", why);
    }
}

fn tls_span_top(f: &Fields<'_>) -> std::ops::Range<usize> {
    f.get("tls").map_or(0..0, |v| v.span.clone())
}

/// Where a system's `tls = true` is, else the scenario's.
fn tls_span(f: &Fields<'_>, name: &SystemName, def: &SystemDef) -> std::ops::Range<usize> {
    let own = def
        .tls
        .then(|| super::systems::entry_span(f, name.as_str(), "tls"));
    own.flatten().unwrap_or_else(|| tls_span_top(f))
}
