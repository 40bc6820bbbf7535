//! The committed JSON Schema of results: kept in step with the code, and results obey it.

use std::path::{Path, PathBuf};

use wsbench_core::result::json_schema;

fn schema_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../results/schema.json")
}

/// `UPDATE_SCHEMA=1 cargo test -p wsbench --test schema` rewrites the committed schema.
#[test]
fn committed_schema_matches_the_result_types() {
    let generated = serde_json::to_string_pretty(&json_schema()).unwrap() + "\n";
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(schema_path(), &generated).unwrap();
    }
    let committed = std::fs::read_to_string(schema_path()).expect("results/schema.json exists");
    assert_eq!(
        committed, generated,
        "results/schema.json is stale: run UPDATE_SCHEMA=1 cargo test -p wsbench --test schema"
    );
}

#[test]
fn a_real_result_validates_and_a_broken_one_does_not() {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path()).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../wsbench-report/tests/fixtures/smoke-result.json");
    let mut result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    assert!(validator.is_valid(&result));
    result["runs"][0]["messages"]["delivered"] = serde_json::json!("many");
    assert!(!validator.is_valid(&result));
}
