/**
 * The Kubernetes node's programs, built from their published Go modules by build/build.sh and cached
 * under the node environment's cache, keyed by the hash of their recipe (versions, go.mod/go.sum, the
 * build script). Built into `<dir>.partial` and renamed when complete: a half-built set is never used.
 * Go's module and build caches sit beside it and survive, so an interrupted build resumes.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { internal } from '../../src/base/index.ts';
import { paths, runVisible } from '../env/index.ts';

const recipe = [
  'harness/k8s/build/versions.env',
  'harness/k8s/build/build.sh',
  'harness/k8s/build/go.mod',
  'harness/k8s/build/go.sum',
];
export const K8S_PROGRAMS = [
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubelet',
  'kube-proxy',
  'kubectl',
  'coredns',
  'metrics-server',
] as const;

export function k8sKey(): string {
  const h = createHash('sha256');
  for (const f of recipe) h.update(readFileSync(path.join(paths.project, f)));
  return h.digest('hex').slice(0, 16);
}

export const k8sDir = (): string => path.join(paths.cache, `k8s-${k8sKey()}`);
export const k8sBin = (): string => path.join(k8sDir(), 'bin');
const goCache = (): string => path.join(paths.cache, 'k8s-go');

export function k8sReady(dir = k8sDir()): boolean {
  return (
    existsSync(path.join(dir, 'versions.txt')) &&
    K8S_PROGRAMS.every((p) => existsSync(path.join(dir, 'bin', p)))
  );
}

export async function ensureK8sBinaries(log: (line: string) => void): Promise<string> {
  const dir = k8sDir();
  if (k8sReady(dir)) {
    const versions = readFileSync(path.join(dir, 'versions.txt'), 'utf8').trim().split('\n');
    log(`[k8s] programs cached: ${dir} (${versions.join(', ')})`);
    return path.join(dir, 'bin');
  }
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  for (const entry of existsSync(paths.cache) ? readdirSync(paths.cache) : []) {
    const stale = /^k8s-[0-9a-f]{16}(\.partial)?$/.test(entry) && path.join(paths.cache, entry) !== dir;
    if (stale) {
      log(`[k8s] removing stale ${entry}`);
      rmSync(path.join(paths.cache, entry), { recursive: true, force: true });
    }
  }
  const started = performance.now();
  log(`[k8s] building Kubernetes, CoreDNS and metrics-server into ${dir} (first time: ~20 min on 2 cores)`);
  await runVisible('bash', [path.join(paths.project, 'harness/k8s/build/build.sh'), dir, goCache()]);
  if (!k8sReady(dir)) throw internal(`the Kubernetes build finished but ${dir} is incomplete`);
  log(`[k8s] built in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return path.join(dir, 'bin');
}
