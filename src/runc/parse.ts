/** runc's JSON answers, parsed and checked at the edge: code past here sees typed values only. */
import { internal } from '../base/index.ts';
import { CONTAINER_STATUSES, type ContainerState, type RuncStats } from './types.ts';

function parseJson(what: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw internal(`runc ${what}: output is not JSON`, {
      cause: err,
      details: { output: text.slice(0, 1024) },
    });
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkState(what: string, v: unknown): ContainerState {
  if (
    !isRecord(v) ||
    typeof v['id'] !== 'string' ||
    typeof v['pid'] !== 'number' ||
    typeof v['bundle'] !== 'string' ||
    !CONTAINER_STATUSES.includes(v['status'] as ContainerState['status'])
  ) {
    throw internal(`runc ${what}: unexpected container state`, { details: { state: v } });
  }
  return v as unknown as ContainerState;
}

/** `runc state <id>` */
export function parseState(stdout: string): ContainerState {
  return checkState('state', parseJson('state', stdout));
}

/** `runc list --format json`: `null` when there are no containers. */
export function parseList(stdout: string): ContainerState[] {
  const v = parseJson('list', stdout);
  if (v === null) return [];
  if (!Array.isArray(v))
    throw internal('runc list: expected an array', { details: { output: stdout.slice(0, 1024) } });
  return v.map((s) => checkState('list', s));
}

/** `runc ps --format json <id>`: the pids, `null` (Go's nil slice) meaning none. */
export function parsePs(stdout: string): number[] {
  const v = parseJson('ps', stdout);
  if (v === null) return [];
  if (!Array.isArray(v) || !v.every((p) => Number.isInteger(p))) {
    throw internal('runc ps: expected an array of pids', { details: { output: stdout.slice(0, 1024) } });
  }
  return v as number[];
}

/** `runc events --stats <id>`: one event `{"type":"stats","id":...,"data":{...}}`. */
export function parseStats(stdout: string): RuncStats {
  const v = parseJson('events', stdout);
  if (!isRecord(v) || v['type'] !== 'stats' || !isRecord(v['data'])) {
    throw internal('runc events --stats: expected a stats event', {
      details: { output: stdout.slice(0, 1024) },
    });
  }
  const data = v['data'];
  if (!isRecord(data['cpu']) || !isRecord(data['memory']) || !isRecord(data['pids'])) {
    throw internal('runc events --stats: stats without cpu/memory/pids', {
      details: { output: stdout.slice(0, 1024) },
    });
  }
  return data as unknown as RuncStats;
}

/** A pid file runc wrote (decimal, no newline). */
export function parsePid(text: string, path: string): number {
  const pid = Number(text.trim());
  if (!Number.isSafeInteger(pid) || pid <= 0)
    throw internal(`bad pid file ${path}`, { details: { path, text } });
  return pid;
}
