//! The example GitHub workflow stays valid YAML and runs the perf check.

use std::path::Path;

use yaml_rust2::YamlLoader;

#[test]
fn perf_workflow_is_valid_and_runs_the_perf_check() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.github/workflows/perf.yml");
    let text = std::fs::read_to_string(path).unwrap();
    let docs = YamlLoader::load_from_str(&text).expect("valid YAML");
    let job = &docs[0]["jobs"]["perf-check"];
    assert!(!job.is_badvalue(), "a perf-check job");
    let steps = job["steps"].as_vec().expect("steps");
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(
        runs.iter().any(|r| r.contains("scripts/perf-check.sh")),
        "{runs:?}"
    );
    let upload = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/upload-artifact"))
        })
        .expect("an upload step");
    assert_eq!(
        upload["if"].as_str(),
        Some("always()"),
        "reports are kept on failure too"
    );
    assert_eq!(upload["with"]["path"].as_str(), Some("perf-out/"));
    let script = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/perf-check.sh"),
    )
    .unwrap();
    assert!(script.contains("PERF_OUT") && script.contains("GITHUB_STEP_SUMMARY"));
}
