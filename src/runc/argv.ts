/**
 * runc 1.3 command lines, built from typed options (checked against `runc <cmd> --help` of 1.3.6).
 * Pure: no I/O, so every flag is covered by unit tests.
 */
import { constants } from 'node:os';
import { invalidArgument, quoteValue } from '../base/index.ts';

export interface GlobalArgs {
  root: string;
  log: string;
  systemdCgroup?: boolean;
  debug?: boolean;
}

/** `--root R --log L --log-format json [--systemd-cgroup] [--debug]`, before every command. */
export function globalArgv(g: GlobalArgs): string[] {
  const argv = ['--root', g.root, '--log', g.log, '--log-format', 'json'];
  if (g.systemdCgroup === true) argv.push('--systemd-cgroup');
  if (g.debug === true) argv.push('--debug');
  return argv;
}

const flag = (on: boolean | undefined, name: string): string[] => (on === true ? [name] : []);
const value = (v: string | number | undefined, name: string): string[] =>
  v === undefined ? [] : [name, String(v)];

function checkId(id: string): string {
  // runc's own rule is stricter ([\w+-\.]+); this only keeps an id from being read as a flag.
  if (id === '' || id.startsWith('-'))
    throw invalidArgument(`invalid container id ${quoteValue(id)}`, { details: { id: quoteValue(id) } });
  return id;
}

export interface CreateArgs {
  bundle: string;
  pidFile: string;
  consoleSocket?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
}

export function createArgv(id: string, o: CreateArgs): string[] {
  return [
    'create',
    '--bundle',
    o.bundle,
    '--pid-file',
    o.pidFile,
    ...value(o.consoleSocket, '--console-socket'),
    ...flag(o.noPivot, '--no-pivot'),
    ...flag(o.noNewKeyring, '--no-new-keyring'),
    checkId(id),
  ];
}

export interface ExecArgs {
  /** A JSON file holding the OCI `process` object. */
  processSpecPath: string;
  pidFile: string;
  consoleSocket?: string;
  /** `runc exec --ignore-paused`. */
  ignorePaused?: boolean;
}

/** Always detached: runc returns once the process runs, like containerd's shim uses it. */
export function execArgv(id: string, o: ExecArgs): string[] {
  return [
    'exec',
    '--detach',
    '--pid-file',
    o.pidFile,
    '--process',
    o.processSpecPath,
    ...value(o.consoleSocket, '--console-socket'),
    ...flag(o.ignorePaused, '--ignore-paused'),
    checkId(id),
  ];
}

/** A signal number from a number or a name ('SIGTERM', 'TERM'); runc gets the number. */
export function signalNumber(sig: number | string): number {
  if (typeof sig === 'number') {
    if (Number.isInteger(sig) && sig > 0 && sig < 65) return sig;
  } else {
    const name = sig.startsWith('SIG') ? sig : `SIG${sig}`;
    const n = (constants.signals as Record<string, number | undefined>)[name];
    if (n !== undefined) return n;
  }
  throw invalidArgument(`invalid signal ${String(sig)}`, { details: { signal: sig } });
}

export function killArgv(id: string, sig: number | string, o: { all?: boolean } = {}): string[] {
  return ['kill', ...flag(o.all, '--all'), checkId(id), String(signalNumber(sig))];
}

export function deleteArgv(id: string, o: { force?: boolean } = {}): string[] {
  return ['delete', ...flag(o.force, '--force'), checkId(id)];
}

/** Commands that take only the id: start, state, pause, resume. */
export function simpleArgv(command: 'start' | 'state' | 'pause' | 'resume', id: string): string[] {
  return [command, checkId(id)];
}

export const psArgv = (id: string): string[] => ['ps', '--format', 'json', checkId(id)];
export const listArgv = (): string[] => ['list', '--format', 'json'];
export const statsArgv = (id: string): string[] => ['events', '--stats', checkId(id)];
/** Resources come as JSON on stdin. */
export const updateArgv = (id: string): string[] => ['update', '--resources', '-', checkId(id)];

export type ManageCgroupsMode = 'soft' | 'full' | 'strict' | 'ignore';

/** Options both `runc checkpoint` and `runc restore` take. */
export interface CriuArgs {
  imagePath: string;
  /** Where CRIU writes dump.log / restore.log and its stats. */
  workPath: string;
  tcpEstablished?: boolean;
  extUnixSk?: boolean;
  shellJob?: boolean;
  fileLocks?: boolean;
  lazyPages?: boolean;
  manageCgroupsMode?: ManageCgroupsMode;
  /** Namespaces to create empty instead of restoring (`--empty-ns network`). */
  emptyNs?: readonly string[];
  autoDedup?: boolean;
}

function criuArgv(o: CriuArgs): string[] {
  return [
    '--image-path',
    o.imagePath,
    '--work-path',
    o.workPath,
    ...flag(o.tcpEstablished, '--tcp-established'),
    ...flag(o.extUnixSk, '--ext-unix-sk'),
    ...flag(o.shellJob, '--shell-job'),
    ...flag(o.fileLocks, '--file-locks'),
    ...flag(o.lazyPages, '--lazy-pages'),
    ...value(o.manageCgroupsMode, '--manage-cgroups-mode'),
    ...(o.emptyNs ?? []).flatMap((ns) => ['--empty-ns', ns]),
    ...flag(o.autoDedup, '--auto-dedup'),
  ];
}

export interface CheckpointArgs extends CriuArgs {
  leaveRunning?: boolean;
  tcpSkipInFlight?: boolean;
  linkRemap?: boolean;
  /** Only with lazyPages: runc's fd that gets a '\0' when the lazy-pages server is ready. */
  statusFd?: number;
  /** `ADDRESS:PORT` of a CRIU page server. */
  pageServer?: string;
  /** Dump memory only and leave the container running (needs soft-dirty tracking: not on this kernel). */
  preDump?: boolean;
  /** Images of a previous pre-dump, relative to imagePath. */
  parentPath?: string;
}

export function checkpointArgv(id: string, o: CheckpointArgs): string[] {
  return [
    'checkpoint',
    ...criuArgv(o),
    ...flag(o.leaveRunning, '--leave-running'),
    ...flag(o.tcpSkipInFlight, '--tcp-skip-in-flight'),
    ...flag(o.linkRemap, '--link-remap'),
    ...value(o.statusFd, '--status-fd'),
    ...value(o.pageServer, '--page-server'),
    ...flag(o.preDump, '--pre-dump'),
    ...value(o.parentPath, '--parent-path'),
    checkId(id),
  ];
}

export interface RestoreArgs extends CriuArgs {
  bundle: string;
  pidFile: string;
  consoleSocket?: string;
  noPivot?: boolean;
  noSubreaper?: boolean;
}

/** Always detached (`-d`): runc returns once the restored container runs. */
export function restoreArgv(id: string, o: RestoreArgs): string[] {
  return [
    'restore',
    '--detach',
    '--bundle',
    o.bundle,
    '--pid-file',
    o.pidFile,
    ...criuArgv(o),
    ...value(o.consoleSocket, '--console-socket'),
    ...flag(o.noPivot, '--no-pivot'),
    ...flag(o.noSubreaper, '--no-subreaper'),
    checkId(id),
  ];
}
