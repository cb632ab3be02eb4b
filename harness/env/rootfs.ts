/**
 * The cached root filesystem: keyed by the hash of its recipe (package list + build script), built
 * into `<dir>.partial` and renamed when complete, so a stale or half-built tree is never used.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
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
  // Older recipes and interrupted builds are removed, never used; but not while an environment
  // (started from another checkout, say) still has one as its overlay's lower layer.
  const inUse = lowerDirsInUse();
  for (const entry of existsSync(paths.cache) ? readdirSync(paths.cache) : []) {
    const stale = path.join(paths.cache, entry);
    if (!entry.startsWith('rootfs-') || stale === dir) continue;
    if (inUse.has(stale)) {
      log(`[rootfs] keeping stale ${entry}: a running environment is built on it`);
      continue;
    }
    log(`[rootfs] removing stale ${entry}`);
    rmSync(stale, { recursive: true, force: true });
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

/** Overlay lower directories of every mount namespace on the host (one process looked at per namespace). */
function lowerDirsInUse(): Set<string> {
  const seen = new Set<string>();
  const dirs = new Set<string>();
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const ns = readlinkSync(`/proc/${pid}/ns/mnt`);
      if (seen.has(ns)) continue;
      seen.add(ns);
      for (const m of readFileSync(`/proc/${pid}/mountinfo`, 'utf8').matchAll(/lowerdir=([^,\s]+)/g)) {
        for (const d of (m[1] ?? '').split(':')) dirs.add(d);
      }
    } catch {
      // the process exited while we looked
    }
  }
  return dirs;
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
