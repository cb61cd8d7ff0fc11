#!/bin/sh
# A stand-in for a container's main program, run by `ibex run` (see scripts/demo.sh).
# Every 2 s it starts a worker that it does not wait for: the worker outlives its parent
# subshell, so ibex must reap it. The heartbeat shows how many zombies are left (always 0).
# On INT (Ctrl-C) or TERM it shuts down and exits 0, which becomes ibex's exit code.
set -u
ibex_pid=$PPID
shutdown() {
  echo "demo: got $1, shutting down"
  exit 0
}
trap 'shutdown SIGINT' INT
trap 'shutdown SIGTERM' TERM

# Zombies among ibex's children: orphans that ibex has not reaped.
zombies() {
  n=0
  for status in /proc/[0-9]*/status; do
    awk -v ibex="$ibex_pid" '/^State:/ { s = $2 } /^PPid:/ { p = $2 } END { exit !(s == "Z" && p == ibex) }' \
      "$status" 2>/dev/null && n=$((n + 1))
  done
  echo $n
}

echo "demo: running as pid $$ under ibex (pid $ibex_pid); Ctrl-C to stop"
tick=0
while :; do
  tick=$((tick + 1))
  if [ $((tick % 2)) -eq 1 ]; then
    (sleep 1 &)  # an orphan: its parent subshell exits at once
  fi
  echo "demo: tick $tick, zombies: $(zombies)"
  sleep 1 &
  wait $!  # a trap interrupts `wait` at once, unlike a foreground sleep
done
