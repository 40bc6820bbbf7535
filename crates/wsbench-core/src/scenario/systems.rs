//! Which systems a scenario measures: `transports`, `[systems.NAME]` (servers wsbench starts
//! from a command, e.g. the seed's Node.js servers), and the rules on them.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::check::{Common, given};
use super::checker::{Checker, Fields};
use super::parse::Overrides;
use super::toml::{Kind, Value};
use super::{Mode, ScenarioError, SocketioClient};
use crate::client_library::{ClientLibrary, polls};
use crate::system::{CommandSpec, PORT_PLACEHOLDER, Protocol, SystemName};

/// A system the scenario defines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SystemDef {
    /// How its clients speak.
    pub protocol: Protocol,
    /// What its server runs on, for reports (`node`; by default the command's program).
    pub runtime: String,
    /// How to start its server.
    pub start: CommandSpec,
    /// Whether it is served over TLS (its own `tls = true`, or the scenario's).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tls: bool,
    /// Whether its clients offer permessage-deflate (its own `compression = true`, or the
    /// scenario's).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub compression: bool,
}

const KEYS: [&str; 9] = [
    "tls",
    "compression",
    "protocol",
    "command",
    "env",
    "ready",
    "ready_timeout",
    "path",
    "runtime",
];

/// How long a command's server may take to be ready, unless its table says.
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// The names `[systems]` declares, right or wrong: an entry of `transports` naming one is not
/// unknown, whatever is wrong in its table.
pub(super) fn declared(f: &Fields<'_>) -> Vec<String> {
    match f.get("systems").map(|v| &v.kind) {
        Some(Kind::Table(t)) => t.entries.iter().map(|e| e.key.clone()).collect(),
        _ => Vec::new(),
    }
}

/// The protocol `[systems.NAME]` says, read as written, whatever else is wrong in its
/// table: what its adapter is checked against when the system itself was refused, so that
/// one mistake does not hide the adapter's own.
pub(super) fn declared_protocol(f: &Fields<'_>, name: &str) -> Option<Protocol> {
    let Some(Kind::Table(systems)) = f.get("systems").map(|v| &v.kind) else {
        return None;
    };
    let entry = systems.entries.iter().find(|e| e.key == name)?;
    let Kind::Table(table) = &entry.value.kind else {
        return None;
    };
    let protocol = table.entries.iter().find(|e| e.key == "protocol")?;
    match &protocol.value.kind {
        Kind::Str(p) => p.parse().ok(),
        _ => None,
    }
}

/// Where `key`'s value is in `[systems.NAME]`, if it is there.
pub(super) fn entry_span(f: &Fields<'_>, name: &str, key: &str) -> Option<Range<usize>> {
    let Some(Kind::Table(systems)) = f.get("systems").map(|v| &v.kind) else {
        return None;
    };
    let entry = systems.entries.iter().find(|e| e.key == name)?;
    let Kind::Table(table) = &entry.value.kind else {
        return None;
    };
    let value = &table.entries.iter().find(|e| e.key == key)?.value;
    Some(value.span.clone())
}

/// Every `[systems.NAME]` table, checked.
pub(super) fn systems(
    check: &Checker<'_>,
    f: &Fields<'_>,
) -> Option<BTreeMap<SystemName, SystemDef>> {
    let Some(v) = f.get("systems") else {
        return Some(BTreeMap::new());
    };
    let table = Fields::new(check.table("systems", v)?, "systems", v.span.clone());
    let mut systems = BTreeMap::new();
    for entry in table.all() {
        let field = format!("systems.{}", entry.key);
        let name = match entry.key.parse::<SystemName>() {
            Ok(name) if name.builtin().is_some() => {
                check.report(
                    entry.key_span.clone(),
                    &field,
                    format!("'{name}' is a built-in system: give yours another name"),
                );
                continue;
            }
            Ok(name) => name,
            Err(m) => {
                check.report(entry.key_span.clone(), &field, m);
                continue;
            }
        };
        if let Some(def) = system(check, &field, &entry.value) {
            systems.insert(name, def);
        }
    }
    // The right ones, even where others were wrong: the checks that use them (payload
    // against a template, a transport against its system) still run, and report their own
    // mistakes rather than echo these. A mistake here fails the scenario all the same.
    Some(systems)
}

