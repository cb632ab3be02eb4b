/**
 * What the shim's status API sends (src/shim/scale/status-server.ts), checked once at the edge: code
 * past `parseSnapshot` / `parseChange` sees typed values only. A field of the wrong type is named in
 * the error; unknown fields are ignored (the shim may add more).
 */
import { invalidArgument } from '../base/index.ts';

export type ScalePhase = 'starting' | 'running' | 'checkpointing' | 'scaled-down' | 'restoring' | 'stopped';
const PHASES: readonly string[] = [
  'starting',
  'running',
  'checkpointing',
  'scaled-down',
  'restoring',
  'stopped',
];

export interface PodRef {
  name: string;
  namespace: string;
  uid: string;
}

export interface ScaleCounts {
  checkpoints: number;
  restores: number;
  failedCheckpoints: number;
  failedRestores: number;
  freshStarts: number;
  lastCheckpointMs?: number;
  lastRestoreMs?: number;
  lastError?: string;
}

/** One container as GET /status lists it. */
export interface ContainerSnapshot {
  id: string;
  name: string;
  pod: PodRef;
  phase: ScalePhase;
  counts: ScaleCounts;
  checkpointsMs: number[];
  restoresMs: number[];
  lastCheckpointAt?: number;
  lastRestoreAt?: number;
  /** Bytes of memory pages in the checkpoint while asleep (0 awake). */
  asleepBytes: number;
  traffic: ClientTraffic;
}

/** What clients see (fields a shim from before them does not send: zeros). */
export interface ClientTraffic {
  /** Connections held now: by the activator, and dumped ones whose peers wait for the wake. */
  connectionsHeld: number;
  /** Connections that reached the app after a wake; `wakeLatenciesMs` holds the newest of them. */
  clientWakes: number;
  /** Accept -> app reached, per held connection (the newest 1,000). */
  wakeLatenciesMs: number[];
}

/** One line of GET /events. */
export interface PhaseChangeLine {
  seq: number;
  at: number;
  id: string;
  name: string;
  pod: PodRef;
  from: ScalePhase;
  to: ScalePhase;
  counts: ScaleCounts;
  asleepBytes: number;
}

type Obj = Record<string, unknown>;

function bad(field: string, expected: string, value: unknown): never {
  throw invalidArgument(`status API field ${field}: expected ${expected}`, {
    details: { field, got: JSON.stringify(value)?.slice(0, 64) },
  });
}

function obj(v: unknown, field: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(field, 'an object', v);
  return v as Obj;
}

function str(o: Obj, k: string, at: string, fallback?: string): string {
  const v = o[k] ?? fallback;
  if (typeof v !== 'string') bad(`${at}.${k}`, 'a string', v);
  return v;
}

function num(o: Obj, k: string, at: string, fallback?: number): number {
  const v = o[k] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) bad(`${at}.${k}`, 'a number >= 0', v);
  return v;
}

function optNum(o: Obj, k: string, at: string): number | undefined {
  return o[k] === undefined ? undefined : num(o, k, at);
}

function phase(o: Obj, k: string, at: string): ScalePhase {
  const v = o[k];
  if (typeof v !== 'string' || !PHASES.includes(v)) bad(`${at}.${k}`, `one of ${PHASES.join(', ')}`, v);
  return v as ScalePhase;
}

function nums(o: Obj, k: string, at: string): number[] {
  const v = o[k] ?? [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'number' || !Number.isFinite(x) || x < 0))
    bad(`${at}.${k}`, 'an array of numbers >= 0', v);
  return v as number[];
}

function counts(o: Obj, at: string): ScaleCounts {
  const c: ScaleCounts = {
    checkpoints: num(o, 'checkpoints', at, 0),
    restores: num(o, 'restores', at, 0),
    failedCheckpoints: num(o, 'failedCheckpoints', at, 0),
    failedRestores: num(o, 'failedRestores', at, 0),
    freshStarts: num(o, 'freshStarts', at, 0),
  };
  const lc = optNum(o, 'lastCheckpointMs', at);
  const lr = optNum(o, 'lastRestoreMs', at);
  if (lc !== undefined) c.lastCheckpointMs = lc;
  if (lr !== undefined) c.lastRestoreMs = lr;
  if (typeof o['lastError'] === 'string') c.lastError = o['lastError'];
  return c;
}

function podRef(o: Obj, at: string): PodRef {
  return {
    name: str(o, 'pod', at, ''),
    namespace: str(o, 'namespace', at, ''),
    uid: str(o, 'podUid', at, ''),
  };
}

export function parseSnapshot(body: unknown): ContainerSnapshot[] {
  if (!Array.isArray(body)) bad('(body)', 'an array of containers', body);
  return body.map((item, i) => {
    const at = `[${i}]`;
    const o = obj(item, at);
    const s: ContainerSnapshot = {
      id: str(o, 'container', at),
      name: str(o, 'name', at),
      pod: podRef(o, at),
      phase: phase(o, 'phase', at),
      counts: counts(o, at),
      checkpointsMs: nums(o, 'checkpointsMs', at),
      restoresMs: nums(o, 'restoresMs', at),
      asleepBytes: num(o, 'asleepBytes', at, 0),
      traffic: {
        connectionsHeld: num(o, 'connectionsHeld', at, 0),
        clientWakes: num(o, 'clientWakes', at, 0),
        wakeLatenciesMs: nums(o, 'wakeLatenciesMs', at),
      },
    };
    const lc = optNum(o, 'lastCheckpointAt', at);
    const lr = optNum(o, 'lastRestoreAt', at);
    if (lc !== undefined) s.lastCheckpointAt = lc;
    if (lr !== undefined) s.lastRestoreAt = lr;
    return s;
  });
}

export function parseChange(line: unknown): PhaseChangeLine {
  const o = obj(line, 'event');
  return {
    seq: num(o, 'seq', 'event'),
    at: num(o, 'at', 'event'),
    id: str(o, 'container', 'event'),
    name: str(o, 'name', 'event'),
    pod: podRef(o, 'event'),
    from: phase(o, 'from', 'event'),
    to: phase(o, 'to', 'event'),
    counts: counts(obj(o['stats'], 'event.stats'), 'event.stats'),
    asleepBytes: num(o, 'asleepBytes', 'event', 0),
  };
}
