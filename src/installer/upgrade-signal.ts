/**
 * After new runtime files are in place, a running shim is moved onto them: its keeper (the process
 * that holds containerd's connections, docs/restart-safety.md) gets SIGHUP and starts a new worker
 * from the files on disk. Every pod moves to the new code; none is restarted.
 *
 * The keeper's pid is in `<shim run dir>/s/node-<namespace>.pid`. It is signalled only when that pid
 * is visible here and is a zeropod shim: the installer must share the host's PID namespace
 * (`hostPID`), and a stale file must never make it signal a stranger's process.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../base/index.ts';
import type { HostFiles } from './host-files.ts';

export const SHIM_RUN_DIR = '/run/zeropod';
/** The keeper's pid file; the worker's (`node-<ns>.worker.pid`) is not the one to signal. */
const MARKER = /^node-(.+)\.pid$/;
const WORKER = /\.worker\.pid$/;

export interface UpgradeDeps {
  /** Reads /proc/<pid>/cmdline; undefined when no such process is visible. */
  cmdline(pid: number): Promise<string | undefined>;
  kill(pid: number, signal: NodeJS.Signals): void;
}

export const procDeps: UpgradeDeps = {
  async cmdline(pid) {
    try {
      return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
    } catch {
      return undefined;
    }
  },
  kill: (pid, signal) => process.kill(pid, signal),
};

export interface UpgradeResult {
  /** containerd namespaces whose shim was told to upgrade. */
  signalled: string[];
  /** Shims found but not signalled, with the reason. */
  skipped: { namespace: string; reason: string }[];
}

export async function signalUpgrade(
  files: HostFiles,
  log: Logger,
  deps: UpgradeDeps = procDeps,
): Promise<UpgradeResult> {
  const result: UpgradeResult = { signalled: [], skipped: [] };
  const dir = files.at(path.join(SHIM_RUN_DIR, 's'));
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return result; // no shim has run on this node
  }
  for (const entry of entries.sort()) {
    const namespace = WORKER.test(entry) ? undefined : MARKER.exec(entry)?.[1];
    if (namespace === undefined) continue;
    const pid = Number((await readFile(path.join(dir, entry), 'utf8').catch(() => '')).trim());
    const skip = (reason: string) => {
      result.skipped.push({ namespace, reason });
      log.warn('running shim not upgraded', { namespace, pid, reason });
    };
    if (!Number.isInteger(pid) || pid <= 1) {
      skip(`its pid file holds no pid`);
      continue;
    }
    const cmd = await deps.cmdline(pid);
    if (cmd === undefined) {
      skip(
        `pid ${pid} is not visible: gone, or the installer does not share the host's PID namespace (hostPID)`,
      );
      continue;
    }
    if (!cmd.includes('containerd-shim-zeropod-v2')) {
      skip(`pid ${pid} is not a zeropod shim (a stale pid file)`);
      continue;
    }
    deps.kill(pid, 'SIGHUP');
    result.signalled.push(namespace);
    log.info('running shim told to upgrade', { namespace, pid });
  }
  return result;
}