/// One system's table.
fn system(check: &Checker<'_>, field: &str, v: &Value) -> Option<SystemDef> {
    let t = Fields::new(check.table(field, v)?, field, v.span.clone());
    let protocol = t
        .required(check, "protocol")
        .and_then(|p| check.choice::<Protocol>(&t.name("protocol"), p));
    let command = t
        .required(check, "command")
        .and_then(|c| command(check, &t.name("command"), c));
    let env = given(&t, "env", |e| env(check, &t.name("env"), e));
    let ready = given(&t, "ready", |r| {
        let s = check.string(&t.name("ready"), r)?;
        if s.is_empty() {
            return check.fail(r.span.clone(), &t.name("ready"), "must not be empty");
        }
        Some(s.to_owned())
    });
    let path = given(&t, "path", |p| {
        let s = check.string(&t.name("path"), p)?;
        if !s.starts_with('/') {
            return check.fail(p.span.clone(), &t.name("path"), "must start with '/'");
        }
        Some((s.to_owned(), p.span.clone()))
    });
    let runtime = given(&t, "runtime", |r| {
        check.string(&t.name("runtime"), r).map(str::to_owned)
    });
    let ready_timeout = given(&t, "ready_timeout", |d| {
        check.duration(&t.name("ready_timeout"), d)
    });
    let tls = given(&t, "tls", |b| check.boolean(&t.name("tls"), b));
    let compression = given(&t, "compression", |b| {
        check.boolean(&t.name("compression"), b)
    });
    t.reject_unknown(check, &KEYS);
    let (protocol, command, env) = (protocol?, command?, env?.unwrap_or_default());
    let path = match path? {
        Some((_, span)) if protocol != Protocol::Ws => {
            return check.fail(
                span,
                &t.name("path"),
                "applies to protocol = \"ws\" (Socket.IO's path is /socket.io/)",
            );
        }
        Some((path, _)) => path,
        None => "/".to_owned(),
    };
    let told = command
        .iter()
        .chain(env.values())
        .any(|s| s.contains(PORT_PLACEHOLDER));
    if !told {
        return check.fail(
            v.span.clone(),
            field,
            "the server must be told its port: put {port} in its command or env (e.g. \
             env = { PORT = \"{port}\" })",
        );
    }
    let runtime = runtime?.unwrap_or_else(|| program(&command[0]));
    Some(SystemDef {
        protocol,
        runtime,
        start: CommandSpec {
            command,
            env,
            ready: ready?,
            path,
            ready_timeout: ready_timeout?.unwrap_or(super::HumanDuration(READY_TIMEOUT)),
            dir: scenario_dir(check.file),
        },
        tls: tls?.unwrap_or(false),
        compression: compression?.unwrap_or(false),
    })
}

/// The directory a scenario file is in (`.` for a bare file name): where its commands run.
pub(super) fn scenario_dir(file: &std::path::Path) -> std::path::PathBuf {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    }
}

/// A command line: a non-empty list of strings.
fn command(check: &Checker<'_>, field: &str, v: &Value) -> Option<Vec<String>> {
    let Kind::Array(items) = &v.kind else {
        return check.fail(
            v.span.clone(),
            field,
            format!(
                "must be a list such as [\"node\", \"server.js\"], not {}",
                v.describe()
            ),
        );
    };
    if items.is_empty() {
        return check.fail(v.span.clone(), field, "must name a program to run");
    }
    items
        .iter()
        .map(|i| check.string(field, i).map(str::to_owned))
        .collect::<Vec<_>>()
        .into_iter()
        .collect()
}

/// An environment: a table of strings.
fn env(check: &Checker<'_>, field: &str, v: &Value) -> Option<BTreeMap<String, String>> {
    let t = Fields::new(check.table(field, v)?, field, v.span.clone());
    let mut env = BTreeMap::new();
    let mut ok = true;
    for entry in t.all() {
        let name_ok = !entry.key.is_empty()
            && entry
                .key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !name_ok {
            check.report(
                entry.key_span.clone(),
                field,
                format!("'{}' is not an environment variable name", entry.key),
            );
            ok = false;
            continue;
        }
        match check.string(&format!("{field}.{}", entry.key), &entry.value) {
            Some(value) => {
                env.insert(entry.key.clone(), value.to_owned());
            }
            None => ok = false,
        }
    }
    ok.then_some(env)
}

/// The program's name without its directory: `node` for `/usr/bin/node`.
/// `wsbench serve` (`{wsbench}`) runs on wsbench's own runtime.
fn program(path: &str) -> String {
    if path == crate::system::WSBENCH_PLACEHOLDER {
        return "rust".to_owned();
    }
    path.rsplit('/').next().unwrap_or(path).to_owned()
}

/// The protocol of system `name`: one of `systems`, or a built-in one.
pub(super) fn protocol_of(
    name: &SystemName,
    systems: &BTreeMap<SystemName, SystemDef>,
) -> Option<Protocol> {
    systems
        .get(name)
        .map(|d| d.protocol)
        .or_else(|| name.builtin())
}

/// What an unknown name could have been.
fn known(systems: &BTreeMap<SystemName, SystemDef>) -> String {
    let mut names: Vec<String> = Protocol::ALL
        .iter()
        .map(|p| p.as_str().to_owned())
        .collect();
    names.extend(systems.keys().map(ToString::to_string));
    names.join(", ")
}

