/** Mounts the rootfs containerd hands us (overlay snapshots, binds) into the bundle, and back out. */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { internal } from '../base/index.ts';

const run = promisify(execFile);

export interface RootfsMount {
  type: string;
  source: string;
  options: readonly string[];
}

export async function mountAll(mounts: readonly RootfsMount[], target: string): Promise<void> {
  mkdirSync(target, { recursive: true });
  for (const m of mounts) {
    const type = m.type === 'bind' || m.type === 'rbind' ? 'none' : m.type;
    const args = ['-t', type, m.source, target];
    if (m.options.length > 0) args.push('-o', m.options.join(','));
    try {
      await run('mount', args);
    } catch (err) {
      throw internal(`mounting the rootfs (${m.type}) failed`, {
        cause: err,
        details: { target, source: m.source },
      });
    }
  }
}

/** Unmounts everything at `target` (lazily: a dying process may still hold it). Idempotent. */
export async function unmountAll(target: string): Promise<void> {
  for (let i = 0; i < 8; i++) {
    try {
      await run('umount', ['-l', target]);
    } catch {
      return; // nothing (more) mounted there
    }
  }
}
