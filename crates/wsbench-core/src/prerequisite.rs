//! What a test does when something it needs is not installed (Node.js packages,
//! `redis-server`): under CI (`CI` set) it fails, since `.ci/run` installs everything; on a
//! developer's machine it is skipped, and says so where `cargo test` shows it.

use std::io::Write;

/// Fails under CI; otherwise prints `SKIPPED test: needs why` on the terminal. The line is
/// written to the process's stderr directly, not through `eprintln!`, which the test
/// harness captures and hides for a test that passes: a skip must not look like a pass.
pub fn missing(test: &str, why: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: CI must have {why}"
    );
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED {test}: needs {why}");
}
