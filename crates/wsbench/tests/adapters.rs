//! Load-testing servers that are not wsbench's: adapters that speak their conventions
//! (tests/servers/*.js, written for these tests the way chat servers are written), exact
//! accounting through them, the run's answer when nothing comes back, and `--allow-remote`.
//! Real Node.js servers as child processes, on loopback.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::*;
use wsbench_core::result::Status;

/// Node.js with the `ws` and `socket.io` packages of servers/node, or `None` (the test is
/// skipped, except under CI, which must have them).
fn node_modules(test: &str) -> Option<PathBuf> {
    common::node_modules(test)
}

/// The smoke scenario measuring system `chat`: the test server `script` under Node.js,
/// spoken to through `adapter` (the body of `[adapter.chat]`), in `mode` (top-level lines,
/// empty for broadcast).
fn chat_scenario(
    dir: &Path,
    modules: &Path,
    (protocol, script): (&str, &str),
    adapter: &str,
    mode: &str,
) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/servers")
        .join(script);
    let system = format!(
        "\n[systems.chat]\nprotocol = \"{protocol}\"\ncommand = [\"node\", {:?}]\n\
         env = {{ PORT = \"{{port}}\", NODE_PATH = {:?} }}\nready = \"listening\"\n\
         \n[adapter.chat]\n{adapter}\n",
        script.display().to_string(),
        modules.display().to_string(),
    );
    small_scenario(
        dir,
        &[
            (
                "transports = [\"ws\", \"socketio\"]",
                "transports = [\"chat\"]",
            ),
            ("payload = 64", "payload = 128"),
            (
                "encoding = \"text\"",
                &format!("encoding = \"text\"\n{mode}"),
            ),
        ],
        &system,
    )
}

const ENVELOPE_ADAPTER: &str = r#"template = '{"type":"chat","room":"lobby","text":"{probe}"}'
subprotocols = ["chat.v1"]
headers = ["Authorization: Bearer test-token"]
on_connect = ['{"type":"subscribe","room":"lobby"}']"#;

const CHAT_ADAPTER: &str = r#"event = "chat message"
namespace = "/chat"
path = "/realtime/"
auth = '{"token":"test-token"}'"#;

