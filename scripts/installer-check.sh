#!/usr/bin/env bash
# One real run of zeropod-installer inside the node environment, on a COPY of the environment's
# containerd config with the zeropod runtime removed, served by a second containerd of its own
# (own root, state and sockets); the environment's files and its containerd are not touched.
# Then a scale-to-zero pod on the handler the installer added, and the uninstall.
#   npx tsx harness/cli.ts exec -- bash scripts/installer-check.sh
# The root filesystem has no patchelf: PATCHELF names one the environment can run (the host's
# bookworm build runs there: cp /usr/bin/patchelf .cache/ after apt-get install patchelf).
set -euo pipefail
P=$(cd "$(dirname "$0")/.." && pwd)
W=/tmp/zp-real
A=$W/containerd.sock
if [ -f $W/pid ]; then kill "$(cat $W/pid)" 2>/dev/null || true; sleep 1; fi
rm -rf $W /tmp/zpo; mkdir -p $W/etc/containerd $W/root $W/state
# The copy: zeropod's table dropped, root/state/sockets moved under $W.
awk '/runtimes\.zeropod\]/{skip=1; next} skip && /^[[:space:]]*\[/{skip=0} !skip' /etc/containerd/config.toml |
  sed -e "s|\"/var/lib/containerd\"|\"$W/root\"|" -e "s|\"/run/containerd\"|\"$W/state\"|" -e "s|/run/containerd/containerd.sock|$A|" \
  >$W/etc/containerd/config.toml
# Like a host without Debian's nodejs packages: /usr/share/nodejs hidden from this containerd, its
# shims and the checks of the copied node (Debian's own node aborts there; the copy must not).
export HIDE_NODEJS="mount -t tmpfs -o ro,size=4k none /usr/share/nodejs &&"
cat >$W/ctl.sh <<CTL
#!/usr/bin/env bash
# start | stop | restart the second containerd on the copied config.
set -euo pipefail
stop() { [ -f $W/pid ] || return 0; kill -TERM "\$(cat $W/pid)" 2>/dev/null || true; for _ in \$(seq 100); do kill -0 "\$(cat $W/pid)" 2>/dev/null || break; sleep 0.05; done; rm -f $W/pid; }
start() {
  ZEROPOD_SHIM_GROUPING=pod ZEROPOD_SHIM_RUN_DIR=$W/run-zeropod setsid unshare -m --propagation private \\
    sh -c "$HIDE_NODEJS exec containerd --config $W/etc/containerd/config.toml" >>$W/containerd.log 2>&1 </dev/null &
  echo \$! >$W/pid
  for _ in \$(seq 100); do [ -S $A ] && return 0; sleep 0.05; done; echo "containerd did not start" >&2; return 1
}
case "\$1" in start) start ;; stop) stop ;; restart) stop; start ;; esac
CTL
chmod +x $W/ctl.sh
grep -n zeropod $W/etc/containerd/config.toml || echo "copy has no zeropod line"
cp $W/etc/containerd/config.toml $W/original.toml
$W/ctl.sh start
ctr -a $A -n k8s.io images import --no-unpack /images/pause-*.tar >/dev/null
ctr -a $A -n k8s.io images import --no-unpack /images/nginx-*.tar >/dev/null
echo "== before: CRI runtime handlers"; containerd --config $W/etc/containerd/config.toml config dump | grep -n 'runtimes\.' || true

echo "== install"
run() { node "$P/dist/zeropod-installer.mjs" --config $W/etc/containerd/config.toml --opt-dir /tmp/zpo --patchelf "${PATCHELF:-$P/.cache/patchelf}" --restart-command "$W/ctl.sh restart" "$@"; }
t0=$(date +%s%N); run 2>$W/install1.log; echo "install took $(( ($(date +%s%N)-t0)/1000000 )) ms"
echo "pid after install: $(cat $W/pid)"
diff $W/original.toml $W/etc/containerd/config.toml || true
cat $W/etc/containerd/zeropod-runtime.toml
echo "== containerd's merged view"; containerd --config $W/etc/containerd/config.toml config dump | grep -A8 'runtimes.zeropod\]'
du -sh /tmp/zpo; ls /tmp/zpo/bin /tmp/zpo/lib | head -40
echo "== the copied runtime runs on its own loader and libraries"
hidden() { unshare -m --propagation private sh -c "$HIDE_NODEJS \"\$@\"" hidden "$@"; }
hidden sh -c 'ls /usr/share/nodejs | wc -l; node -e 0 2>/dev/null && { echo "FAIL: /usr/share/nodejs not hidden"; exit 1; } || echo "Debian node without /usr/share/nodejs: aborts (as expected)"'
hidden /tmp/zpo/bin/node -e "const m=require('fs').readFileSync('/proc/self/maps','utf8').split('\\n').map(l=>l.split(/\\s+/)[5]).filter(f=>f&&f.includes('.so'));console.log('libraries loaded from', [...new Set(m.map(f=>require('path').dirname(f)))].join(', '))"
hidden /tmp/zpo/bin/node -e "console.log('node', process.version, process.execPath); const k = require('/tmp/zpo/lib/zeropod/node_modules/koffi'); console.log('koffi', k.version)"
/tmp/zpo/bin/criu --version; /tmp/zpo/bin/criu check
hidden env -i /tmp/zpo/bin/containerd-shim-zeropod-v2 -v

echo "== install again"
pid1=$(cat $W/pid); s1=$(cd $W && find etc /tmp/zpo -type f -exec sha256sum {} + | sort | sha256sum)
run 2>$W/install2.log
s2=$(cd $W && find etc /tmp/zpo -type f -exec sha256sum {} + | sort | sha256sum)
[ "$s1" = "$s2" ] && echo "second install: no file changed" || { echo "FAIL: the second install changed files"; exit 1; }
[ "$pid1" = "$(cat $W/pid)" ] && echo "second install: containerd not restarted" || { echo "FAIL: the second install restarted containerd"; exit 1; }

echo "== a pod on the zeropod handler through the installed runtime"
cd "$P" && node --import tsx scripts/installer-check-pod.ts "unix://$A" || { echo "FAIL: the pod on the installed runtime"; exit 1; }

echo "== uninstall"
run --uninstall 2>$W/uninstall.log
cmp $W/original.toml $W/etc/containerd/config.toml && echo "config restored byte for byte" || { echo "FAIL: config not restored"; exit 1; }
ls -A $W/etc/containerd; [ -e /tmp/zpo ] && { echo "FAIL: /tmp/zpo left behind"; exit 1; }; echo "runtime files removed"
if containerd --config $W/etc/containerd/config.toml config dump | grep -q 'runtimes.zeropod'; then echo "FAIL: containerd still knows zeropod"; exit 1; fi
echo "containerd no longer knows zeropod"
$W/ctl.sh stop
