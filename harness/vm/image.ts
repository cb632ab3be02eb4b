/**
 * The cached VM image (kernel, initramfs, raw ext4 disk): keyed by its recipe (the build script, the
 * guest files baked into it and the root filesystem's own key), built into `<dir>.partial` by
 * build.sh and renamed when complete, so a stale or half-built image is never booted.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { internal } from '../../src/base/index.ts';
import { ensureRootfs, paths, runVisible } from '../env/index.ts';

const recipe = ['harness/vm/build.sh', 'harness/vm/guest/init.sh', 'harness/vm/guest/initramfs-init.sh'];

/** Disk size inside the guest (sparse on the host): the root filesystem plus containerd's content. */
const DISK_SIZE = '8G';

export interface VmImage {
  dir: string;
  kernel: string;
  initrd: string;
  disk: string;
  /** Kernel, CRIU, runc, containerd and Node.js versions inside, one a line. */
  versions: string;
}

export function vmImageKey(rootfsDir: string): string {
  const h = createHash('sha256');
  for (const f of recipe) h.update(readFileSync(path.join(paths.project, f)));
  h.update(path.basename(rootfsDir));
  h.update(DISK_SIZE);
  return h.digest('hex').slice(0, 16);
}

function imageAt(dir: string): VmImage | undefined {
  const files = { kernel: 'vmlinuz', initrd: 'initrd.img', disk: 'disk.raw', versions: 'versions.txt' };
  if (!Object.values(files).every((f) => existsSync(path.join(dir, f)))) return undefined;
  return {
    dir,
    kernel: path.join(dir, files.kernel),
    initrd: path.join(dir, files.initrd),
    disk: path.join(dir, files.disk),
    versions: readFileSync(path.join(dir, files.versions), 'utf8').trim(),
  };
}

export async function ensureVmImage(log: (line: string) => void): Promise<VmImage> {
  const rootfs = await ensureRootfs(log);
  const dir = path.join(paths.cache, `vm-${vmImageKey(rootfs)}`);
  const cached = imageAt(dir);
  if (cached) {
    log(`[vm-image] cached: ${dir} (${summary(cached.versions)})`);
    return cached;
  }
  // Older recipes and interrupted builds are removed, never used.
  for (const entry of readdirSync(paths.cache)) {
    const p = path.join(paths.cache, entry);
    if (entry.startsWith('vm-') && p !== dir) {
      log(`[vm-image] removing stale ${entry}`);
      rmSync(p, { recursive: true, force: true });
    }
  }
  const started = performance.now();
  log(`[vm-image] building ${dir} (kernel download, disk from the root filesystem; about a minute)`);
  await runVisible('bash', [path.join(paths.project, 'harness/vm/build.sh'), dir, rootfs, DISK_SIZE]);
  const built = imageAt(dir);
  if (!built) throw internal(`VM image build finished but ${dir} is incomplete`);
  log(
    `[vm-image] built in ${((performance.now() - started) / 1000).toFixed(1)} s (${summary(built.versions)})`,
  );
  return built;
}

/** versions.txt in one line, without the kernel's package file names. */
function summary(versions: string): string {
  return versions
    .split('\n')
    .map((l) => l.replace(/ \(.*\.deb\)$/, '').trim())
    .join(', ');
}
