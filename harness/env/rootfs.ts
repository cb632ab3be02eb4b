/**
 * The cached root filesystem: keyed by the hash of its recipe (package list + build script), built
 * into `<dir>.partial` and renamed when complete, so a stale or half-built tree is never used.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { internal } from '../../src/base/index.ts';
import { paths } from './paths.ts';
import { runVisible } from './run.ts';

const recipe = ['harness/rootfs/packages.txt', 'harness/rootfs/build.sh'];

export function rootfsKey(): string {
  const h = createHash('sha256');
  for (const f of recipe) h.update(readFileSync(path.join(paths.project, f)));
  return h.digest('hex').slice(0, 16);
}

export function rootfsPath(): string {
  return path.join(paths.cache, `rootfs-${rootfsKey()}`);
}

/** A tree is complete when build.sh wrote versions.txt and renamed it into place. */
export function rootfsReady(dir = rootfsPath()): boolean {
  return existsSync(path.join(dir, 'versions.txt')) && existsSync(path.join(dir, 'usr/bin/containerd'));
}

export async function ensureRootfs(log: (line: string) => void): Promise<string> {
  const dir = rootfsPath();
  if (rootfsReady(dir)) {
    log(
      `[rootfs] cached: ${dir} (${readFileSync(path.join(dir, 'versions.txt'), 'utf8').trim().split('\n').join(', ')})`,
    );
    return dir;
  }
  if (existsSync(dir)) {
    log(`[rootfs] ${dir} is incomplete: rebuilding it`);
    rmSync(dir, { recursive: true, force: true });
  }
  // Older recipes and interrupted builds are removed, never used.
  for (const entry of existsSync(paths.cache) ? readdirSync(paths.cache) : []) {
    if (entry.startsWith('rootfs-') && path.join(paths.cache, entry) !== dir) {
      log(`[rootfs] removing stale ${entry}`);
      rmSync(path.join(paths.cache, entry), { recursive: true, force: true });
    }
  }
  const started = performance.now();
  log(`[rootfs] building ${dir} (Debian sid, about a minute)`);
  const mirror = process.env['ZEROPOD_DEBIAN_MIRROR'] ?? 'http://deb.debian.org/debian';
  await runVisible('bash', [path.join(paths.project, 'harness/rootfs/build.sh'), dir, mirror]);
  if (!rootfsReady(dir)) throw internal(`root filesystem build finished but ${dir} is incomplete`);
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  log(`[rootfs] built in ${secs} s, ${duMiB(dir)} MiB`);
  return dir;
}

function duMiB(dir: string): number {
  let bytes = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) bytes += statSync(p).size;
    }
  };
  walk(dir);
  return Math.round(bytes / 2 ** 20);
}
