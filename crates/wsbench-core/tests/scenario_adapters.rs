//! `[adapter.NAME]` and `--allow-remote` in scenarios: read for the system's protocol, and
//! every mistake located with what to do about it.

use std::path::Path;

use wsbench_core::scenario::{Overrides, Scenario};
use wsbench_core::system::Protocol;

mod common;

use common::*;

#[test]
fn adapters_are_read_for_their_systems_protocol() {
    let valid = VALID.replace("payload = 64", "payload = 66");
    let text = format!(
        r#"{valid}
[adapter.ws]
template = '{{"type":"chat","text":"{{probe}}"}}'
subprotocols = ["chat.v1"]
headers = ["Authorization: Bearer x"]
on_connect = ['{{"type":"subscribe","room":"{{room}}"}}']
query = {{ token = "t" }}

[adapter.socketio]
event = "chat message"
namespace = "/chat"
auth = '{{"token":"abc"}}'
transports = ["polling", "websocket"]
"#
    );
    let s = parse(&text).unwrap();
    let ws = &s.adapter[&name(Protocol::Ws)];
    assert_eq!(ws.template_overhead(), 25);
    assert_eq!(
        ws.header_pairs(1, 0),
        [("Authorization".into(), "Bearer x".into())]
    );
    let sio = &s.adapter[&name(Protocol::Socketio)];
    assert_eq!(
        (sio.event(), sio.receive_event()),
        ("chat message", "chat message")
    );
    assert_eq!(
        sio.engine_mode(),
        Some(wsbench_core::adapter::EngineMode::PollingThenUpgrade)
    );
    assert!(!s.allow_remote);
}

#[test]
fn adapter_mistakes_are_located_and_say_what_to_do() {
    let text = format!(
        r#"{VALID}
[adapter.ws]
template = '{{"type":"chat"}}'
headers = ["Authorization Bearer x"]
event = "x"

[adapter.socketio]
event = ""
auth = "token=abc"
namespace = "chat"
transports = ["websocket", "websocket"]
"#
    );
    let err = parse(&text).unwrap_err();
    let lines: Vec<&str> = err.lines().collect();
    let expect = [
        "x.toml:15:12: adapter.ws.template: must hold {probe} where the probe goes",
        "x.toml:16:12: adapter.ws.headers: 'Authorization Bearer x' is not a header: write 'Name: value'",
        "x.toml:17:9: adapter.ws.event: applies to Socket.IO systems only",
        "x.toml:20:9: adapter.socketio.event: must not be empty",
        "x.toml:21:8: adapter.socketio.auth: is not JSON",
        "x.toml:22:13: adapter.socketio.namespace: must start with '/'",
        "x.toml:23:28: adapter.socketio.transports: is listed twice",
    ];
    assert_eq!(lines.len(), expect.len(), "{err}");
    for (line, want) in lines.iter().zip(expect) {
        assert!(line.contains(want), "expected «{want}», got «{line}»");
    }
}

#[test]
fn a_template_must_leave_the_probe_room_in_the_payload() {
    let template = "\n[adapter.ws]\ntemplate = '{\"type\":\"chat\",\"text\":\"{probe}\"}'\n";
    let err = parse(&format!("{VALID}{template}")).unwrap_err();
    assert!(
        err.contains("x.toml:7:11: payload: 64 bytes leave 39 for the probe inside adapter.ws.template (25 bytes around it); the probe needs 41: make payload at least 66"),
        "{err}"
    );
    assert!(
        parse(&format!(
            "{}{template}",
            VALID.replace("payload = 64", "payload = 66")
        ))
        .is_ok()
    );
}

#[test]
fn a_remote_target_needs_allow_remote_from_the_command_line() {
    let text = format!("{VALID}[target]\nws = \"ws://10.200.1.2:9000/\"\n");
    let err = parse(&text).unwrap_err();
    assert!(
        err.contains("is not on this machine") && err.contains("--allow-remote"),
        "{err}"
    );
    let allowed = Overrides {
        allow_remote: true,
        ..Overrides::default()
    };
    let s = Scenario::parse(Path::new("scenarios/x.toml"), &text, &allowed).unwrap();
    assert!(s.allow_remote);
    // The file cannot allow it itself.
    let err = parse(&format!("allow_remote = true\n{text}")).unwrap_err();
    assert!(err.contains("unknown field `allow_remote`"), "{err}");
}

/// One mistake does not hide another, nor is it said twice: an adapter naming no system
/// does not hide the payload too small for another's template (it did: one wrong adapter
/// dropped them all); a system refused for its own mistake is not also "without a
/// server", its adapter is not "naming no system", and the adapter's own mistakes show.
#[test]
fn every_mistake_is_said_once_and_none_hides_another() {
    let template = "\n[adapter.ws]\ntemplate = '{\"type\":\"chat\",\"text\":\"{probe}\"}'\n";
    let ghost = "\n[adapter.ghost]\ntemplate = \"x\"\n";
    let err = parse(&format!("{VALID}{template}{ghost}")).unwrap_err();
    assert!(err.contains("'ghost' names no system"), "{err}");
    assert!(
        err.contains("payload: 64 bytes leave 39 for the probe"),
        "{err}"
    );

    let text = format!(
        "{}\n[systems.chat]\nprotocol = \"ws\"\ncommand = [\"node\", \"chat.js\"]\n\
         \n[adapter.chat]\nbogus = 1\n",
        VALID.replace(
            "transports = [\"ws\", \"socketio\"]",
            "transports = [\"ws\", \"chat\"]"
        )
    );
    let err = parse(&text).unwrap_err();
    assert!(
        err.contains("systems.chat: the server must be told its port"),
        "{err}"
    );
    assert!(err.contains("adapter.chat.bogus: unknown field"), "{err}");
    assert!(!err.contains("has no built-in server"), "{err}");
    assert!(!err.contains("'chat' names no system"), "{err}");
    assert_eq!(err.lines().count(), 2, "{err}");
}
