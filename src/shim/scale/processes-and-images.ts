/**
 * Small facts about a container and its checkpoint image, read from /proc, cgroupfs and the image
 * directory: which processes it has, which ports they listen on, how big the image's memory is.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { listeningTcpPorts, socketInodes } from '../../sys/index.ts';

/** The pids in a cgroup directory's cgroup.procs; `fallback` alone if it cannot be read. */
export function containerPids(cgroupDir: string | undefined, fallback: number): number[] {
  try {
    if (cgroupDir)
      return readFileSync(path.join(cgroupDir, 'cgroup.procs'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map(Number);
  } catch {
    // the cgroup is gone (the container stopped): the init is all we know of
  }
  return [fallback];
}

/** TCP ports listened on by sockets that these processes (one network namespace) hold. */
export async function listeningPortsOf(pids: readonly number[]): Promise<number[]> {
  if (pids.length === 0) return [];
  const [listening, ...owned] = await Promise.all([
    listeningTcpPorts(pids[0]!).catch(() => []),
    ...pids.map((p) => socketInodes(p).catch(() => new Set<number>())),
  ]);
  const inodes = new Set<number>();
  for (const set of owned as Set<number>[]) for (const i of set) inodes.add(i);
  return (listening as { inode: number; port: number }[])
    .filter((l) => inodes.has(l.inode))
    .map((l) => l.port);
}

/**
 * Size of a dump's page images (what a full restore must read before it returns), its pre-dumps'
 * included: CRIU's `parent` link (relative to the image) names the previous one (pre-dump.ts).
 */
export function pagesBytes(imagePath: string): number {
  let sum = 0;
  // Bounded: a link loop (never written by CRIU) must not hang the checkpoint.
  for (let dir: string | undefined = imagePath, depth = 0; dir !== undefined && depth < 16; depth++) {
    try {
      for (const f of readdirSync(dir)) if (f.startsWith('pages-')) sum += statSync(path.join(dir, f)).size;
    } catch {
      break; // no image (yet): nothing to be lazy about
    }
    dir = parentImage(dir);
  }
  return sum;
}

function parentImage(dir: string): string | undefined {
  try {
    return path.resolve(dir, readlinkSync(path.join(dir, 'parent')));
  } catch {
    return undefined; // no parent: a plain dump, or the first pre-dump
  }
}

/**
 * The pod's network namespace lives on while the app sleeps, with its conntrack entries (those of
 * held connections among them). CRIU would write the dumped entries back and fail (EBUSY) on the
 * ones that still exist: the namespace's own state is the truth, so the image's copy goes.
 */
export function dropNetnsState(imagePath: string): void {
  let files: string[];
  try {
    files = readdirSync(imagePath);
  } catch {
    return; // no image: nothing to prune
  }
  for (const f of files) if (/^netns-(ct|exp)-\d+\.img$/.test(f)) rmSync(path.join(imagePath, f));
}

/** Whether these processes are all in the same cgroups (none moved into a cgroup of its own). */
export function sameCgroups(pids: readonly number[]): boolean {
  let first: string | undefined;
  for (const pid of pids) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    } catch {
      return false; // gone mid-look: do not guess
    }
    first ??= text;
    if (text !== first) return false;
  }
  return first !== undefined;
}

/**
 * Until a killed process is reaped (`reaped` resolves when its exit was handled), bounded. Not just
 * a zombie: a zombie leader's other threads may still be exiting and hold its files (its listening
 * sockets: seen with a 1 GiB Node app, whose exit takes ~140 ms, as EADDRINUSE in the next
 * restore), and an exit handled after the next wake began would look like the woken container's.
 * Gone from /proc already: reaped (CRIU killed it during the dump), its exit handled in this tick.
 */
export async function untilReaped(pid: number, reaped: Promise<void>, timeoutMs: number): Promise<void> {
  if (!existsSync(`/proc/${pid}`)) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([reaped, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
  clearTimeout(timer);
}
