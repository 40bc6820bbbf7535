#!/usr/bin/env bash
# Performance-regression check: runs scenarios/ci.toml with the release build, compares the
# result with the committed baseline (results/baseline/ci.json), prints the comparison as
# Markdown (also to $GITHUB_STEP_SUMMARY when set) and exits with `wsbench compare`'s code:
# 0 no regression, 1 regression, 2 not comparable.
#
# PERF_OUT=DIR keeps the run's result.json, report.md, report.html and compare.md there.
# The baseline is recorded with more repeats than the check (a steadier reference):
#   wsbench run scenarios/ci.toml --repeat 8 --out DIR && cp DIR/result.json results/baseline/ci.json
# WSBENCH_HANDICAP_US=N (µs of CPU burnt per delivery) or WSBENCH_HANDICAP_WIRE_BYTES=N
# (raw WebSocket: N + 2 more bytes per delivery) make the servers worse on purpose, to see
# the gate fail on a real regression.
set -euo pipefail
cd "$(dirname "$0")/.."

baseline=results/baseline/ci.json
out=${PERF_OUT:-$(mktemp -d)}
mkdir -p "$out"

cargo build --release --locked -p wsbench
bin=./target/release/wsbench

# A failed run still leaves a partial result, which compare then judges.
run_code=0
"$bin" run scenarios/ci.toml --out "$out" || run_code=$?
if [ ! -f "$out/result.json" ]; then
  echo "perf-check: the CI scenario left no result (exit $run_code)" >&2
  exit 1
fi

compare_code=0
"$bin" compare "$baseline" "$out/result.json" > "$out/compare.md" || compare_code=$?
cat "$out/compare.md"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  cat "$out/compare.md" >> "$GITHUB_STEP_SUMMARY"
fi
if [ "$compare_code" -eq 0 ] && [ "$run_code" -ne 0 ]; then
  echo "perf-check: compare found no regression, but the run itself exited $run_code" >&2
  exit 1
fi
exit "$compare_code"
