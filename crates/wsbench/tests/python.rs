//! The Python servers (servers/python: `websockets` with its `broadcast()`, and
//! python-socketio under uvicorn), measured as `[systems]` commands in the three jobs of the
//! server contract — broadcast, echo and rooms — with exact accounting, Socket.IO over both
//! of its transports in broadcast; and a scenario naming them before their venv is installed refused
//! up front with the command that installs it.

mod common;

use common::*;

/// The three systems as shootout.toml gives them, but for the program's path (absolute
/// here, since the scenario is copied out of the repository).
fn systems(python: &std::path::Path) -> String {
    let python = python.display();
    let script = |name: &str| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../servers/python")
            .join(name);
        path.canonicalize().unwrap().display().to_string()
    };
    let (ws, sio) = (script("ws_server.py"), script("socketio_server.py"));
    format!(
        "\n[systems.py-ws]\nprotocol = \"ws\"\ncommand = [\"{python}\", \"{ws}\"]\n\
         env = {{ PORT = \"{{port}}\" }}\nready = \"listening\"\n\
         \n[systems.py-socketio]\nprotocol = \"socketio\"\ncommand = [\"{python}\", \"{sio}\"]\n\
         env = {{ PORT = \"{{port}}\" }}\n\
         \n[systems.py-socketio-polling]\nprotocol = \"socketio-polling\"\n\
         command = [\"{python}\", \"{sio}\"]\nenv = {{ PORT = \"{{port}}\" }}\n"
    )
}

#[test]
fn the_python_servers_do_every_job_of_the_contract_with_exact_accounting() {
    let test = "the_python_servers_do_every_job_of_the_contract_with_exact_accounting";
    let Some(python) = python_venv(test) else {
        return;
    };
    for mode in ["broadcast", "echo", "rooms"] {
        let top = match mode {
            "broadcast" => String::new(),
            "echo" => "mode = \"echo\"\n".to_owned(),
            _ => "mode = \"rooms\"\nroom_size = 5\n".to_owned(),
        };
        let dir = temp_dir(&format!("python-{mode}"));
        // Long-polling clients only broadcast (rust_socketio): that transport in broadcast.
        let transports = match mode {
            "broadcast" => "[\"py-ws\", \"py-socketio\", \"py-socketio-polling\"]",
            _ => "[\"py-ws\", \"py-socketio\"]",
        };
        let path = scenario_copy(
            &dir,
            "smoke.toml",
            &[
                (
                    "transports = [\"ws\", \"socketio\"]",
                    &format!("transports = {transports}\n{top}"),
                ),
                ("duration = \"2s\"", "duration = \"1s\""),
            ],
            &systems(&python),
        );
        let result = run_ok(&path, &dir.join("out"), &[]);
        let systems = if mode == "broadcast" { 3 } else { 2 };
        assert_eq!(result.runs.len(), systems, "{mode}");
        for run in &result.runs {
            assert_contract_job(run, mode);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}

/// A scenario whose system runs the Python of a venv that was never made is refused before
/// anything is measured (exit 2), naming the install script beside it; it would have
/// failed at its turn, after the other systems were measured, with "cannot find".
#[test]
fn a_python_server_without_its_venv_is_refused_up_front_naming_the_install() {
    let dir = temp_dir("no-venv");
    let app = dir.join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("install.sh"), "python3 -m venv .venv\n").unwrap();
    std::fs::write(app.join("server.py"), "import websockets\n").unwrap();
    let text = std::fs::read_to_string(scenario_path("smoke.toml"))
        .unwrap()
        .replace("[\"ws\", \"socketio\"]", "[\"ws\", \"py\"]")
        + "\n[systems.py]\nprotocol = \"ws\"\ncommand = [\"app/.venv/bin/python\", \
           \"app/server.py\"]\nenv = { PORT = \"{port}\" }\n";
    let path = dir.join("py.toml");
    std::fs::write(&path, text).unwrap();
    let err = refused_up_front(&path, &dir.join("out"));
    assert!(
        err.contains("[systems.py]")
            && err.contains("virtual environment is not installed")
            && err.contains("app/install.sh"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
