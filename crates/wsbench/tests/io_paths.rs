//! `wsbench run --io epoll|uring`: both ways the lean clients read keep the accounting
//! exact on every job of the server contract, for both transports, and the result says
//! which way was used and, where io_uring was asked for and not used, why. Real binary,
//! real servers, real sockets; the rest of the suite runs on the default (`auto`).

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

/// The path a run asked to use io_uring read by: io_uring, or epoll with the kernel's
/// refusal named (a container may forbid io_uring; the clients then read on epoll).
fn uring_or_refused(run: &SystemRun) -> IoPath {
    let l = &run.loadgen;
    if l.io == IoPath::Epoll {
        let note = l.io_note.as_deref().unwrap_or_default();
        assert!(note.contains("cannot set up io_uring"), "{note:?}");
        eprintln!("NOTE: io_uring is refused here ({note}): the epoll fallback was tested");
    }
    l.io
}

#[test]
fn both_io_paths_account_every_job_exactly_on_both_transports() {
    let out = temp_dir("io-paths");
    for mode in ["broadcast", "echo", "rooms"] {
        let path = job(&out, mode);
        for io in ["epoll", "uring"] {
            let dir = out.join(format!("{mode}-{io}"));
            let result = run_ok(&path, &dir, &["--io", io]);
            assert_eq!(result.runs.len(), 2, "{mode} {io}");
            for run in &result.runs {
                assert_contract_job(run, mode);
                assert_eq!(run.messages.out_of_order, 0, "{mode} {io}");
                assert_eq!(run.messages.foreign, 0, "{mode} {io}");
                // The bytes are counted either way, at the clients' sockets.
                assert!(run.wire.bytes_read > 0 && run.wire.bytes_written > 0);
                let used = match io {
                    "epoll" => run.loadgen.io,
                    _ => uring_or_refused(run),
                };
                if io == "epoll" {
                    assert_eq!(used, IoPath::Epoll);
                    assert_eq!(run.loadgen.io_note, None);
                }
            }
        }
    }
    std::fs::remove_dir_all(out).unwrap();
}

/// Through an outage the io_uring receiver hands each client's ledger to its next
/// connection: nothing counted twice, every client back, every delivery accounted.
#[test]
fn io_uring_clients_reconnect_without_counting_anything_twice() {
    let out = temp_dir("io-reconnect");
    let path = small_reconnect(&out, "");
    let result = run_ok(&path, &out, &["--io", "uring"]);
    for run in &result.runs {
        uring_or_refused(run);
        let o = run.outage.as_ref().expect("an outage");
        assert_eq!(o.reconnected, 20, "{:?}", run.system);
        let m = &run.messages;
        assert_eq!((m.duplicated, m.misrouted, m.foreign), (0, 0, 0), "{m:?}");
        assert!(
            m.delivered > 0 && m.delivered + m.lost == m.expected,
            "{m:?}"
        );
    }
    std::fs::remove_dir_all(out).unwrap();
}

/// Clients that cannot read through the batched receiver (TLS here) read on epoll, and
/// the result says why where io_uring was asked for by name.
#[test]
fn clients_io_uring_cannot_serve_read_on_epoll_and_the_result_says_why() {
    let out = temp_dir("io-tls");
    let path = small_of_200(&out, "tls.toml", &[]);
    let args = [
        "--io",
        "uring",
        "--repeat",
        "1",
        "--transport",
        "ws-tls",
        "--transport",
        "socketio-tls",
    ];
    let result = run_ok(&path, &out, &args);
    assert_eq!(result.runs.len(), 2);
    for run in &result.runs {
        assert!(run.status.measured(), "{:?}", run.error);
        assert_eq!(run.messages.delivered, run.messages.expected);
        assert_eq!(run.loadgen.io, IoPath::Epoll);
        let note = run.loadgen.io_note.as_deref().unwrap_or_default();
        assert!(note.contains("TLS"), "{note:?}");
    }
    std::fs::remove_dir_all(out).unwrap();
}
