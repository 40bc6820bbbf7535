//! `[adapter.NAME]`: how the clients speak to system NAME's server when it is not
//! wsbench's own (see [`crate::adapter`]). Every field is checked against the system's
//! protocol, so that a Socket.IO field on a raw WebSocket system is named, not ignored.

use super::check::given;
use super::checker::{Checker, Fields};
use super::systems::{SystemDef, protocol_of};
use super::toml::{Kind, Value};
use crate::adapter::{Adapter, CLIENT, EngineTransport, PROBE, ROOM, split_header};
use crate::system::{ADAPTER_KEYS_ANY, Family, SystemName};
use std::collections::BTreeMap;

/// Every adapter, checked; `None` if any was wrong.
pub(super) fn adapters(
    check: &Checker<'_>,
    f: &Fields<'_>,
    systems: &BTreeMap<SystemName, SystemDef>,
) -> Option<BTreeMap<SystemName, Adapter>> {
    let Some(v) = f.get("adapter") else {
        return Some(BTreeMap::new());
    };
    let table = Fields::new(check.table("adapter", v)?, "adapter", v.span.clone());
    let mut adapters = BTreeMap::new();
    for entry in table.all() {
        let field = format!("adapter.{}", entry.key);
        let named = entry.key.parse::<SystemName>().ok();
        // A system refused for a mistake of its own is still named: its adapter is checked
        // against the protocol its table says, if it says one it can.
        let protocol = named.as_ref().and_then(|n| {
            protocol_of(n, systems).or_else(|| super::systems::declared_protocol(f, &entry.key))
        });
        let Some((name, family)) = named.zip(protocol).map(|(n, p)| (n, p.spec().family)) else {
            if !super::systems::declared(f).contains(&entry.key) {
                let message = format!("'{}' names no system of this scenario", entry.key);
                check.report(entry.key_span.clone(), "adapter", message);
            }
            continue;
        };
        if let Some(a) = adapter(check, &field, &entry.value, family) {
            adapters.insert(name, a);
        }
    }
    // The right ones, even where others were wrong: the checks that use them (payload
    // against a template, a transport against its system) still run, and report their own
    // mistakes rather than echo these. A mistake here fails the scenario all the same.
    Some(adapters)
}

/// One system's adapter, for a server of `family`.
fn adapter(check: &Checker<'_>, field: &str, v: &Value, family: Family) -> Option<Adapter> {
    let t = Fields::new(check.table(field, v)?, field, v.span.clone());
    let own = family.adapter_keys();
    let others = Family::ALL.into_iter().filter(|f| *f != family);
    let other: Vec<(&str, Family)> = others
        .flat_map(|f| f.adapter_keys().iter().map(move |k| (*k, f)))
        .filter(|(k, _)| !own.contains(k))
        .collect();
    for (key, theirs) in &other {
        if let Some(v) = t.get(key) {
            check.report(
                v.span.clone(),
                &t.name(key),
                format!("applies to {} systems only", theirs.label()),
            );
        }
    }
    let text = |key: &str, rule: &dyn Fn(&str) -> Option<String>| {
        given(&t, key, |v| {
            let s = check.string(&t.name(key), v)?;
            match rule(s) {
                Some(m) => check.fail(v.span.clone(), &t.name(key), m),
                None => Some(s.to_owned()),
            }
        })
    };
    // Every field is read before any is given up on, so that all mistakes are reported.
    let template = text("template", &template_rule);
    let subprotocols = strings(check, &t, "subprotocols", &token_rule);
    let on_connect = strings(check, &t, "on_connect", &|s| {
        s.contains(PROBE).then(|| {
            format!("messages sent after connecting carry no probe: only {CLIENT} and {ROOM} are replaced")
        })
    });
    let echo_path = text("echo_path", &path_rule);
    let room_path = text("room_path", &path_rule);
    let headers = strings(check, &t, "headers", &header_rule);
    let query = query(check, &t);
    let event = text("event", &event_rule);
    let receive_event = text("receive_event", &event_rule);
    let join_event = text("join_event", &event_rule);
    let echo_event = text("echo_event", &event_rule);
    let namespace = text("namespace", &path_rule);
    let path = text("path", &path_rule);
    let auth = text("auth", &auth_rule);
    let transports = transports(check, &t);
    let mut known: Vec<&str> = own.to_vec();
    known.extend(ADAPTER_KEYS_ANY);
    known.extend(other.iter().map(|(k, _)| *k));
    t.reject_unknown(check, &known);
    Some(Adapter {
        template: template?,
        subprotocols: subprotocols?,
        on_connect: on_connect?,
        echo_path: echo_path?,
        room_path: room_path?,
        headers: headers?,
        query: query?,
        event: event?,
        receive_event: receive_event?,
        join_event: join_event?,
        echo_event: echo_event?,
        namespace: namespace?,
        path: path?,
        auth: auth?,
        transports: transports?,
    })
}

