# Sourced by the scripts that start processes: add each one's pid to `pids` (pids+=($!)),
# and call `stop_children` from the exit trap: TERM to every one, up to 5 s each to end,
# then KILL, so that nothing a script started outlives it, whatever the outcome.
pids=()
stop_children() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
}
