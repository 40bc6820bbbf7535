//! The examples each subcommand's `--help` ends with, and the exit codes they share.

/// `wsbench run`.
pub const RUN: &str = "Examples:
  wsbench run scenarios/smoke.toml                 # ~10 s: does everything work here?
  wsbench run scenarios/fanout.toml                # the side-by-side comparison (~2 min)
  wsbench run scenarios/fanout.toml --clients 200 --duration 10s --transport ws
  wsbench run scenarios/node.toml --out results/node-today
  wsbench run my.toml --target ws=ws://127.0.0.1:8080/ --target-pid ws=4242
  wsbench run my.toml --target ws=ws://10.0.0.5:8080/ --allow-remote   # another host
  wsbench run scenarios/fanout.toml --floor        # measure the kernel's floor first (~15 s)

Exit codes: 0 complete, 1 a system failed (partial result kept), 2 bad scenario or
arguments (nothing started), 99 a threshold broke, 130 interrupted (what was measured is kept).";

/// `wsbench floor`.
pub const FLOOR: &str = "Examples:
  wsbench floor                    # 1 s a way, 3 rounds (~15 s); kept for later runs here
  wsbench floor --seconds 3        # steadier figures
  WSBENCH_FLOOR_FILE=floor.json wsbench floor

Exit codes: 0 measured, 1 it could not be measured (too few open files, a lost byte), 2 bad
arguments.";

/// `wsbench serve`.
pub const SERVE: &str = "Examples:
  wsbench serve ws --listen 127.0.0.1:8080
  wsbench serve socketio --listen 127.0.0.1:3000 --redis redis://127.0.0.1:6379/
  wsbench serve ws --listen 127.0.0.1:8080 --tls --tls-cert cert.pem --tls-key key.pem
  wsbench serve ws-stock --listen 127.0.0.1:8080

Exit codes: 0 stopped by SIGTERM or Ctrl-C, 1 it could not serve, 2 bad arguments.";

/// `wsbench report`.
pub const REPORT: &str = "Examples:
  wsbench report results/fanout-…/result.json                  # Markdown to stdout
  wsbench report results/fanout-…/result.json --format html -o fanout.html
  wsbench report results/fanout-…/result.json --format csv -o fanout.csv --force

Exit codes: 0 written, 1 it could not be written, 2 not a result this wsbench reads, or the
output exists (add --force).";

/// `wsbench compare`.
pub const COMPARE: &str = "Examples:
  wsbench compare results/baseline/ci.json results/ci-new/result.json
  wsbench compare base.json new.json --timing-tolerance 0.2 --strict-env

Exit codes: 0 no regression, 1 regression, 2 not comparable (another scenario, schema or
set of systems; --strict-env: another machine) or unreadable input.";

/// `wsbench merge`.
pub const MERGE: &str = "Examples:
  wsbench merge results/shard-*/result.json -o results/merged.json
  wsbench merge results/shard-{0,1,2,3}/result.json -o merged.json --force

Exit codes: 0 merged, 1 merged but a shard's run failed, 2 the shards do not belong
together, an input is unreadable, or the output exists (add --force).";
