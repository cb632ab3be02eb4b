#!/usr/bin/env bash
# start | stop | restart containerd inside the node environment (run it inside: `harness/cli.ts exec`).
set -euo pipefail
pidfile=/run/containerd-env.pid
running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
# One control at a time: two overlapping restarts must not interleave.
exec 9>/run/containerd-env.lock
flock 9

start() {
  running && return 0
  setsid containerd --config /etc/containerd/config.toml >>/var/log/zeropod/containerd.log 2>&1 </dev/null 9>&- &
  echo $! >"$pidfile"
  for _ in $(seq 100); do [ -S /run/containerd/containerd.sock ] && return 0; sleep 0.05; done
  echo "containerd did not create its socket within 5 s; see /var/log/zeropod/containerd.log" >&2
  return 1
}
stop() {
  running || return 0
  local pid; pid=$(cat "$pidfile")
  kill -TERM "$pid"
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}
case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  *) echo "usage: $0 start|stop|restart" >&2; exit 2 ;;
esac