fn template_rule(s: &str) -> Option<String> {
    match s.matches(PROBE).count() {
        1 => None,
        0 => Some(format!(
            "must hold {PROBE} where the probe goes, e.g. '{{\"type\":\"chat\",\"text\":\"{PROBE}\"}}'"
        )),
        _ => Some(format!("holds {PROBE} more than once: keep one")),
    }
}

fn event_rule(s: &str) -> Option<String> {
    s.is_empty()
        .then(|| "must not be empty: name the event your server listens to".to_owned())
}

fn path_rule(s: &str) -> Option<String> {
    (!s.starts_with('/')).then(|| format!("must start with '/' (e.g. '/{s}')"))
}

fn token_rule(s: &str) -> Option<String> {
    let ok = !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic() && c != ',');
    (!ok).then(|| format!("'{s}' is not a subprotocol name (no spaces or commas)"))
}

fn header_rule(s: &str) -> Option<String> {
    split_header(s).is_none().then(|| {
        format!("'{s}' is not a header: write 'Name: value' (e.g. 'Authorization: Bearer TOKEN')")
    })
}

fn auth_rule(s: &str) -> Option<String> {
    match serde_json::from_str::<serde_json::Value>(s) {
        Ok(serde_json::Value::Object(_)) => None,
        Ok(_) => Some(
            "must be a JSON object, as socket.io-client's auth option (e.g. '{\"token\":\"abc\"}')"
                .to_owned(),
        ),
        Err(e) => Some(format!(
            "is not JSON ({e}): write a JSON object such as '{{\"token\":\"abc\"}}'"
        )),
    }
}

/// A list of strings, each checked by `rule`.
fn strings(
    check: &Checker<'_>,
    t: &Fields<'_>,
    key: &str,
    rule: &dyn Fn(&str) -> Option<String>,
) -> Option<Vec<String>> {
    let field = t.name(key);
    let read = |v: &Value| {
        let Kind::Array(items) = &v.kind else {
            return check.fail(
                v.span.clone(),
                &field,
                format!("must be a list of strings, not {}", v.describe()),
            );
        };
        let each = |i: &Value| {
            let s = check.string(&field, i)?;
            match rule(s) {
                Some(m) => check.fail(i.span.clone(), &field, m),
                None => Some(s.to_owned()),
            }
        };
        let all: Vec<Option<String>> = items.iter().map(each).collect();
        all.into_iter().collect()
    };
    Some(given(t, key, read)?.unwrap_or_default())
}

/// `query = { name = "value" }`.
fn query(check: &Checker<'_>, t: &Fields<'_>) -> Option<BTreeMap<String, String>> {
    let field = t.name("query");
    let read = |v: &Value| {
        let q = Fields::new(check.table(&field, v)?, &field, v.span.clone());
        let mut out = BTreeMap::new();
        let mut ok = true;
        for e in q.all() {
            match check.string(&format!("{field}.{}", e.key), &e.value) {
                Some(s) => {
                    out.insert(e.key.clone(), s.to_owned());
                }
                None => ok = false,
            }
        }
        ok.then_some(out)
    };
    Some(given(t, "query", read)?.unwrap_or_default())
}

/// `transports = ["polling", "websocket"]`: engine.io's, each once.
fn transports(check: &Checker<'_>, t: &Fields<'_>) -> Option<Vec<EngineTransport>> {
    let field = t.name("transports");
    let read = |v: &Value| {
        let Kind::Array(items) = &v.kind else {
            return check.fail(
                v.span.clone(),
                &field,
                "must be a list such as [\"polling\", \"websocket\"]",
            );
        };
        if items.is_empty() {
            return check.fail(v.span.clone(), &field, "must allow at least one transport");
        }
        let mut out = Vec::new();
        for i in items {
            let tr = check.choice::<EngineTransport>(&field, i)?;
            if out.contains(&tr) {
                return check.fail(i.span.clone(), &field, "is listed twice");
            }
            out.push(tr);
        }
        Some(out)
    };
    Some(given(t, "transports", read)?.unwrap_or_default())
}

/// Where a payload too small for a system's template is reported, and what it says.
pub(super) fn payload_fits(
    adapters: &BTreeMap<SystemName, Adapter>,
    compared: &[SystemName],
    payload: u64,
) -> Vec<String> {
    let need = crate::probe::HEADER_LEN as u64;
    compared
        .iter()
        .filter_map(|name| Some((name, adapters.get(name)?)))
        .filter_map(|(name, a)| {
            let around = a.template_overhead() as u64;
            (payload < around + need).then(|| {
                format!(
                    "{payload} bytes leave {} for the probe inside adapter.{name}.template \
                     ({around} bytes around it); the probe needs {need}: make payload at \
                     least {}",
                    payload.saturating_sub(around),
                    around + need
                )
            })
        })
        .collect()
}
