/**
 * What a daemon that starts needs to re-adopt one container (docs/restart-safety.md): enough to
 * find its init again (pid and start time, so a reused pid is never mistaken for it), reattach its
 * stdio (containerd's FIFO paths, the kept fds' keys), and for a container that scales, the phase
 * it was in and what that phase holds (ports, the activator's ports, the image).
 */
import { invalidArgument, quoteValue } from '../../base/index.ts';

export const RECORD_VERSION = 1;

export type RecordedScalePhase =
  'starting' | 'running' | 'checkpointing' | 'scaled-down' | 'restoring' | 'stopped';
const SCALE_PHASES: readonly RecordedScalePhase[] = [
  'starting',
  'running',
  'checkpointing',
  'scaled-down',
  'restoring',
  'stopped',
];

export interface ScaleRecord {
  phase: RecordedScalePhase;
  /** The app's ports (what the nft redirect and the activator serve). */
  ports: number[];
  /** The activator's own listening ports, parallel to `ports` (the redirect's targets). */
  activatorPorts: number[];
  imagePath: string;
  workPath: string;
  /** Connections dumped with their TCP state: the restore must use tcp-established. */
  heldConnections: number;
  /** The tmpfs copies the image names as external mounts (key) and where they are (dir). */
  tmpfs?: { mountpoint: string; key: string; dir: string }[];
}

/**
 * An exec when the record was written: a running one is watched by a new worker, which serves its
 * stdio; a created one (Exec came, Start not yet) is known to it, so that the Start finds it.
 */
export interface ExecRecord {
  id: string;
  phase: 'created' | 'running';
  /** 0 while created. */
  pid: number;
  startTime: number;
  stdio: { stdin: string; stdout: string; stderr: string };
  terminal: boolean;
}

export interface ContainerRecord {
  version: typeof RECORD_VERSION;
  id: string;
  namespace: string;
  bundle: string;
  /** Absent until `runc create` gave a pid. */
  init?: { pid: number; startTime: number };
  stdio: { stdin: string; stdout: string; stderr: string };
  terminal: boolean;
  scale?: ScaleRecord;
  /** Execs that were running (absent in records of older workers: none). */
  execs?: ExecRecord[];
  /** ISO time of this write (for people reading the file). */
  updatedAt: string;
}

type Obj = Record<string, unknown>;

function field(o: Obj, name: string, where: string): unknown {
  if (!(name in o)) throw invalidArgument(`container record: ${where}${name} is missing`);
  return o[name];
}

function str(o: Obj, name: string, where = ''): string {
  const v = field(o, name, where);
  if (typeof v !== 'string')
    throw invalidArgument(`container record: ${where}${name} must be a string, got ${typeof v}`);
  return v;
}

function int(o: Obj, name: string, where = '', min = 0): number {
  const v = field(o, name, where);
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
    throw invalidArgument(`container record: ${where}${name} must be an integer >= ${min}`);
  return v;
}

function bool(o: Obj, name: string, where: string): boolean {
  const v = field(o, name, where);
  if (typeof v !== 'boolean') throw invalidArgument(`container record: ${where}${name} must be a boolean`);
  return v;
}

function stdioOf(o: Obj, where: string): ContainerRecord['stdio'] {
  const s = obj(field(o, 'stdio', where), `${where}stdio`);
  const w = `${where}stdio.`;
  return { stdin: str(s, 'stdin', w), stdout: str(s, 'stdout', w), stderr: str(s, 'stderr', w) };
}

function ports(o: Obj, name: string, where: string): number[] {
  const v = field(o, name, where);
  if (!Array.isArray(v) || v.some((p) => typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > 65535))
    throw invalidArgument(`container record: ${where}${name} must be a list of ports 0-65535`);
  return v as number[];
}

function obj(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw invalidArgument(`container record: ${what} must be an object`);
  return v as Obj;
}

/** Validates a record read from disk; a bad one is refused naming the field. */
export function parseRecord(text: string): ContainerRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`container record is not JSON: ${quoteValue(text)}`, { cause: err });
  }
  const o = obj(raw, 'the record');
  if (o['version'] !== RECORD_VERSION)
    throw invalidArgument(
      `container record: version must be ${RECORD_VERSION}, got ${quoteValue(String(o['version']))}`,
    );
  const stdio = stdioOf(o, '');
  const terminal = bool(o, 'terminal', '');
  const r: ContainerRecord = {
    version: RECORD_VERSION,
    id: str(o, 'id'),
    namespace: str(o, 'namespace'),
    bundle: str(o, 'bundle'),
    stdio,
    terminal,
    updatedAt: str(o, 'updatedAt'),
  };
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(r.id))
    throw invalidArgument(`container record: id ${quoteValue(r.id)} is not a containerd identifier`);
  if (o['init'] !== undefined) {
    const init = obj(o['init'], 'init');
    r.init = { pid: int(init, 'pid', 'init.', 1), startTime: int(init, 'startTime', 'init.') };
  }
  if (o['execs'] !== undefined) {
    const list = o['execs'];
    if (!Array.isArray(list)) throw invalidArgument('container record: execs must be a list');
    r.execs = list.map((e, i) => {
      const x = obj(e, `execs[${i}]`);
      const w = `execs[${i}].`;
      const phase = x['phase'] ?? 'running'; // records from before created execs were kept
      if (phase !== 'created' && phase !== 'running')
        throw invalidArgument(`container record: ${w}phase must be created or running`);
      return {
        id: str(x, 'id', w),
        phase,
        pid: int(x, 'pid', w, phase === 'running' ? 1 : 0),
        startTime: int(x, 'startTime', w),
        stdio: stdioOf(x, w),
        terminal: bool(x, 'terminal', w),
      };
    });
  }
  if (o['scale'] !== undefined) {
    const s = obj(o['scale'], 'scale');
    const phase = str(s, 'phase', 'scale.');
    if (!(SCALE_PHASES as readonly string[]).includes(phase))
      throw invalidArgument(
        `container record: scale.phase ${quoteValue(phase)} must be one of ${SCALE_PHASES.join(', ')}`,
      );
    r.scale = {
      phase: phase as RecordedScalePhase,
      ports: ports(s, 'ports', 'scale.'),
      activatorPorts: ports(s, 'activatorPorts', 'scale.'),
      imagePath: str(s, 'imagePath', 'scale.'),
      workPath: str(s, 'workPath', 'scale.'),
      heldConnections: int(s, 'heldConnections', 'scale.'),
    };
    if (s['tmpfs'] !== undefined) {
      const list = s['tmpfs'];
      if (!Array.isArray(list)) throw invalidArgument('container record: scale.tmpfs must be a list');
      r.scale.tmpfs = list.map((t, i) => {
        const o2 = obj(t, `scale.tmpfs[${i}]`);
        const w = `scale.tmpfs[${i}].`;
        return { mountpoint: str(o2, 'mountpoint', w), key: str(o2, 'key', w), dir: str(o2, 'dir', w) };
      });
    }
  }
  return r;
}