#[test]
fn a_json_envelope_server_that_wraps_what_it_relays_is_counted_exactly() {
    let Some(modules) =
        node_modules("a_json_envelope_server_that_wraps_what_it_relays_is_counted_exactly")
    else {
        return;
    };
    let dir = temp_dir("envelope");
    let path = chat_scenario(
        &dir,
        &modules,
        ("ws", "envelope-ws.js"),
        ENVELOPE_ADAPTER,
        "",
    );
    let result = run_ok(&path, &dir.join("out"), &[]);
    let run = &result.runs[0];
    let m = &run.messages;
    assert!(m.expected > 0 && m.delivered == m.expected, "{m:?}");
    assert_eq!((m.duplicated, m.misrouted), (0, 0), "{m:?}");
    // The welcome and the subscription's answer: messages apart, not errors.
    assert!(m.foreign >= 2 * run.connections.connected, "{m:?}");
    // The whole message is the payload: the wire carries the template around the probe.
    assert!(run.wire.bytes_per_delivery > 128.0, "{:?}", run.wire);
    assert!(
        result
            .method
            .iter()
            .any(|l| l.contains("chat's clients spoke through an adapter")),
        "{:?}",
        result.method
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_socketio_server_with_its_own_namespace_event_path_and_auth_is_counted_exactly() {
    let Some(modules) = node_modules(
        "a_socketio_server_with_its_own_namespace_event_path_and_auth_is_counted_exactly",
    ) else {
        return;
    };
    let dir = temp_dir("chat-sio");
    // wsbench's lean client (websocket from the start), then rust_socketio's polling and
    // upgrade, as socket.io-client does by default.
    for (name, transports) in [
        ("lean", ""),
        ("upgrade", "transports = [\"polling\", \"websocket\"]"),
    ] {
        let adapter = format!("{CHAT_ADAPTER}\n{transports}");
        let path = chat_scenario(&dir, &modules, ("socketio", "chat-sio.js"), &adapter, "");
        let out = dir.join(name);
        let result = run_ok(&path, &out, &[]);
        let m = &result.runs[0].messages;
        assert!(m.expected > 0 && m.delivered == m.expected, "{name}: {m:?}");
        assert_eq!((m.duplicated, m.misrouted), (0, 0), "{name}: {m:?}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn rooms_and_round_trips_keep_working_with_the_servers_own_names() {
    let Some(modules) =
        node_modules("rooms_and_round_trips_keep_working_with_the_servers_own_names")
    else {
        return;
    };
    let dir = temp_dir("adapter-modes");
    let rooms = "mode = \"rooms\"\nroom_size = 5";
    let ws_rooms = r#"template = '{"type":"chat","text":"{probe}"}'
subprotocols = ["chat.v1"]
headers = ["Authorization: Bearer test-token"]
on_connect = ['{"type":"subscribe","room":"{room}"}']"#;
    let sio_rooms = format!("{CHAT_ADAPTER}\njoin_event = \"enter\"");
    let sio_echo = format!("{CHAT_ADAPTER}\necho_event = \"say back\"");
    let cases = [
        ("ws-rooms", ("ws", "envelope-ws.js"), ws_rooms, rooms),
        (
            "sio-rooms",
            ("socketio", "chat-sio.js"),
            sio_rooms.as_str(),
            rooms,
        ),
        (
            "sio-echo",
            ("socketio", "chat-sio.js"),
            sio_echo.as_str(),
            "mode = \"echo\"",
        ),
    ];
    for (name, server, adapter, mode) in cases {
        let path = chat_scenario(&dir, &modules, server, adapter, mode);
        let result = run_ok(&path, &dir.join(name), &[]);
        let m = &result.runs[0].messages;
        assert!(m.expected > 0 && m.delivered == m.expected, "{name}: {m:?}");
        assert_eq!((m.duplicated, m.misrouted), (0, 0), "{name}: {m:?}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_server_that_relays_nothing_with_the_probe_is_named_not_shown_as_loss() {
    let Some(modules) =
        node_modules("a_server_that_relays_nothing_with_the_probe_is_named_not_shown_as_loss")
    else {
        return;
    };
    let dir = temp_dir("no-relay");
    // The server listens to 'chat message'; these clients emit 'chat'.
    let adapter = CHAT_ADAPTER.replace("event = \"chat message\"", "event = \"chat\"");
    let path = chat_scenario(&dir, &modules, ("socketio", "chat-sio.js"), &adapter, "");
    let (code, result) = run_with(&path, &dir.join("out"), &[]);
    assert_eq!(code, Some(1));
    let run = &result.runs[0];
    assert_eq!(run.status, Status::Failed);
    let error = run.error.as_deref().unwrap_or_default();
    assert!(
        error.contains(&format!("0 of {} delivered", run.messages.expected))
            && error.contains("relayed no message containing the probe")
            && error.contains("event names"),
        "{error}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// `wsbench run` with a target on another host: its exit code and stderr. The host's name
/// cannot resolve (`.invalid` is reserved), so nothing is ever sent off this machine.
fn run_remote(dir: &Path, extra_args: &[&str]) -> (Option<i32>, String) {
    let path = small_scenario(
        dir,
        &[(
            "transports = [\"ws\", \"socketio\"]",
            "transports = [\"ws\"]",
        )],
        "",
    );
    let child = wsbench()
        .arg("run")
        .arg(&path)
        .args(["--target", "ws=ws://load-target.invalid:8080/"])
        .args(extra_args)
        .arg("--out")
        .arg(dir.join("out"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (code, _, stderr) = wait_output(child, Duration::from_secs(120));
    (code, stderr)
}

#[test]
fn a_remote_target_is_refused_unless_allowed_on_the_command_line_and_then_recorded() {
    let dir = temp_dir("remote");
    let (code, stderr) = run_remote(&dir, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--target") && stderr.contains("--allow-remote"),
        "{stderr}"
    );
    assert!(!dir.join("out").exists());

    let (code, stderr) = run_remote(&dir, &["--allow-remote"]);
    assert!(
        stderr.contains("warning: --allow-remote: ws sends load to load-target.invalid"),
        "{stderr}"
    );
    // The name does not resolve: a failed result that says so, and records the permission.
    assert_eq!(code, Some(1), "{stderr}");
    let result = read_result(&dir.join("out"));
    assert!(result.scenario.allow_remote);
    assert!(
        result
            .method
            .iter()
            .any(|l| l.contains("load-target.invalid is not on this machine")),
        "{:?}",
        result.method
    );
    assert!(
        result.runs[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("cannot resolve")),
        "{:?}",
        result.runs[0].error
    );
    std::fs::remove_dir_all(dir).unwrap();
}
