#!/usr/bin/env bash
# start | stop | restart containerd inside the node environment (run it inside: `harness/cli.ts exec`).
set -euo pipefail
pidfile=/run/containerd-env.pid
running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
# One control at a time: two overlapping restarts must not interleave.
exec 9>/run/containerd-env.lock
flock 9

# containerd runs in the environment's own cgroups (PID 1's) whoever asks for the start, as systemd
# starts a service in the service's cgroup: a caller inside a container (the installer's init container,
# through nsenter) would otherwise leave containerd in that container's cgroups, and runc kills every
# process there when the container is removed. Moves this script; containerd inherits.
join_init_cgroups() {
  local ctrls cgpath dir
  while IFS=: read -r _ ctrls cgpath; do
    case $ctrls in
      '') dir=/sys/fs/cgroup/unified ;;
      name=*) dir=/sys/fs/cgroup/${ctrls#name=} ;;
      *) dir=/sys/fs/cgroup/$ctrls ;;
    esac
    [ -e "$dir$cgpath/cgroup.procs" ] || continue
    echo $$ >"$dir$cgpath/cgroup.procs" || echo "could not join $dir$cgpath" >&2
  done </proc/1/cgroup
}
start() {
  running && return 0
  join_init_cgroups
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
