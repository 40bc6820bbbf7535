#!/usr/bin/env bash
# Where a message's CPU goes: runs a scenario for one transport and, for five seconds of
# its measured window, counts with `perf stat` what the load generator (the `wsbench run`
# process) and the server (its `wsbench serve` child) spend: CPU time split into user and
# kernel, context switches (a wakeup each, near enough), and syscalls by kind. Prints each
# per message handled: per delivery for the server, per received message for the load
# generator. Repeatable on a shared machine to about ±10%; see docs/cost-breakdown.md.
#
#   scripts/cost-breakdown.sh [SCENARIO] [TRANSPORT]     # default scenarios/fanout.toml ws
#   WSBENCH=path/to/wsbench scripts/cost-breakdown.sh …   # another build (default target/release)
#   IO=epoll scripts/cost-breakdown.sh …                  # the clients' I/O path (default auto)
#
# Needs perf (linux-perf) and root (or kernel.perf_event_paranoid <= 0) for the syscall
# tracepoints.
set -euo pipefail
cd "$(dirname "$0")/.."

scenario=${1:-scenarios/fanout.toml}
transport=${2:-ws}
bin=${WSBENCH:-./target/release/wsbench}
command -v perf >/dev/null || { echo "cost-breakdown: needs perf" >&2; exit 77; }
[ -x "$bin" ] || { echo "cost-breakdown: build first: cargo build --release" >&2; exit 2; }

out=$(mktemp -d)
trap 'kill "$run" 2>/dev/null || true' EXIT
"$bin" run "$scenario" --transport "$transport" --repeat 1 --duration 20s --io "${IO:-auto}" \
  --out "$out/run" >"$out/stdout" 2>"$out/stderr" &
run=$!

# The window has begun when the run's plain progress lines say "measuring".
for _ in $(seq 600); do
  grep -q "measuring" "$out/stderr" 2>/dev/null && break
  kill -0 "$run" 2>/dev/null || { cat "$out/stderr" >&2; exit 1; }
  sleep 0.1
done
server=$(pgrep -P "$run" -f "serve" | head -1)
[ -n "$server" ] || { echo "cost-breakdown: no server child found" >&2; exit 1; }

events=task-clock,context-switches,raw_syscalls:sys_enter,syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto,syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_futex
ticks() { awk '{ print $14, $15 }' "/proc/$1/stat"; }
read -r lg_u0 lg_s0 < <(ticks "$run")
read -r sv_u0 sv_s0 < <(ticks "$server")
perf stat -x, -e "$events" -p "$run" -o "$out/loadgen.csv" -- sleep 5 &
lgperf=$!
perf stat -x, -e "$events" -p "$server" -o "$out/server.csv" -- sleep 5
wait "$lgperf"
read -r lg_u1 lg_s1 < <(ticks "$run")
read -r sv_u1 sv_s1 < <(ticks "$server")
wait "$run" || true

per_s=$(sed -n 's/.*"delivered_per_s": *\([0-9.]*\).*/\1/p' "$out/run/result.json" | head -1)
msgs=$(awk -v r="$per_s" 'BEGIN { printf "%.0f", r * 5 }')
echo "$transport, $scenario: $per_s deliveries/s; 5 s sampled = $msgs messages each side"
for side in loadgen server; do
  if [ "$side" = loadgen ]; then u=$((lg_u1 - lg_u0)); s=$((lg_s1 - lg_s0)); else u=$((sv_u1 - sv_u0)); s=$((sv_s1 - sv_s0)); fi
  awk -F, -v m="$msgs" -v side="$side" -v u="$u" -v s="$s" '
    /^#/ || NF < 3 { next }
    { name = $3; v = $1 + 0
      if (name == "task-clock") printf "%-8s CPU %.2f µs/msg (user %d%%, kernel %d%%)\n", side, v * 1000 / m, (u + s) ? 100 * u / (u + s) : 0, (u + s) ? 100 * s / (u + s) : 0
      else printf "%-8s %-34s %.3f per msg\n", side, name, v / m }' "$out/$side.csv"
done
echo "raw: $out"
