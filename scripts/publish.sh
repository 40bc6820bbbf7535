#!/usr/bin/env bash
# Regenerates the committed results the README's "What we found" quotes: runs each
# published scenario into results/published/<scenario>/ (result.json, report.md,
# report.html), then rewrites the README's findings block from those results with
# `wsbench report --format findings`. A test (crates/wsbench/tests/findings.rs) checks that
# the block matches the committed results, figure for figure.
#
#   scripts/publish.sh            # every scenario (about an hour here), then the block
#   scripts/publish.sh --readme   # only rewrite the block from the committed results
#   SCENARIOS="fanout echo" scripts/publish.sh   # some of them
#
# Needs Node.js and servers/node/node_modules for the node, shootout, idle, tls and
# compression scenarios (npm ci there), and the Python servers' venv for shootout and idle
# (bash servers/python/install.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

all="fanout echo rooms polling reconnect slow-consumer sweep-clients node saturation shootout idle tls compression"
scenarios=${SCENARIOS:-$all}
bin=./target/release/wsbench
cargo build --release --locked -p wsbench

if [ "${1:-}" != "--readme" ]; then
  for s in $scenarios; do
    echo "publish: $s" >&2
    # --force: these results are regenerated on purpose.
    "$bin" run "scenarios/$s.toml" --out "results/published/$s" --force >/dev/null
  done
fi

# The findings block, between its markers, from every published result in order.
block=$(mktemp)
trap 'rm -f "$block"' EXIT
for s in $all; do
  r="results/published/$s/result.json"
  if [ -f "$r" ]; then "$bin" report "$r" --format findings >>"$block"; fi
done
# Node.js is on every machine this project runs on (python may not be).
node -e '
const fs = require("fs");
const block = fs.readFileSync(process.argv[1], "utf8");
const readme = fs.readFileSync("README.md", "utf8");
const start = "<!-- findings:start -->\n", end = "<!-- findings:end -->";
const i = readme.indexOf(start) + start.length, j = readme.indexOf(end);
if (i < start.length || j < i) { console.error("README.md has no findings markers"); process.exit(1); }
fs.writeFileSync("README.md", readme.slice(0, i) + block + readme.slice(j));
' "$block"
echo "publish: README.md's findings block rewritten" >&2
