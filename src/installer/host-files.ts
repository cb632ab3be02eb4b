/**
 * File operations on the host's filesystem as the installer sees it: under `hostRoot` (`/host` in the
 * DaemonSet's init container, `/` on the node itself). Writes are atomic (temp file, fsync, rename)
 * so a crash leaves the old or the new file, never half of one, and keep the replaced file's mode
 * and owner.
 */
import { createHash } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';

export class HostFiles {
  readonly hostRoot: string;
  constructor(hostRoot: string) {
    this.hostRoot = hostRoot;
  }

  /** The installer's path for a host path. */
  at(hostPath: string): string {
    return path.join(this.hostRoot, hostPath);
  }

  async read(hostPath: string): Promise<Buffer | undefined> {
    try {
      return await fs.readFile(this.at(hostPath));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async isSymlink(hostPath: string): Promise<boolean> {
    try {
      return (await fs.lstat(this.at(hostPath))).isSymbolicLink();
    } catch {
      return false;
    }
  }

  async exists(hostPath: string): Promise<boolean> {
    try {
      await fs.access(this.at(hostPath), constants.F_OK);
      return true;
    } catch {
      return false;
    }
  }

  /** Writes atomically; mode and owner come from `like` (a host path) when it exists, else `mode`. */
  async write(
    hostPath: string,
    data: string | Buffer,
    options: { like?: string; mode?: number } = {},
  ): Promise<void> {
    const file = this.at(hostPath);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.zeropod-tmp-${process.pid}`;
    let st: { mode: number; uid: number; gid: number } | undefined;
    if (options.like !== undefined) st = await fs.stat(this.at(options.like)).catch(() => undefined);
    const handle = await fs.open(tmp, 'w', st?.mode ?? options.mode ?? 0o644);
    try {
      await handle.writeFile(data);
      if (st !== undefined) {
        await handle.chmod(st.mode & 0o7777);
        await handle.chown(st.uid, st.gid);
      }
      await handle.sync();
    } catch (err) {
      await handle.close();
      await fs.rm(tmp, { force: true });
      throw err;
    }
    await handle.close();
    await fs.rename(tmp, file);
  }

  async remove(hostPath: string): Promise<void> {
    await fs.rm(this.at(hostPath), { force: true });
  }
}

export const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
