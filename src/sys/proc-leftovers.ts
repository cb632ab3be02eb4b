/**
 * Finding what a dead daemon left behind for one container, from /proc: helper processes (a
 * prepared restore's waiter, CRIU, a lazy-pages daemon) by an argument that names the container's
 * work directory, and the mounts under that directory (CRIU's root bind, tmpfs copies).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { errnoOf } from './sys-error.ts';

/** Whether `path` is `dir` or lies below it (no prefix tricks: `/w/a` is not under `/w/ab`). */
export function isUnder(path: string, dir: string): boolean {
  const d = dir.endsWith('/') ? dir.slice(0, -1) : dir;
  return path === d || path.startsWith(`${d}/`);
}

/** Whether a `/proc/<pid>/cmdline` (NUL-separated) has an argument naming `dir` or a path below it. */
export function cmdlineNames(cmdline: string, dir: string): boolean {
  for (const arg of cmdline.split('\0')) {
    const value = arg.startsWith('--') && arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : arg;
    if (isUnder(value, dir)) return true;
  }
  return false;
}

/**
 * Processes (other than this one) with an argument naming `dir` or a path below it, and, with
 * `only`, whose argument list passes it.
 */
export function processesNaming(dir: string, only?: (argv: string[]) => boolean): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch (err) {
      if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ESRCH') continue; // exited meanwhile
      throw err;
    }
    if (cmdlineNames(cmdline, dir) && (!only || only(cmdline.split('\0').filter(Boolean)))) out.push(pid);
  }
  return out;
}

/** `\040`-style escapes of /proc/<pid>/mountinfo fields. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Mount points at or below `dir` in a mountinfo text, deepest first (the order to unmount them). */
export function mountPointsUnder(mountinfo: string, dir: string): string[] {
  const points = new Set<string>();
  for (const line of mountinfo.split('\n')) {
    const field = line.split(' ')[4];
    if (field === undefined) continue;
    const point = unescape(field);
    if (isUnder(point, dir)) points.add(point);
  }
  return [...points].sort((a, b) => b.split('/').length - a.split('/').length || b.localeCompare(a));
}
