# Sourced by the scripts that start processes (they define `die MESSAGE [CODE]`): add each
# one's pid to `pids` (pids+=($!)), wait for its ready line with `wait_for_line`, and call
# `stop_children` from the exit trap: TERM to every one, up to 5 s each to end, then KILL,
# so that nothing a script started outlives it, whatever the outcome.
pids=()
stop_children() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
}

# wait_for_line LOG PATTERN PID WHAT: waits (10 s at most) until LOG holds a line matching
# PATTERN; dies (the caller's `die`) naming WHAT if process PID ends first, or at 10 s.
wait_for_line() {
  for _ in $(seq 100); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || die "$4 ended before it was ready: $(tail -3 "$1")"
    sleep 0.1
  done
  die "$4 was not ready in 10 s (no '$2' in $1)"
}
