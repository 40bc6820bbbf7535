//! Records, at build time, the provenance a result needs: the compiler and the versions of
//! the server and client crates compiled in.

use std::process::Command;

const CRATES: &[&str] = &[
    "tokio",
    "tokio-tungstenite",
    "tungstenite",
    "socketioxide",
    "engineioxide",
    "hyper",
    "rust_socketio",
    "hdrhistogram",
];

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .unwrap_or_default();
    println!("cargo:rustc-env=WSBENCH_RUSTC={}", version.trim());

    let lock_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock");
    println!("cargo:rerun-if-changed={lock_path}");
    let lock = std::fs::read_to_string(lock_path).unwrap_or_default();
    let mut found = Vec::new();
    let mut name = None;
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_owned());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take())
            && CRATES.contains(&n.as_str())
        {
            found.push(format!("{n}={}", v.trim_matches('"')));
        }
    }
    found.sort();
    println!("cargo:rustc-env=WSBENCH_CRATES={}", found.join(","));
}
