#!/usr/bin/env bash
# The whole test suite, every tier. Sets up what it needs first (scripts/setup.sh), builds the node
# environment (cached), runs unit tests on the host and the root tiers inside the environment; the k8s
# tier restarts the environment with a one-node Kubernetes cluster (built from source once, cached).
#   bash scripts/test.sh [static|unit|integration|e2e|k8s]...   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
tiers=("$@")
[ ${#tiers[@]} -eq 0 ] && tiers=(static unit integration e2e k8s)
has() { local t; for t in "${tiers[@]}"; do [ "$t" = "$1" ] && return 0; done; return 1; }
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
  npx tsx harness/cli.ts exec -- node --import tsx --test --test-concurrency=1 'test/k8s/*.test.ts' || failed=1
  # On the host, against that cluster: a real Prometheus (Debian's) scraping the manager.
  bash scripts/setup.sh prometheus
  npx tsx --test --test-concurrency=1 test/k8s-host/*.test.ts || failed=1
fi

exit $failed
