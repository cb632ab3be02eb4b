/**
 * What a leak would show, counted inside the node environment: the shim's fds (keeper and worker),
 * mounts, processes, checkpoint images, work directories, records and nft tables. Taken at the
 * soak's start and end at the same point of a cycle (the redis asleep, nothing in flight), so any
 * difference is something a cycle or a restart left behind.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const SHIM_MARKER = '/run/zeropod/s/node-k8s.io';
const IMAGES = '/var/lib/zeropod-ts/images/k8s.io';
const WORK = '/run/zeropod/work';
const RECORDS = '/run/zeropod/records/k8s.io';

export interface Inventory {
  keeperFds: number;
  workerFds: number;
  /** Every mount of the environment's mount namespace. */
  mounts: number;
  /** Mounts under the shim's work root (CRIU's root binds, tmpfs copies). */
  workMounts: number;
  /** Every process in the environment, less the soak's own. */
  processes: number;
  images: number;
  workDirs: number;
  records: number;
  /** nft tables in the pod's network namespace and in the environment's. */
  podNftTables: number;
  nodeNftTables: number;
}

export const readPid = (file: string) => Number(readFileSync(file, 'utf8').trim());

const entries = (dir: string) => (existsSync(dir) ? readdirSync(dir).length : 0);

/** Names of the processes counted (for a report when the count changed). */
export function processNames(exclude: ReadonlySet<number>): string[] {
  const out: string[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || exclude.has(Number(d))) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (argv.length === 0) continue; // a kernel thread or a zombie being reaped
      out.push(
        argv
          .slice(0, 3)
          .map((a) => path.basename(a))
          .join(' '),
      );
    } catch {
      // exited while we looked
    }
  }
  return out.sort();
}

function nftTables(netns?: string): number {
  const argv = netns ? ['--net=' + netns, 'nft', 'list', 'tables'] : ['nft', 'list', 'tables'];
  const r = spawnSync(netns ? 'nsenter' : argv[0]!, netns ? argv : argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`nft list tables failed: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.startsWith('table ')).length;
}

/** The soak's own process and its children (the clients' nsenter, nft) are not the runtime's. */
export function takeInventory(podNetns: string, exclude: ReadonlySet<number>): Inventory {
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean);
  return {
    keeperFds: entries(`/proc/${readPid(`${SHIM_MARKER}.pid`)}/fd`),
    workerFds: entries(`/proc/${readPid(`${SHIM_MARKER}.worker.pid`)}/fd`),
    mounts: mountinfo.length,
    workMounts: mountinfo.filter((l) => l.split(' ')[4]?.startsWith(`${WORK}/`)).length,
    processes: processNames(exclude).length,
    images: entries(IMAGES),
    workDirs: entries(WORK),
    records: entries(RECORDS),
    podNftTables: nftTables(podNetns),
    nodeNftTables: nftTables(),
  };
}

export function formatInventory(i: Inventory): string {
  return Object.entries(i)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

/**
 * Each count that differs between the start and the end, as `name start -> end`. The worker's fds
 * are compared within one worker's life by the soak itself (workers started differently differ).
 */
export function inventoryChanges(start: Inventory, end: Inventory): string[] {
  return (Object.keys(start) as (keyof Inventory)[])
    .filter((k) => k !== 'workerFds' && start[k] !== end[k])
    .map((k) => `${k} ${start[k]} -> ${end[k]}`);
}
