//! The result the unit tests read: a two-system run (ws and socketio, two repeats each).

use wsbench_core::result::RunResult;

/// `tests/fixtures/pair-result.json`.
pub(crate) fn pair() -> RunResult {
    serde_json::from_str(include_str!("../tests/fixtures/pair-result.json")).unwrap()
}