/// The systems measured: the file's list, checked, or `--transport`'s.
pub(super) fn transports(
    check: &Checker<'_>,
    f: &Fields<'_>,
    o: &Overrides,
    systems: &BTreeMap<SystemName, SystemDef>,
) -> Option<Vec<SystemName>> {
    let declared = declared(f);
    let is_known = |name: &SystemName| {
        protocol_of(name, systems).is_some() || declared.iter().any(|d| d == name.as_str())
    };
    let v = f.required(check, "transports")?;
    let Kind::Array(items) = &v.kind else {
        return check.fail(
            v.span.clone(),
            "transports",
            format!(
                "must be a list such as [\"ws\", \"socketio\"], not {}",
                v.describe()
            ),
        );
    };
    let before = check.count();
    let unknown =
        |name: &SystemName| format!("unknown transport '{name}' (expected {})", known(systems));
    let mut names: Vec<SystemName> = Vec::new();
    for item in items {
        let Some(name) = check.choice::<SystemName>("transports", item) else {
            continue;
        };
        if !is_known(&name) {
            check.report(item.span.clone(), "transports", unknown(&name));
        } else if names.contains(&name) {
            check.report(
                item.span.clone(),
                "transports",
                format!("'{name}' is listed twice"),
            );
        }
        names.push(name);
    }
    if items.is_empty() {
        check.report(
            v.span.clone(),
            "transports",
            "must name at least one transport",
        );
    }
    for name in o.compared.iter().filter(|n| !is_known(n)) {
        check.push(ScenarioError::flag("--transport", unknown(name)));
    }
    if check.count() > before {
        return None;
    }
    Some(if o.compared.is_empty() {
        names
    } else {
        o.compared.clone()
    })
}

/// A system whose protocol has no built-in server needs a `[target]` or a command; an
/// outage restarts wsbench's own servers only.
pub(super) fn servers_exist(check: &Checker<'_>, f: &Fields<'_>, c: &Common) {
    if let Some(outage) = &c.outage
        && let Some(name) = c.compared.iter().find(|t| c.systems.contains_key(*t))
    {
        check.report(
            outage.span.clone(),
            "outage",
            format!("kills and restarts wsbench's own servers; {name} is a [systems] server"),
        );
    }
    // A system whose own table was wrong is not also "without a server": said once.
    let declared = declared(f);
    for name in &c.compared {
        let started = c.systems.contains_key(name)
            || declared.iter().any(|d| d == name.as_str())
            || name.builtin().is_some_and(|p| p.spec().server.is_some());
        if !started && !c.target.contains_key(name) {
            let at = f.get("transports").map_or(0..0, |v| v.span.clone());
            check.report(
                at,
                "transports",
                format!("{name} has no built-in server: name yours with [target] {name} = URL"),
            );
        }
    }
}

/// rust_socketio (long-polling, or `socketio_client = "rust_socketio"`) reads on its own
/// and only broadcasts: modes, outages and slow consumers need the lean clients.
pub(super) fn client_library(check: &Checker<'_>, c: &Common) {
    let no_adapter = crate::adapter::Adapter::default();
    let adapter = |name: &SystemName| c.adapters.get(name).unwrap_or(&no_adapter);
    let uses_rust_socketio: Vec<&str> = c
        .compared
        .iter()
        .filter(|name| {
            protocol_of(name, &c.systems).is_some_and(|p| {
                ClientLibrary::choose(p, c.socketio_client, adapter(name))
                    == ClientLibrary::RustSocketio
            })
        })
        .map(SystemName::as_str)
        .collect();
    if uses_rust_socketio.is_empty() {
        return;
    }
    let who = format!(
        "{} {} rust_socketio ({})",
        uses_rust_socketio.join(" and "),
        if uses_rust_socketio.len() == 1 {
            "uses"
        } else {
            "use"
        },
        if c.socketio_client == SocketioClient::RustSocketio {
            "socketio_client = \"rust_socketio\"; \"lean\" would not"
        } else {
            "long-polling always does"
        }
    );
    let polls_by_adapter = c
        .compared
        .iter()
        .any(|n| protocol_of(n, &c.systems) == Some(Protocol::Socketio) && polls(adapter(n)));
    let who = if polls_by_adapter {
        format!("{who}; an adapter's transports starting with polling use it too")
    } else {
        who
    };
    if c.mode.v != Mode::Broadcast {
        check.report(
            c.mode.span.clone(),
            "mode",
            format!(
                "mode = \"{}\" needs the lean Socket.IO client, but {who}, which only broadcasts",
                c.mode.v
            ),
        );
    }
    if let Some(outage) = &c.outage {
        check.report(
            outage.span.clone(),
            "outage",
            format!(
                "an outage needs the lean clients, which reconnect the way socket.io-client does, but {who}"
            ),
        );
    }
    if let Some(stalled) = c.stalled.as_ref().filter(|s| s.v > 0.0) {
        check.report(
            stalled.span.clone(),
            "stalled",
            format!("slow consumers need the lean clients, but {who}, which reads on its own"),
        );
    }
}
