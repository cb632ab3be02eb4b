/**
 * runc's record of a container, `<root>/<id>/state.json` (libcontainer's State), read and written
 * for a restore done without runc: runc learns of the restored process the way its own restore
 * tells it (libcontainer/criu_linux.go, "post-restore": a new init pid and start time, a new
 * created time, /proc/<pid>/ns/* paths, the time namespace CRIU puts the tasks in, and the stdio
 * names from the image's descriptors.json). Every later runc call (exec, kill, pause, ps, delete,
 * checkpoint) then works on the restored container as on one runc restored.
 *
 * Only the fields used here are typed; everything else is carried over untouched.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { internal } from '../base/index.ts';

export interface RuncMount {
  source: string;
  destination: string;
  device: string;
  flags?: number;
}

export interface RuncNamespace {
  /** NEWPID, NEWNET, NEWNS, NEWIPC, NEWUTS, NEWUSER, NEWCGROUP, NEWTIME */
  type: string;
  path: string;
}

export interface RuncConfigState {
  rootfs: string;
  mounts: RuncMount[] | null;
  devices?: { path: string }[] | null;
  namespaces: RuncNamespace[] | null;
  mask_paths?: string[] | null;
  Hooks?: Record<string, unknown[] | null> | null;
  [key: string]: unknown;
}

export interface RuncStateFile {
  id: string;
  init_process_pid: number;
  init_process_start: number;
  created: string;
  /** Controller ('' = the unified hierarchy) -> the container's cgroup directory. */
  cgroup_paths?: Record<string, string> | null;
  /** NEWNET -> /proc/<pid>/ns/net, ... */
  namespace_paths?: Record<string, string> | null;
  external_descriptors?: string[] | null;
  config: RuncConfigState;
  [key: string]: unknown;
}

export function runcStatePath(root: string, id: string): string {
  return path.join(root, id, 'state.json');
}

export function readRuncState(root: string, id: string): RuncStateFile {
  const file = runcStatePath(root, id);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw internal(`cannot read runc's state of ${id}`, { cause: err, details: { file } });
  }
  const s = parsed as Partial<RuncStateFile>;
  if (
    typeof s !== 'object' ||
    s === null ||
    s.id !== id ||
    typeof s.config !== 'object' ||
    s.config === null ||
    typeof s.config.rootfs !== 'string'
  )
    throw internal(`runc's state of ${id} is not in the expected form (id, config.rootfs)`, {
      details: { file },
    });
  return s as RuncStateFile;
}

/** Replaces state.json the way runc does (a temporary file renamed over it). */
export function writeRuncState(root: string, state: RuncStateFile): void {
  const file = runcStatePath(root, state.id);
  const tmp = `${file}.zeropod-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
  renameSync(tmp, file);
}

/** The state after a restore put the container back as process `pid`. */
export function restoredRuncState(
  old: RuncStateFile,
  restored: { pid: number; startTime: number; created: Date; descriptors: readonly string[] },
): RuncStateFile {
  const namespaces = [...(old.config.namespaces ?? [])];
  // CRIU restores the tasks into a new time namespace; runc records it so exec joins it.
  if (!namespaces.some((n) => n.type === 'NEWTIME')) namespaces.push({ type: 'NEWTIME', path: '' });
  const nsPaths: Record<string, string> = {};
  for (const [type, p] of Object.entries(old.namespace_paths ?? {}))
    nsPaths[type] = p.replace(/^\/proc\/\d+\//, `/proc/${restored.pid}/`);
  if (nsPaths['NEWTIME'] === undefined) nsPaths['NEWTIME'] = `/proc/${restored.pid}/ns/time`;
  return {
    ...old,
    init_process_pid: restored.pid,
    init_process_start: restored.startTime,
    created: restored.created.toISOString(),
    namespace_paths: nsPaths,
    external_descriptors: [...restored.descriptors],
    config: { ...old.config, namespaces },
  };
}
