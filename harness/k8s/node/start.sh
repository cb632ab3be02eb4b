#!/usr/bin/env bash
# Starts the one-node cluster inside the node environment (run it inside: `harness/cli.ts exec`):
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy, CoreDNS and
# metrics-server, each in its own session, logging to /var/log/zeropod/k8s-<name>.log. They die with the
# environment's PID namespace, so stopping the environment stops them.
# Inputs (environment): K8S_BIN (the built programs), K8S_PKI (pki.sh's output), NODE_NAME, NODE_IP,
# SERVICE_CIDR, CLUSTER_DNS, POD_CIDR, CGROUP_ROOT, NODE_LABELS (the node's labels at registration, may be empty).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
conf=/etc/kubernetes
logs=/var/log/zeropod
mkdir -p "$conf" /var/lib/kubelet /var/lib/kube-proxy /run/etcd
export PATH=$K8S_BIN:$PATH

# Each program runs under a loop that restarts it a second after it exits, as systemd's Restart=always
# does for kubelet on a kubeadm node: the controller manager, for one, exits when it starts before the
# API server has made its bootstrap roles.
launch() {
  local name=$1
  shift
  setsid bash -c 'while :; do "$@"; echo "[start.sh] exited with $?; restarting in 1 s"; sleep 1; done' \
    "$name" "$@" >>"$logs/k8s-$name.log" 2>&1 </dev/null &
  echo $! >"/run/k8s-$name.pid"
}

# etcd's data is on tmpfs: the cluster is new at every start, and a test cluster needs no fsync.
launch etcd etcd --name zeropod-node --data-dir /run/etcd/data \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster zeropod-node=http://127.0.0.1:2380 --unsafe-no-fsync --log-level warn

launch kube-apiserver kube-apiserver \
  --etcd-servers http://127.0.0.1:2379 \
  --bind-address 0.0.0.0 --secure-port 6443 --advertise-address "$NODE_IP" \
  --service-cluster-ip-range "$SERVICE_CIDR" \
  --client-ca-file "$K8S_PKI/ca.crt" \
  --tls-cert-file "$K8S_PKI/apiserver.crt" --tls-private-key-file "$K8S_PKI/apiserver.key" \
  --kubelet-client-certificate "$K8S_PKI/apiserver-kubelet-client.crt" \
  --kubelet-client-key "$K8S_PKI/apiserver-kubelet-client.key" \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$K8S_PKI/sa.pub" --service-account-signing-key-file "$K8S_PKI/sa.key" \
  --authorization-mode Node,RBAC --allow-privileged \
  --requestheader-client-ca-file "$K8S_PKI/ca.crt" --requestheader-allowed-names front-proxy-client \
  --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
  --requestheader-extra-headers-prefix X-Remote-Extra- \
  --proxy-client-cert-file "$K8S_PKI/front-proxy-client.crt" \
  --proxy-client-key-file "$K8S_PKI/front-proxy-client.key" \
  --kubelet-preferred-address-types InternalIP \
  --enable-aggregator-routing --profiling=false

launch kube-controller-manager kube-controller-manager \
  --kubeconfig "$K8S_PKI/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$K8S_PKI/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$K8S_PKI/controller-manager.kubeconfig" \
  --service-account-private-key-file "$K8S_PKI/sa.key" --root-ca-file "$K8S_PKI/ca.crt" \
  --use-service-account-credentials --leader-elect=false --bind-address 127.0.0.1 \
  --controllers '*,-bootstrapsigner,-tokencleaner,-nodeipam' --profiling=false

launch kube-scheduler kube-scheduler \
  --kubeconfig "$K8S_PKI/scheduler.kubeconfig" \
  --authentication-kubeconfig "$K8S_PKI/scheduler.kubeconfig" \
  --authorization-kubeconfig "$K8S_PKI/scheduler.kubeconfig" \
  --leader-elect=false --bind-address 127.0.0.1 --profiling=false

# kubelet: containerd's CRI, the cgroupfs driver under a cgroup root of ours (this host's cgroup v1
# hierarchies are shared with the host; the environment removes that root when it stops).
for ctrl in /sys/fs/cgroup/*/; do
  case $ctrl in */unified/) continue ;; esac
  mkdir -p "$ctrl${CGROUP_ROOT#/}"
done
sed -e "s|@PKI@|$K8S_PKI|g" -e "s|@CLUSTER_DNS@|$CLUSTER_DNS|g" -e "s|@CGROUP_ROOT@|$CGROUP_ROOT|g" \
  "$here/kubelet.yaml" >"$conf/kubelet.yaml"
: >"$conf/resolv.conf"
# kubelet in a cgroup of its own in the cgroup v2 hierarchy (the unified one of this hybrid host), as
# systemd puts kubelet.service on a real node: the shim tells kubelet's probes from other traffic of
# the node by that cgroup (docs/scale-to-zero.md). Joined before exec, so every socket kubelet makes
# is created there.
unified=
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then unified=/sys/fs/cgroup
elif [ -e /sys/fs/cgroup/unified/cgroup.procs ]; then unified=/sys/fs/cgroup/unified; fi
in_cgroup=()
if [ -n "$unified" ]; then
  kubelet_cg="$unified${CGROUP_ROOT}/kubelet.service"
  mkdir -p "$kubelet_cg"
  in_cgroup=(sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$kubelet_cg")
fi
launch kubelet "${in_cgroup[@]}" kubelet --config "$conf/kubelet.yaml" --kubeconfig "$K8S_PKI/kubelet.kubeconfig" \
  --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" \
  ${NODE_LABELS:+--node-labels "$NODE_LABELS"}

sed -e "s|@PKI@|$K8S_PKI|g" -e "s|@NODE_NAME@|$NODE_NAME|g" -e "s|@POD_CIDR@|$POD_CIDR|g" \
  "$here/kube-proxy.yaml" >"$conf/kube-proxy.yaml"
launch kube-proxy kube-proxy --config "$conf/kube-proxy.yaml"

sed -e "s|@PKI@|$K8S_PKI|g" "$here/Corefile" >"$conf/Corefile"
launch coredns coredns -conf "$conf/Corefile"

launch metrics-server metrics-server \
  --kubeconfig "$K8S_PKI/metrics-server.kubeconfig" \
  --authentication-kubeconfig "$K8S_PKI/metrics-server.kubeconfig" \
  --authorization-kubeconfig "$K8S_PKI/metrics-server.kubeconfig" \
  --secure-port 4443 --cert-dir /run/metrics-server \
  --kubelet-insecure-tls --kubelet-preferred-address-types InternalIP \
  --metric-resolution 15s
echo "started: etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy coredns metrics-server"
