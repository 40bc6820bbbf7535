//! The README's "What we found" quotes committed results (results/published/): every
//! figure in its findings block must be what those results say, as
//! `wsbench report --format findings` renders them (scripts/publish.sh writes the block).

use std::path::Path;

use wsbench_core::result::RunResult;

/// The published scenarios, in the order the block lists them.
const PUBLISHED: [&str; 13] = [
    "fanout",
    "echo",
    "rooms",
    "polling",
    "reconnect",
    "slow-consumer",
    "sweep-clients",
    "node",
    "saturation",
    "shootout",
    "idle",
    "tls",
    "compression",
];

#[test]
fn the_readme_findings_are_the_committed_results_figure_for_figure() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let (start, end) = ("<!-- findings:start -->\n", "<!-- findings:end -->");
    let from = readme.find(start).expect("README has a findings block") + start.len();
    let to = readme.find(end).expect("the block ends");
    let block = &readme[from..to];

    let mut expected = String::new();
    let mut cited = 0;
    for name in PUBLISHED {
        let path = root
            .join("results/published")
            .join(name)
            .join("result.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let result: RunResult = serde_json::from_str(&text).unwrap();
        assert_eq!(result.scenario.name, name, "{}", path.display());
        expected.push_str(&wsbench_report::findings::render(&result));
        // Each result the block cites comes with the reports it links to.
        for report in ["report.md", "report.html"] {
            assert!(path.with_file_name(report).exists(), "{name}: no {report}");
        }
        cited += 1;
    }
    assert!(cited >= 1, "no published result to quote");
    assert_eq!(
        block, expected,
        "README.md's findings differ from results/published: run scripts/publish.sh --readme"
    );
}
