/**
 * The command line of a `criu restore` run by us rather than by runc: the same request runc sends
 * over CRIU's RPC (libcontainer/criu_linux.go, Restore), spelled as CRIU's own options
 * (Documentation/criu.txt). runc's notification round trips are not asked for: nothing here needs
 * them (no hooks, no network lock, no console).
 */
import { invalidArgument, quoteValue } from '../base/index.ts';

export interface CriuRestoreArgs {
  imagePath: string;
  /** CRIU's work dir: restore.log, stats-restore, the lazy-pages socket. */
  workPath: string;
  /** The container's root filesystem, bind-mounted on itself (CRIU needs a mount point). */
  root: string;
  /** File name in workPath for the restored root task's pid. */
  pidFile: string;
  /** `--external mnt[KEY]:VAL`: the image's external mounts and where they come from now. */
  extMounts: readonly { key: string; value: string }[];
  /** `--inherit-fd fd[N]:KEY`: objects of the image that are fds we hand to CRIU. */
  inheritFds: readonly { fd: number; key: string }[];
  /** `--join-ns NS:FILE`: namespaces the restored tasks join instead of getting new ones. */
  joinNs: readonly { ns: string; file: string }[];
  /** `--cgroup-root CTRL:PATH` (CTRL '' = the unnamed one, as runc's RPC sends it). */
  cgroupRoots: readonly { controller: string; path: string }[];
  manageCgroups?: 'soft' | 'full' | 'strict' | 'ignore';
  emptyNs?: readonly 'net'[];
  tcpEstablished?: boolean;
  lazyPages?: boolean;
  extUnixSk?: boolean;
  fileLocks?: boolean;
  /** 0 (none) .. 4 (debug, what runc asks for). */
  logLevel: number;
  /** CRIU configuration files read before the command line. */
  configFile?: string;
}

const KEY = /^[^\s:\]]+$/;

function checked(name: string, value: string, pattern = /^\S+$/): string {
  if (!pattern.test(value))
    throw invalidArgument(
      `criu restore: ${name} must be one word without ':' or ']', got ${quoteValue(value)}`,
    );
  return value;
}

/** `criu restore ...`: restore detached, the root task as our child (runc's rst_sibling). */
export function criuRestoreArgv(a: CriuRestoreArgs): string[] {
  if (!Number.isInteger(a.logLevel) || a.logLevel < 0 || a.logLevel > 4)
    throw invalidArgument(`criu restore: logLevel must be 0..4, got ${a.logLevel}`);
  const argv = [
    'restore',
    ...(a.configFile ? ['--config', a.configFile] : []),
    '--images-dir',
    a.imagePath,
    '--work-dir',
    a.workPath,
    '--log-file',
    'restore.log',
    `-v${a.logLevel}`,
    '--root',
    a.root,
    '--pidfile',
    a.pidFile,
    '--restore-detached',
    '--restore-sibling',
    '--evasive-devices',
    // An optional argument: only in the `=` form.
    `--manage-cgroups=${a.manageCgroups ?? 'soft'}`,
  ];
  for (const m of a.extMounts)
    argv.push('--external', `mnt[${checked('mount key', m.key, KEY)}]:${checked('mount source', m.value)}`);
  for (const f of a.inheritFds) {
    if (!Number.isInteger(f.fd) || f.fd < 0) throw invalidArgument(`criu restore: bad inherited fd ${f.fd}`);
    argv.push('--inherit-fd', `fd[${f.fd}]:${checked('inherited fd key', f.key)}`);
  }
  for (const j of a.joinNs)
    argv.push('--join-ns', `${checked('namespace', j.ns, KEY)}:${checked('ns file', j.file)}`);
  for (const c of a.cgroupRoots)
    argv.push(
      '--cgroup-root',
      `${c.controller === '' ? '' : checked('controller', c.controller, KEY)}:${checked('cgroup', c.path)}`,
    );
  for (const ns of a.emptyNs ?? []) argv.push('--empty-ns', ns);
  if (a.tcpEstablished) argv.push('--tcp-established');
  if (a.lazyPages) argv.push('--lazy-pages');
  if (a.extUnixSk) argv.push('--ext-unix-sk');
  if (a.fileLocks) argv.push('--file-locks');
  return argv;
}
