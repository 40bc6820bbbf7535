#!/usr/bin/env bash
# Interoperability check with clients that are not wsbench's own: the official
# socket.io-client (websocket and polling: broadcast with a binary argument, ack, rooms) and
# the `ws` package (broadcast, binary echo), against `wsbench serve socketio|ws`.
# Needs Node.js and npm; installs the two packages into scripts/interop/node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked -p wsbench
(cd scripts/interop && npm install --no-audit --no-fund --silent)

dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT

# Start both servers here (not in a subshell, so that cleanup knows their pids).
for t in socketio ws; do
  ./target/release/wsbench serve "$t" > "$dir/$t.out" 2> "$dir/$t.err" < /dev/null &
  pids+=($!)
done

# The address from a server's ready line, waiting at most 15 s for it.
addr() {
  for _ in $(seq 150); do
    if [ -s "$dir/$1.out" ]; then
      sed -nE '1s/.*"addr":"([^"]+)".*/\1/p' "$dir/$1.out"
      return 0
    fi
    sleep 0.1
  done
  echo "interop: no ready line from wsbench serve $1: $(cat "$dir/$1.err")" >&2
  return 1
}
sio=$(addr socketio)
ws=$(addr ws)
node scripts/interop/check.js "http://$sio" "ws://$ws"
