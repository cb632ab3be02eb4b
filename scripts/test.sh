#!/usr/bin/env bash
# The whole test suite, all three tiers. Sets up what it needs first (scripts/setup.sh), builds the
# node environment (cached), runs unit tests on the host and the root tiers inside the environment.
#   bash scripts/test.sh [unit|integration|e2e|vm]...   (default: all but vm)
# `vm` boots the cgroup v2 VM (harness/vm, cached image, software emulation: minutes) and runs the
# e2e scenarios that touch cgroups there.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh "$([[ " $* " == *" vm "* ]] && echo vm)"
tiers=("$@")
[ ${#tiers[@]} -eq 0 ] && tiers=(static unit integration e2e)
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

if has vm; then
  echo "== vm (cgroup v2 kernel in qemu; the e2e scenarios that touch cgroups)"
  npm run --silent build
  npx tsx harness/vm/cli.ts up --fresh
  npx tsx harness/vm/cli.ts node --images busybox,nginx
  inside() { npx tsx harness/vm/cli.ts exec -- node --import tsx --test --test-concurrency=1 "$@"; }
  inside test/integration/cgroup-control.test.ts || failed=1
  inside --test-name-pattern 'OOM kill|ContainerStats|UpdateContainerResources' test/e2e/shim-differential.test.ts ||
    failed=1
  inside test/e2e/scale-nginx.test.ts || failed=1
  npx tsx harness/vm/cli.ts down
fi

exit $failed
