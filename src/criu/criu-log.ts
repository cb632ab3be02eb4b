/**
 * CRIU's own logs (dump.log / restore.log in the work directory runc gives it): the tail for error
 * messages and the `Error (file:line): ...` lines parsed out of it. Text matching on CRIU output
 * lives here and nowhere else.
 *
 * A line at log level 4 (what runc asks for) looks like
 *   (00.284327) Error (criu/cr-dump.c:2093): Dumping FAILED.
 *   (00.128813)      1: Error (criu/cr-restore.c:1480): mnt: Can't mount at ./proc: No such file
 * the second form (with the pid) is what restore writes from inside the restored tasks.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { internal } from '../base/index.ts';
import { diagnoseCriuFailure } from './criu-diagnosis.ts';

export type CriuAction = 'dump' | 'restore';
/** Every CRIU process whose log we read: the two actions and the lazy-pages daemon. */
export type CriuLogName = CriuAction | 'lazy-pages';

/** Where CRIU, run by runc, writes its log: `<workPath>/<action>.log`. */
export function criuLogPath(workPath: string, action: CriuLogName): string {
  return join(workPath, `${action}.log`);
}

export interface CriuLogEntry {
  level: 'error' | 'warn';
  /** Seconds since CRIU started, from the line's `(SS.UUUUUU)` prefix; absent without timestamps. */
  seconds?: number;
  /** The pid prefix of lines logged by restored tasks. */
  pid?: number;
  /** `criu/cr-dump.c:2093` */
  source: string;
  message: string;
}

const LINE = /^(?:\((\d+)\.(\d{6})\)\s+)?(?:(\d+):\s+)?(Error|Warn)\s+\(([^)]*)\):\s?(.*)$/;

/** The Error (and, with `warnings`, Warn) lines of a CRIU log, in order. */
export function parseCriuLog(text: string, options: { warnings?: boolean } = {}): CriuLogEntry[] {
  const out: CriuLogEntry[] = [];
  for (const raw of text.split('\n')) {
    const m = LINE.exec(raw.trimEnd());
    if (m === null) continue;
    const level = m[4] === 'Error' ? 'error' : 'warn';
    if (level === 'warn' && options.warnings !== true) continue;
    const entry: CriuLogEntry = { level, source: m[5] ?? '', message: m[6] ?? '' };
    if (m[1] !== undefined && m[2] !== undefined) entry.seconds = Number(m[1]) + Number(m[2]) / 1e6;
    if (m[3] !== undefined) entry.pid = Number(m[3]);
    out.push(entry);
  }
  return out;
}

/** The last `lines` lines of `text` (a trailing newline does not count as an empty line). */
export function lastLines(text: string, lines: number): string[] {
  const all = text.split('\n');
  if (all.at(-1) === '') all.pop();
  return lines <= 0 ? [] : all.slice(-lines);
}

/** Bytes read from the end of a log: enough for far more than the lines anyone asks for. */
const TAIL_BYTES = 64 * 1024;

/**
 * The end of a log file as text: at most TAIL_BYTES, starting at a line boundary. `undefined` when
 * the file does not exist (CRIU never started, or runc failed before it).
 */
export async function readLogEnd(path: string, bytes = TAIL_BYTES): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw internal(`cannot open CRIU log ${path}`, { cause: err, details: { path } });
  }
  try {
    const { size } = await handle.stat();
    const start = Math.max(0, size - bytes);
    const buf = Buffer.alloc(size - start);
    const { bytesRead } = await handle.read(buf, 0, buf.length, start);
    let text = buf.subarray(0, bytesRead).toString('utf8');
    if (start > 0) text = text.slice(text.indexOf('\n') + 1);
    return text;
  } finally {
    await handle.close();
  }
}

/** The last `lines` lines of `<workPath>/<action>.log`; empty when there is no log. */
export async function criuLogTail(workPath: string, action: CriuLogName, lines = 20): Promise<string[]> {
  const text = await readLogEnd(criuLogPath(workPath, action));
  return text === undefined ? [] : lastLines(text, lines);
}

/** What a failed checkpoint/restore left in CRIU's log: the tail and the error lines in it. */
export interface CriuFailureReport {
  logPath: string;
  tail: string[];
  errors: CriuLogEntry[];
}

/**
 * Reads what CRIU said about a failure. Never throws: a report about a failure must not replace
 * the failure, so an unreadable log becomes a one-line tail saying so.
 */
export async function criuFailureReport(
  workPath: string,
  action: CriuLogName,
  lines = 20,
): Promise<CriuFailureReport> {
  const logPath = criuLogPath(workPath, action);
  try {
    const text = (await readLogEnd(logPath)) ?? '';
    return { logPath, tail: lastLines(text, lines), errors: parseCriuLog(text) };
  } catch (err) {
    return { logPath, tail: [`(cannot read ${logPath}: ${(err as Error).message})`], errors: [] };
  }
}

/** Error lines a failure message quotes, and the characters of each: the cause, at a sane size. */
const MAX_ERROR_LINES = 8;
const MAX_LINE = 300;

function cut(line: string): string {
  return line.length <= MAX_LINE ? line : `${line.slice(0, MAX_LINE)}... (${line.length} characters)`;
}

/**
 * What a failure message says about CRIU: its `Error (...)` lines (the cause is often in the middle
 * of the log, e.g. "Can't get rlimit 0: Operation not permitted", far above the tail), the first and
 * the last few when there are many; the tail only when CRIU logged no error line. Bounded either way.
 * A cause we recognise comes first, in plain words (`Cause: ...`), above CRIU's own lines.
 */
export function describeCriuFailure(report: CriuFailureReport): string {
  // A line CRIU repeats (a lock retried: `execvp("iptables-restore")` ... `exited` ...) is said once
  // with its count, so the distinct causes ("Locking network failed") are not cut out as the middle.
  const counts = new Map<string, number>();
  for (const e of report.errors) {
    const line = `Error (${e.source}): ${e.message}`;
    counts.set(line, (counts.get(line) ?? 0) + 1);
  }
  const errors = [...counts].map(([line, n]) => cut(n > 1 ? `${line} (x${n})` : line));
  if (errors.length > 0) {
    const shown =
      errors.length <= MAX_ERROR_LINES
        ? errors
        : [
            ...errors.slice(0, MAX_ERROR_LINES / 2),
            `... (${errors.length - MAX_ERROR_LINES} more error lines) ...`,
            ...errors.slice(-MAX_ERROR_LINES / 2),
          ];
    const causes = diagnoseCriuFailure(report.errors).map((c) => `Cause: ${c}\n`);
    return `${causes.join('')}CRIU said (${report.logPath}):\n${shown.join('\n')}`;
  }
  const tail = report.tail.slice(-MAX_ERROR_LINES).map(cut);
  if (tail.length === 0) return `CRIU wrote nothing to ${report.logPath}`;
  return `${report.logPath} has no error line; its last ${tail.length} lines:\n${tail.join('\n')}`;
}
