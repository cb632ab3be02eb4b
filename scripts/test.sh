#!/usr/bin/env bash
# The whole test suite, every tier. Sets up what it needs first (scripts/setup.sh), builds the node
# environment (cached), runs unit tests on the host and the root tiers inside the environment; the k8s
# tier restarts the environment with a one-node Kubernetes cluster (built from source once, cached),
# then once more without zeropod for the install test (test/k8s/install.test.ts), and back; the vm
# tier boots the cgroup v2 VM (harness/vm, cached image, software emulation: minutes) and runs the
# scale e2e scenarios (state, probes, exec, stats, OOM, fresh-start fallback, removal) and the non-root
# workloads there.
#   bash scripts/test.sh [static|unit|integration|e2e|k8s|vm]...   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
tiers=("$@")
[ ${#tiers[@]} -eq 0 ] && tiers=(static unit integration e2e k8s vm)
has() { local t; for t in "${tiers[@]}"; do [ "$t" = "$1" ] && return 0; done; return 1; }
if has vm; then bash scripts/setup.sh vm; else bash scripts/setup.sh; fi
failed=0

if has static; then
  echo "== static: typecheck, lint, generated code"
  npx tsc -p . || failed=1
  npx eslint . || failed=1
  npx prettier --check --log-level warn src harness test bench || failed=1
fi

if has unit; then
  echo "== unit (host, no root needed)"
  mapfile -t unit < <(find src -name '*.test.ts' | sort)
  if [ ${#unit[@]} -gt 0 ]; then npx tsx --test "${unit[@]}" || failed=1; fi
fi

if has integration || has e2e; then
  echo "== node environment"
  npm run --silent build
  npx tsx harness/cli.ts up
  has static && { bash scripts/gen.sh --check || failed=1; }
fi

if has integration; then
  echo "== integration (real runc, CRIU, namespaces; inside the node environment)"
  mapfile -t harness_tests < <(find harness -name '*.test.ts' | sort)
  if [ ${#harness_tests[@]} -gt 0 ]; then npx tsx --test "${harness_tests[@]}" || failed=1; fi
  npx tsx harness/cli.ts exec -- node --import tsx --test --test-concurrency=1 'test/integration/*.test.ts' || failed=1
fi

if has e2e; then
  echo "== e2e (real containerd through the CRI; inside the node environment)"
  npx tsx harness/cli.ts exec -- node --import tsx --test --test-concurrency=1 'test/e2e/*.test.ts' || failed=1
fi

if has k8s; then
  echo "== k8s (real kube-apiserver, kubelet, kube-proxy, CoreDNS; kubectl; inside the node environment)"
  npm run --silent build
  npx tsx harness/cli.ts up --k8s
  mapfile -t k8s_tests < <(find test/k8s -maxdepth 1 -name '*.test.ts' ! -name install.test.ts | sort)
  npx tsx harness/cli.ts exec -- node --import tsx --test --test-concurrency=1 "${k8s_tests[@]}" || failed=1
  # On the host, against that cluster: a real Prometheus (Debian's) scraping the manager.
  bash scripts/setup.sh prometheus
  npx tsx --test --test-concurrency=1 test/k8s-host/*.test.ts || failed=1
  echo "== k8s install (kubectl apply -k config/generic on a node without zeropod: up --k8s --bare)"
  npx tsx harness/cli.ts up --k8s --bare --fresh
  npx tsx harness/cli.ts exec -- node --import tsx --test --test-concurrency=1 test/k8s/install.test.ts || failed=1
  # What remains is the default cluster environment, as after the other tiers.
  npx tsx harness/cli.ts up --k8s
fi

if has vm; then
  echo "== vm (cgroup v2 kernel in qemu; the scale e2e scenarios and non-root workloads)"
  vm_started=$SECONDS
  npm run --silent build
  npx tsx harness/vm/cli.ts up --fresh
  npx tsx harness/vm/cli.ts node --images busybox,nginx,redis,postgres
  # The host's tests, unchanged; under emulation their waits get longer bounds (harness/net/slowdown.ts).
  inside() {
    npx tsx harness/vm/cli.ts exec -- env ZEROPOD_TEST_SLOWDOWN="${ZEROPOD_TEST_SLOWDOWN:-4}" \
      node --import tsx --test --test-concurrency=1 "$@"
  }
  inside test/integration/cgroup-control.test.ts || failed=1
  inside --test-name-pattern 'OOM kill|ContainerStats|UpdateContainerResources' test/e2e/shim-differential.test.ts ||
    failed=1
  inside test/e2e/scale-nginx.test.ts || failed=1
  inside --test-name-pattern 'redis: keys' test/e2e/scale-state.test.ts || failed=1
  inside --test-name-pattern 'probes|removing a scaled-down|falls back to a fresh start' \
    test/e2e/scale-behaviour.test.ts || failed=1
  inside test/e2e/scale-nonroot.test.ts || failed=1
  inside test/e2e/scale-pre-dump.test.ts || failed=1
  npx tsx harness/vm/cli.ts down
  # Booted again with systemd as PID 1, the runtimes set to SystemdCgroup (kubelet's systemd driver).
  npx tsx harness/vm/cli.ts up --fresh --systemd
  npx tsx harness/vm/cli.ts node --images redis
  inside test/e2e/scale-systemd-cgroup.test.ts || failed=1
  npx tsx harness/vm/cli.ts down
  echo "== vm tier: $((SECONDS - vm_started)) s"
fi

exit $failed
