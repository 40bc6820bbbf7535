//! `wsbench run --io tokio|epoll|uring`: every way the lean clients read keeps the
//! accounting exact on every job of the server contract, for both transports, and the
//! result says which way was used and, where one was asked for by name and not used, why.
//! Real binary, real servers, real sockets; the rest of the suite runs on the default
//! (`auto`).

mod common;

use common::*;
use wsbench_core::io_path::IoPath;
use wsbench_core::result::SystemRun;

/// The smoke scenario with `mode` (20 clients; rooms of 5), ws and socketio.
fn job(dir: &std::path::Path, mode: &str) -> std::path::PathBuf {
    let extra = match mode {
        "rooms" => "mode = \"rooms\"\nroom_size = 5\n",
        "echo" => "mode = \"echo\"\n",
        _ => "",
    };
    let name = format!("name = \"io-{mode}\"\n{extra}");
    small_scenario(dir, &[("name = \"smoke\"", name.trim_end())], "")
}

/// Checks the path `run` read by against `--io io`: io_uring may have been refused by
/// the kernel (a container may forbid it), and then the batched epoll receiver read, the
/// refusal named.
fn check_path(run: &SystemRun, io: &str) {
    let l = &run.loadgen;
    if io == "uring" && l.io == IoPath::Epoll {
        let note = l.io_note.as_deref().unwrap_or_default();
        assert!(note.contains("cannot set up io_uring"), "{note:?}");
        eprintln!("NOTE: io_uring is refused here ({note}): the epoll fallback was tested");
        return;
    }
    assert_eq!(l.io, io.parse().unwrap(), "{:?}", run.system);
    assert_eq!(l.io_note, None, "{:?} {io}", run.system);
}

#[test]
fn every_io_path_accounts_every_job_exactly_on_both_transports() {
    let out = temp_dir("io-paths");
    for mode in ["broadcast", "echo", "rooms"] {
        let path = job(&out, mode);
        for io in ["tokio", "epoll", "uring"] {
            let dir = out.join(format!("{mode}-{io}"));
            let result = run_ok(&path, &dir, &["--io", io]);
            assert_eq!(result.runs.len(), 2, "{mode} {io}");
            for run in &result.runs {
                assert_contract_job(run, mode);
                let m = &run.messages;
                assert_eq!((m.out_of_order, m.foreign), (0, 0), "{mode} {io}");
                // The bytes are counted either way, at the clients' sockets.
                assert!(run.wire.bytes_read > 0 && run.wire.bytes_written > 0);
                check_path(run, io);
            }
        }
    }
    std::fs::remove_dir_all(out).unwrap();
}

/// Through an outage a batched receiver hands each client's ledger to its next
/// connection: nothing counted twice, every client back, every delivery accounted.
#[test]
fn batched_clients_reconnect_without_counting_anything_twice() {
    let out = temp_dir("io-reconnect");
    let path = small_reconnect(&out, "");
    for io in ["epoll", "uring"] {
        let result = run_ok(&path, &out.join(io), &["--io", io]);
        for run in &result.runs {
            check_path(run, io);
            let o = run.outage.as_ref().expect("an outage");
            assert_eq!(o.reconnected, 20, "{:?} {io}", run.system);
            let m = &run.messages;
            assert_eq!(
                (m.duplicated, m.misrouted, m.foreign),
                (0, 0, 0),
                "{io} {m:?}"
            );
            assert!(m.delivered > 0, "{io} {m:?}");
            assert_eq!(m.delivered + m.lost, m.expected, "{io} {m:?}");
        }
    }
    std::fs::remove_dir_all(out).unwrap();
}

/// Clients that cannot read through a batched receiver (TLS here) read a task per
/// client, and the result says why where a receiver was asked for by name.
#[test]
fn clients_a_receiver_cannot_serve_read_a_task_each_and_the_result_says_why() {
    let out = temp_dir("io-tls");
    let path = small_of_200(&out, "tls.toml", &[]);
    let args = ["--io", "uring", "--repeat", "1"];
    let systems = ["--transport", "ws-tls", "--transport", "socketio-tls"];
    let result = run_ok(&path, &out, &[&args[..], &systems[..]].concat());
    assert_eq!(result.runs.len(), 2);
    for run in &result.runs {
        assert!(run.status.measured(), "{:?}", run.error);
        assert_eq!(run.messages.delivered, run.messages.expected);
        assert_eq!(run.loadgen.io, IoPath::Tokio);
        let note = run.loadgen.io_note.as_deref().unwrap_or_default();
        assert!(note.contains("TLS"), "{note:?}");
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let line = "a task per client on tokio's reactor (--io tokio) (TLS clients read through \
                rustls) for ws-tls, socketio-tls";
    assert!(md.contains(line), "{md}");
    std::fs::remove_dir_all(out).unwrap();
}

/// `--server-io`: the ws server writes its broadcasts through io_uring or one `send` per
/// recipient, the accounting exact either way, and the result and the report say which.
#[test]
fn the_ws_server_writes_by_the_path_asked_for_and_says_so() {
    let out = temp_dir("server-io");
    for mode in ["broadcast", "rooms"] {
        let path = job(&out, mode);
        for io in ["epoll", "uring"] {
            let dir = out.join(format!("{mode}-{io}"));
            let result = run_ok(&path, &dir, &["--server-io", io]);
            let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
            for run in &result.runs {
                assert_contract_job(run, mode);
                let server = run.server.as_ref().unwrap();
                let asked = run.system.as_str() == "ws" && io == "uring";
                match &server.io_note {
                    Some(why) if asked => {
                        assert!(why.contains("cannot set up io_uring"), "{why}");
                        eprintln!("NOTE: io_uring is refused here ({why})");
                    }
                    note => {
                        assert_eq!(note, &None, "{:?} {io}", run.system);
                        assert_eq!(server.io.is_uring(), asked, "{:?} {io}", run.system);
                        let said = report.contains(&format!("{} through io_uring", run.system));
                        assert_eq!(said, asked, "{io}: {report}");
                    }
                }
            }
        }
    }
    std::fs::remove_dir_all(out).unwrap();
}
