#!/usr/bin/env bash
# Makes the one-node cluster's certificates and kubeconfigs, new at every start (nothing secret is
# cached): a cluster CA, the API server's serving certificate, one client certificate per component
# (each with the identity Kubernetes' default RBAC expects), the service-account signing key and the
# aggregation layer's front-proxy pair. Kubeconfigs embed their certificates, so the same file works on
# the host and inside the node environment.
# Usage: pki.sh DIR NODE_NAME NODE_IP SERVICE_IP
set -euo pipefail
dir=$1 node=$2 node_ip=$3 service_ip=$4
mkdir -p "$dir"
cd "$dir"
umask 077
days=3650

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
# sign NAME SUBJECT [EXTENSIONS]: a certificate for NAME.key signed by CA (or self-signed for ca).
sign() {
  local name=$1 subj=$2 ext=${3:-}
  key "$name"
  openssl req -new -key "$name.key" -subj "$subj" -out "$name.csr"
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "${ext:-extendedKeyUsage=clientAuth}" >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days "$days" \
    -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

key ca
openssl req -x509 -new -key ca.key -subj "/CN=zeropod-ts-cluster-ca" -days "$days" -out ca.crt \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"

sign apiserver "/CN=kube-apiserver" "extendedKeyUsage=serverAuth
subjectAltName=DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,DNS:$node,IP:127.0.0.1,IP:$node_ip,IP:$service_ip"
sign admin "/O=system:masters/CN=kubernetes-admin"
sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
sign controller-manager "/CN=system:kube-controller-manager"
sign scheduler "/CN=system:kube-scheduler"
sign kube-proxy "/CN=system:kube-proxy"
sign kubelet "/O=system:nodes/CN=system:node:$node"
sign coredns "/CN=zeropod-ts:coredns"
sign metrics-server "/CN=zeropod-ts:metrics-server"
sign front-proxy-client "/CN=front-proxy-client"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key 2>/dev/null
openssl pkey -in sa.key -pubout -out sa.pub

b64() { base64 -w0 <"$1"; }
for who in admin controller-manager scheduler kube-proxy kubelet coredns metrics-server; do
  cat >"$who.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: zeropod-ts
  cluster:
    server: https://$node_ip:6443
    certificate-authority-data: $(b64 ca.crt)
users:
- name: $who
  user:
    client-certificate-data: $(b64 "$who.crt")
    client-key-data: $(b64 "$who.key")
contexts:
- name: zeropod-ts
  context:
    cluster: zeropod-ts
    user: $who
current-context: zeropod-ts
KC
done
chmod 0644 ca.crt
