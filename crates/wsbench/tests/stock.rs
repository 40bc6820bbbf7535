//! `ws-stock`, the raw-WebSocket server written as tokio-tungstenite's example writes one
//! (`wsbench serve ws-stock`), measured as a `[systems]` command beside the tuned `ws`
//! server in the three jobs of the server contract: broadcast, echo and rooms, each with
//! exact accounting (everything owed arrives, nothing outside its scope).

mod common;

use common::*;

fn stock_scenario(dir: &std::path::Path, mode: &str) -> std::path::PathBuf {
    let top = match mode {
        "broadcast" => String::new(),
        _ => format!("mode = \"{mode}\"\n"),
    };
    let top = if mode == "rooms" {
        format!("{top}room_size = 5\n")
    } else {
        top
    };
    scenario_copy(
        dir,
        "smoke.toml",
        &[
            (
                "transports = [\"ws\", \"socketio\"]",
                &format!("transports = [\"ws\", \"ws-stock\"]\n{top}"),
            ),
            ("duration = \"2s\"", "duration = \"1s\""),
        ],
        "\n[systems.ws-stock]\nprotocol = \"ws\"\ncommand = [\"{wsbench}\", \"serve\", \
         \"ws-stock\", \"--listen\", \"127.0.0.1:{port}\"]\nready = \"ready\"\n",
    )
}

#[test]
fn the_stock_server_does_every_job_of_the_contract_with_exact_accounting() {
    for mode in ["broadcast", "echo", "rooms"] {
        let dir = temp_dir(&format!("stock-{mode}"));
        let path = stock_scenario(&dir, mode);
        let result = run_ok(&path, &dir.join("out"), &[]);
        assert_eq!(result.runs.len(), 2, "{mode}");
        for run in &result.runs {
            assert_contract_job(run, mode);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}

/// The example server serves plain `ws://` on one node: asking it for TLS is a usage
/// error before it listens.
#[test]
fn the_stock_server_refuses_tls() {
    let out = wsbench()
        .args(["serve", "ws-stock", "--listen", "127.0.0.1:0", "--tls"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ws-stock serves plain ws://"), "{stderr}");
}

/// The seed's Node server without its log line per message (`QUIET=1`, `node-ws-quiet` in
/// shootout.toml) is still the seed's server: it relays everything owed.
#[test]
fn the_seeds_server_without_its_log_line_relays_everything() {
    if node_modules("the_seeds_server_without_its_log_line_relays_everything").is_none() {
        return;
    }
    let dir = temp_dir("node-quiet");
    let path = scenario_copy(
        &dir,
        "smoke.toml",
        &[
            (
                "transports = [\"ws\", \"socketio\"]",
                "transports = [\"node-ws-quiet\"]",
            ),
            ("duration = \"2s\"", "duration = \"1s\""),
        ],
        "\n[systems.node-ws-quiet]\nprotocol = \"ws\"\ncommand = [\"node\", \
         \"../servers/node/ws-server.js\"]\nenv = { PORT = \"{port}\", QUIET = \"1\" }\n",
    );
    let result = run_ok(&path, &dir.join("out"), &[]);
    let m = &result.runs[0].messages;
    assert!(m.sent > 0, "{m:?}");
    assert_eq!(m.delivered, m.expected, "{m:?}");
    assert_eq!(m.expected, m.sent * 19, "{m:?}");
    std::fs::remove_dir_all(dir).unwrap();
}
