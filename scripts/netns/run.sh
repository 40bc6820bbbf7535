#!/usr/bin/env bash
# Real hosts on one machine: a server in one network namespace on its own address, two
# load-generator shards in two others, joined by veth pairs on a bridge (in a namespace
# of its own, so the machine's own network is never touched), then the shards merged.
# The same shards and servers are then run on loopback, so that what a real network
# stack changes (latency, CPU per message) can be read side by side.
#
#   sudo scripts/netns/run.sh [SCENARIO] [OUT]
#
#   SCENARIO  default scenarios/smoke.toml (its transports among ws and socketio)
#   OUT       default results/netns-<UTC time>; must not exist
#   WSBENCH   the binary (default target/release/wsbench; build it first)
#   WSBENCH_NETNS_TIMEOUT  seconds each shard may run (default 300)
#   WSBENCH_NETNS_LEAD     seconds from launch to the shards' common start (default 8):
#                          long enough for every client of a shard to connect
#   WSBENCH_NETNS_SKIP_LOOPBACK=1  measure only across the namespaces
#
# Needs root and iproute2 (`ip netns`). Exit 77 when either is missing (a test skips
# then), 2 on bad arguments, 1 when a run fails. Everything it creates — namespaces, veth
# pairs, the bridge, servers — is removed on exit, whatever the outcome.
set -euo pipefail

scenario=${1:-scenarios/smoke.toml}
out=${2:-results/netns-$(date -u +%Y%m%dT%H%M%SZ)}
wsbench=${WSBENCH:-target/release/wsbench}
limit=${WSBENCH_NETNS_TIMEOUT:-300}

die() { echo "netns: $*" >&2; exit "${2:-1}"; }
[ "$(id -u)" = 0 ] || die "needs root to create network namespaces (run with sudo)" 77
command -v ip >/dev/null || die "needs iproute2's ip" 77
ip netns list >/dev/null 2>&1 || die "this kernel or container does not allow ip netns" 77
[ -x "$wsbench" ] || die "no wsbench at $wsbench: cargo build --release, or set WSBENCH" 2
[ -f "$scenario" ] || die "no scenario at $scenario" 2
[ -e "$out" ] && die "$out exists: results are never overwritten, choose another" 2
wsbench=$(cd "$(dirname "$wsbench")" && pwd)/$(basename "$wsbench")
lead=${WSBENCH_NETNS_LEAD:-8}
mkdir -p "$out"

tag="wsb$$"
hub="$tag-hub"
subnet=10.231.77 # private, and only ever routed inside these namespaces
server_ip="$subnet.1"
# shellcheck source=scripts/lib/children.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/children.sh"
cleanup() {
  local code=$?
  stop_children
  for ns in srv lg0 lg1 hub; do ip netns del "$tag-$ns" 2>/dev/null || true; done
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The bridge, and one namespace per host on it: srv .1, lg0 .2, lg1 .3.
ip netns add "$hub"
ip -n "$hub" link set lo up
ip -n "$hub" link add br0 type bridge
ip -n "$hub" link set br0 up
n=1
for host in srv lg0 lg1; do
  ns="$tag-$host"
  ip netns add "$ns"
  ip -n "$hub" link add "$host" type veth peer name eth0 netns "$ns"
  ip -n "$hub" link set "$host" master br0 up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$subnet.$n/24" dev eth0
  ip -n "$ns" link set eth0 up
  n=$((n + 1))
done
echo "netns: $tag: server $server_ip, shards $subnet.2 and $subnet.3 (bridge in $hub)"

# Starts `wsbench serve TRANSPORT` in namespace $1 (empty: this one) on $2:port; sets
# $server_pid once its ready line is out.
start_server() {
  local ns=$1 addr=$2 transport=$3 log=$4
  if [ -n "$ns" ]; then
    ip netns exec "$ns" "$wsbench" serve "$transport" --listen "$addr" >"$log" 2>&1 &
  else
    "$wsbench" serve "$transport" --listen "$addr" >"$log" 2>&1 &
  fi
  server_pid=$!
  pids+=("$server_pid")
  wait_for_line "$log" '"ready"' "$server_pid" "the $transport server"
}

# Stops the last server started (the others are stopped on exit).
stop_server() {
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
}

# Runs both shards of one transport against URL (the server's pid PID), each in its
# namespace (or here), and merges them into $out/$label/$transport.
measure() {
  local label=$1 transport=$2 url=$3 pid=$4 ns0=$5 ns1=$6
  local dir="$out/$label/$transport"
  mkdir -p "$dir"
  local at
  at=$(date -u -d "+$lead seconds" +%Y-%m-%dT%H:%M:%SZ)
  local shard_pids=()
  for i in 0 1; do
    local ns_var="ns$i"
    local run=(timeout "$limit" "$wsbench" run "$scenario" --transport "$transport"
      --target "$transport=$url" --target-pid "$transport=$pid" --allow-remote
      --shard "$i/2" --start-at "$at" --out "$dir/shard-$i")
    if [ -n "${!ns_var}" ]; then
      ip netns exec "${!ns_var}" "${run[@]}" >"$dir/shard-$i.log" 2>&1 &
    else
      "${run[@]}" >"$dir/shard-$i.log" 2>&1 &
    fi
    shard_pids+=($!)
  done
  local failed=0
  for p in "${shard_pids[@]}"; do wait "$p" || failed=1; done
  [ "$failed" = 0 ] || die "a $label $transport shard failed: see $dir/shard-*.log"
  "$wsbench" merge "$dir"/shard-*/result.json -o "$dir/merged.json"
  echo "netns: $label $transport: $dir/merged.json"
}

transports=$(sed -n 's/^transports *= *\[\(.*\)\]/\1/p' "$scenario" | tr -d '" ' | tr ',' ' ')
port=9000
for transport in $transports; do
  case $transport in ws | socketio) ;; *) die "$transport: only ws and socketio run here" 2 ;; esac
  port=$((port + 1))
  start_server "$tag-srv" "$server_ip:$port" "$transport" "$out/server-netns-$transport.log"
  measure netns "$transport" "ws://$server_ip:$port/" "$server_pid" "$tag-lg0" "$tag-lg1"
  stop_server
  if [ "${WSBENCH_NETNS_SKIP_LOOPBACK:-0}" != 1 ]; then
    start_server "" "127.0.0.1:0" "$transport" "$out/server-loopback-$transport.log"
    addr=$(sed -n 's/.*"addr":"\([^"]*\)".*/\1/p' "$out/server-loopback-$transport.log" | head -1)
    measure loopback "$transport" "ws://$addr/" "$server_pid" "" ""
    stop_server
  fi
done
echo "netns: done: $out"
