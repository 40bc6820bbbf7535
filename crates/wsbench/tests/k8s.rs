//! scripts/k8s cannot run here: check that it is valid YAML, that the shard count agrees
//! everywhere, and that each container's command line is one this wsbench accepts.

use clap::Parser;
use wsbench::cli::{Cli, Command};
use yaml_rust2::{Yaml, YamlLoader};

fn manifests() -> Vec<Yaml> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/k8s/wsbench-shards.yaml"
    );
    YamlLoader::load_from_str(&std::fs::read_to_string(path).unwrap()).expect("valid YAML")
}

fn job<'a>(docs: &'a [Yaml], name: &str) -> &'a Yaml {
    docs.iter()
        .find(|d| d["kind"].as_str() == Some("Job") && d["metadata"]["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no Job {name}"))
}

/// The container's shell command with the environment substituted, as argv.
fn argv(container: &Yaml, env: &[(&str, &str)]) -> Vec<String> {
    let mut line = container["args"][0].as_str().unwrap().to_owned();
    for (k, v) in env {
        line = line.replace(&format!("${k}"), v);
    }
    assert!(!line.contains('$'), "unsubstituted variable in {line}");
    line.replace('"', "")
        .split("&&")
        .next()
        .unwrap()
        .split_whitespace()
        .filter(|w| *w != "exec")
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_indexed_job_runs_every_shard_of_one_count_with_valid_arguments() {
    let docs = manifests();
    let shards = job(&docs, "wsbench-shards");
    let spec = &shards["spec"];
    assert_eq!(spec["completionMode"].as_str(), Some("Indexed"));
    let completions = spec["completions"].as_i64().unwrap();
    assert_eq!(spec["parallelism"].as_i64(), Some(completions));
    let container = &spec["template"]["spec"]["containers"][0];
    let env: Vec<(&str, &str)> = container["env"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), e["value"].as_str().unwrap()))
        .collect();
    let count: i64 = env
        .iter()
        .find(|(k, _)| *k == "WSBENCH_SHARDS")
        .unwrap()
        .1
        .parse()
        .unwrap();
    assert_eq!(count, completions, "WSBENCH_SHARDS must equal completions");

    // Every index gets its own shard of the same count, and a command wsbench accepts.
    for index in 0..completions {
        let index = index.to_string();
        let args = argv(
            container,
            &[
                ("JOB_COMPLETION_INDEX", &index),
                ("WSBENCH_SHARDS", &count.to_string()),
                ("WSBENCH_TARGET", "ws=ws://wsbench-server:8080/"),
                ("WSBENCH_START_AT", "2030-01-01T00:00:00Z"),
            ],
        );
        let cli = Cli::try_parse_from(&args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        let Command::Run(run) = cli.command else {
            panic!("not a run: {args:?}")
        };
        let shard = run.shard.expect("--shard");
        assert_eq!(shard.to_string(), format!("{index}/{count}"));
        assert!(run.start_at.is_some() && run.target.len() == 1);
        // The server under test is another pod: the job says so explicitly.
        assert!(run.allow_remote, "{args:?}");
        assert_eq!(
            run.out.unwrap().to_str().unwrap(),
            format!("/results/shard-{index}")
        );
    }

    let merge = job(&docs, "wsbench-merge");
    let container = &merge["spec"]["template"]["spec"]["containers"][0];
    let args = argv(container, &[]);
    let cli = Cli::try_parse_from(&args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(matches!(cli.command, Command::Merge(_)), "{args:?}");
    // Results are shared between the shards and the merge.
    assert_eq!(docs[0]["kind"].as_str(), Some("PersistentVolumeClaim"));
}
