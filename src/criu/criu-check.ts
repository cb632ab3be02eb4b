/**
 * `criu check` and `criu --version`: is CRIU usable on this kernel, and is it new enough (4.2 is the
 * first that can dump TCP sockets on Linux >= 6.16, see FACTS.md).
 */
import { execFile } from 'node:child_process';
import { codeOf, failedPrecondition, internal, ZeropodError } from '../base/index.ts';

export interface CriuToolOptions {
  /** The criu binary (default `criu`, looked up on PATH). */
  binary?: string;
  signal?: AbortSignal;
}

interface Output {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(binary: string, args: string[], signal: AbortSignal | undefined): Promise<Output> {
  return new Promise((resolve, reject) => {
    execFile(
      binary,
      args,
      { encoding: 'utf8', ...(signal === undefined ? {} : { signal }) },
      (err, stdout, stderr) => {
        if (err === null) return resolve({ code: 0, stdout, stderr });
        if (signal?.aborted === true) {
          return reject(
            new ZeropodError(codeOf(signal.reason), `criu ${args.join(' ')} aborted`, {
              cause: signal.reason,
            }),
          );
        }
        const code = typeof err.code === 'number' ? err.code : null;
        if (code === null)
          return reject(internal(`cannot run ${binary}`, { cause: err, details: { binary } }));
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * Runs `criu check`; resolves with CRIU's words ("Looks good.") or throws FailedPrecondition whose
 * message carries what CRIU printed.
 */
export async function criuCheck(options: CriuToolOptions = {}): Promise<string> {
  const out = await run(options.binary ?? 'criu', ['check'], options.signal);
  const text = `${out.stdout}${out.stderr}`.trim();
  if (out.code !== 0 || !/Looks good\./.test(text)) {
    throw failedPrecondition(`criu check failed: ${text}`, { details: { exitCode: out.code } });
  }
  return text;
}

export interface CriuVersion {
  major: number;
  minor: number;
  patch: number;
  text: string;
}

/** Parses `criu --version` output ("Version: 4.2.1", optionally "GitID: ..."). */
export function parseCriuVersion(text: string): CriuVersion {
  const m = /Version:\s*(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (m === null) throw internal('unexpected criu --version output', { details: { output: text } });
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0), text: text.trim() };
}

export async function criuVersion(options: CriuToolOptions = {}): Promise<CriuVersion> {
  const out = await run(options.binary ?? 'criu', ['--version'], options.signal);
  if (out.code !== 0)
    throw internal(`criu --version exited with ${out.code}: ${out.stderr.trim()}`, {
      details: { exitCode: out.code },
    });
  return parseCriuVersion(out.stdout);
}

/** Whether `v` is at least `major.minor[.patch]`. */
export function criuAtLeast(v: CriuVersion, major: number, minor: number, patch = 0): boolean {
  if (v.major !== major) return v.major > major;
  if (v.minor !== minor) return v.minor > minor;
  return v.patch >= patch;
}

let dirtyTracking: Promise<boolean> | undefined;

/**
 * Whether the kernel tracks dirty memory (soft-dirty), which CRIU's pre-dump needs. Asked once per
 * process: `criu check --feature mem_dirty_track`.
 */
export function criuSupportsDirtyTracking(options: CriuToolOptions = {}): Promise<boolean> {
  dirtyTracking ??= run(
    options.binary ?? 'criu',
    ['check', '--feature', 'mem_dirty_track'],
    options.signal,
  ).then(
    (out) => out.code === 0,
    () => false,
  );
  return dirtyTracking;
}
