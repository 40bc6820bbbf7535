#!/usr/bin/env bash
# Many connections on one machine, past one process's open-file limit: NODES `wsbench
# serve --redis` nodes of one cluster (one Redis), and as many load-generator shards, the
# clients of shard i on node i (broadcasts reach every node through Redis), started
# together with --start-at and merged afterwards. Prints the cluster's memory per
# connection and CPU per delivery, summed over its nodes (README, "Beyond one machine").
#
#   scripts/scale-out.sh [CLIENTS] [NODES] [OUT]
#
#   CLIENTS   default 100000
#   NODES     default: one per 18,000 clients (each process stays under a 20,000-file limit)
#   OUT       default results/scale-out-<UTC time>; must not exist
#   TRANSPORT ws (default) or socketio
#   RATE      messages per second of the one sender (default 0.5: 50,000 deliveries/s at
#             100,000 clients; two shared cores must also accept every connection)
#   RAMP      connections per second over all shards (default 2000)
#   WINDOW    measured seconds (default 20)
#   SETTLE    seconds between the last connection's planned start and traffic (default 15)
#   WSBENCH   the binary (default target/release/wsbench; build it first)
#
# Needs redis-server. Exit 2 on bad arguments, 1 when a node or shard fails; every process
# it started is stopped on exit, whatever the outcome.
set -euo pipefail

clients=${1:-100000}
per_node=18000
nodes=${2:-$(((clients + per_node - 1) / per_node))}
out=${3:-results/scale-out-$(date -u +%Y%m%dT%H%M%SZ)}
transport=${TRANSPORT:-ws}
rate=${RATE:-0.5}
ramp=${RAMP:-2000}
window=${WINDOW:-20}
wsbench=${WSBENCH:-target/release/wsbench}

die() { echo "scale-out: $*" >&2; exit "${2:-1}"; }
[[ $clients =~ ^[0-9]+$ && $nodes =~ ^[0-9]+$ && $nodes -ge 1 ]] || die "CLIENTS and NODES are counts" 2
case $transport in ws | socketio) ;; *) die "TRANSPORT: ws or socketio" 2 ;; esac
[ -x "$wsbench" ] || die "no wsbench at $wsbench: cargo build --release, or set WSBENCH" 2
command -v redis-server >/dev/null || die "needs redis-server" 2
[ -e "$out" ] && die "$out exists: results are never overwritten, choose another" 2
limit=$(ulimit -Hn)
share=$(((clients + nodes - 1) / nodes))
[ "$limit" = unlimited ] || [ $((share + 200)) -le "$limit" ] ||
  die "$share clients a node and a shard exceed the open-file limit $limit: use more NODES" 2
mkdir -p "$out"

# shellcheck source=scripts/lib/children.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/children.sh"
cleanup() {
  local code=$?
  stop_children
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

redis_port=$((20000 + RANDOM % 20000))
redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
  >"$out/redis.log" 2>&1 &
pids+=($!)
wait_for_line "$out/redis.log" "Ready to accept connections" "$!" redis-server
redis="redis://127.0.0.1:$redis_port/?protocol=resp3"

urls=() node_pids=()
for i in $(seq 0 $((nodes - 1))); do
  "$wsbench" serve "$transport" --redis "$redis" >"$out/node-$i.log" 2>&1 &
  pids+=($!) node_pids+=($!)
  wait_for_line "$out/node-$i.log" '"ready"' "$!" "node $i"
  addr=$(sed -n 's/.*"addr":"\([^"]*\)".*/\1/p' "$out/node-$i.log" | head -1)
  urls+=("ws://$addr/")
done

# The scenario every shard runs; clients connect at the ramp rate over all shards, so
# traffic starts once the slowest could have connected, with room to settle.
connect_s=$(((clients + ramp - 1) / ramp))
lead=$((connect_s + ${SETTLE:-15}))
cat >"$out/scenario.toml" <<EOF
name = "scale-out"
transports = ["$transport"]
clients = $clients
ramp = $ramp
senders = 1
rate = $rate
payload = 64
encoding = "text"
warmup = "2s"
duration = "${window}s"
drain = "2s"
EOF
at=$(date -u -d "+$lead seconds" +%Y-%m-%dT%H:%M:%SZ)
echo "scale-out: $clients $transport clients, $nodes nodes on Redis :$redis_port, traffic from $at"
shard_pids=()
for i in $(seq 0 $((nodes - 1))); do
  timeout $((lead + window + 120)) "$wsbench" run "$out/scenario.toml" \
    --target "$transport=${urls[$i]}" --target-pid "$transport=${node_pids[$i]}" \
    --shard "$i/$nodes" --start-at "$at" --out "$out/shard-$i" >"$out/shard-$i.log" 2>&1 &
  shard_pids+=($!)
done
failed=0
for p in "${shard_pids[@]}"; do wait "$p" || failed=1; done
[ "$failed" = 0 ] || die "a shard failed: see $out/shard-*.log"
"$wsbench" merge "$out"/shard-*/result.json -o "$out/merged.json" >"$out/merge.log"

# The cluster's figures: each shard measured its own node (--target-pid), and the merge
# adds the nodes up.
python3 - "$out" "$nodes" <<'EOF'
import json, sys
out, nodes = sys.argv[1], int(sys.argv[2])
merged = json.load(open(f"{out}/merged.json"))["runs"][0]
m, c, s, lg = merged["messages"], merged["connections"], merged["server"], merged["loadgen"]
print(f"connected {c['connected']} of {c['requested']}; delivered {m['delivered']} of "
      f"{m['expected']} (lost {m['lost']}, duplicated {m['duplicated']})")
print(f"cluster: {s['memory_per_connection_bytes'] / 1024:.2f} KiB per connection, "
      f"{s['cpu_us_per_delivery']:.2f} µs CPU per delivery ({nodes} nodes)")
print(f"load generator: {lg['memory_per_client_bytes'] / 1024:.2f} KiB per client, "
      f"{lg['cpu_us_per_received']:.2f} µs CPU per received message")
EOF
echo "scale-out: done: $out"
