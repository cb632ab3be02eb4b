/**
 * The runc CLI adapter (what containerd's go-runc is to its shim). Every call is
 *   runc --root R --log L --log-format json <command> ...
 * run asynchronously; a failure becomes a ZeropodError whose message is runc's own last error
 * (its JSON log, else stderr) and, for checkpoint/restore, the tail of CRIU's log.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { internal, silentLogger, type Logger } from '../base/index.ts';
import {
  criuFailureReport,
  describeCriuFailure,
  criuLogPath,
  writeCriuConfig,
  type CriuAction,
  type CriuConfigOptions,
} from '../criu/index.ts';
import * as argv from './argv.ts';
import { parseList, parsePid, parsePs, parseState, parseStats } from './parse.ts';
import { runcError, type RuncCommand } from './runc-error.ts';
import { runProcess, type RunResult, type SpawnStdio } from './run-process.ts';
import { openStdio } from './stdio.ts';
import { resolveExecutable } from '../sys/executable.ts';
import { fileSize, mtime, readFrom } from './log-file.ts';
import type { ContainerState, LinuxResources, ProcessStdio, RuncStats } from './types.ts';

export interface RuncConfig {
  /** The runc binary (default 'runc', looked up on PATH once). */
  binary?: string;
  /** runc --root: its state directory, e.g. /run/containerd/runc/<namespace>. */
  root: string;
  /**
   * runc --log (containerd uses <bundle>/log.json). Errors are read from what a call appended.
   * Default: a fresh file per call in the temp directory, removed afterwards.
   */
  log?: string;
  systemdCgroup?: boolean;
  debug?: boolean;
  /** Added to the environment runc (and the CRIU it starts) runs with. */
  env?: Record<string, string>;
  logger?: Logger;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface CreateOptions extends argv.CreateArgs, CallOptions {
  /** The container's stdio (ignored by runc with a terminal; /dev/null where unset). */
  stdio?: ProcessStdio;
}

export interface ExecOptions extends argv.ExecArgs, CallOptions {
  stdio?: ProcessStdio;
}

export interface CheckpointOptions extends Omit<argv.CheckpointArgs, 'statusFd'>, CallOptions {
  /** An fd of this process (a pipe's write end) runc writes '\0' to once lazy pages are served. */
  statusFd?: number;
  /** Given to CRIU via CRIU_CONFIG_FILE: only what runc does not set itself (see criu-config.ts). */
  criuOptions?: CriuConfigOptions;
  /** Lines of CRIU's dump.log put in the error (default 20). */
  logTailLines?: number;
}

export interface RestoreOptions extends argv.RestoreArgs, CallOptions {
  /** The restored process's stdio: pipes it had at dump time are replaced by these. */
  stdio?: ProcessStdio;
  criuOptions?: CriuConfigOptions;
  logTailLines?: number;
}

interface Call {
  signal?: AbortSignal | undefined;
  id?: string;
  stdin?: SpawnStdio;
  stdout?: SpawnStdio;
  stderr?: SpawnStdio;
  extraFds?: readonly number[];
  input?: string | Uint8Array;
  env?: Record<string, string>;
  criu?: { workPath: string; action: CriuAction; tailLines: number };
}

/** The fd runc sees a --status-fd at: the first one after stdio. */
const STATUS_FD = 3;
/** Per-call CRIU options file, in the call's work directory. */
const CRIU_OPTIONS_FILE = 'zeropod-criu.conf';

let logSeq = 0;

export class Runc {
  readonly binary: string;
  readonly root: string;
  readonly #config: RuncConfig;
  readonly #log: Logger;

  constructor(config: RuncConfig) {
    this.#config = config;
    this.binary = config.binary ?? resolveExecutable('runc');
    this.root = config.root;
    this.#log = config.logger ?? silentLogger;
  }

  /** Whether runc manages cgroups through systemd (`--systemd-cgroup`: create, restore). */
  get systemdCgroup(): boolean {
    return this.#config.systemdCgroup === true;
  }

  /** The same runc with other cgroup management, for a container whose runtime options say so. */
  withSystemdCgroup(systemdCgroup: boolean): Runc {
    if (systemdCgroup === this.systemdCgroup) return this;
    return new Runc({ ...this.#config, binary: this.binary, systemdCgroup });
  }

  /** `runc create`: resolves when the container is created (init waits for start); its pid. */
  async create(id: string, o: CreateOptions): Promise<number> {
    const stdio = await openStdio(o.stdio);
    try {
      const { stdin, stdout, stderr } = stdio;
      await this.#call('create', argv.createArgv(id, o), { id, stdin, stdout, stderr, signal: o.signal });
    } finally {
      await stdio.close();
    }
    return this.#readPid(o.pidFile);
  }

  async start(id: string, o: CallOptions = {}): Promise<void> {
    await this.#call('start', argv.simpleArgv('start', id), { id, ...o });
  }

  async state(id: string, o: CallOptions = {}): Promise<ContainerState> {
    const r = await this.#call('state', argv.simpleArgv('state', id), { id, stdout: 'pipe', ...o });
    return parseState(r.stdout);
  }

  async list(o: CallOptions = {}): Promise<ContainerState[]> {
    return parseList((await this.#call('list', argv.listArgv(), { stdout: 'pipe', ...o })).stdout);
  }

  /** `runc kill`; NotFound when the container or its process is already gone. */
  async kill(
    id: string,
    sig: number | NodeJS.Signals,
    o: CallOptions & { all?: boolean } = {},
  ): Promise<void> {
    await this.#call('kill', argv.killArgv(id, sig, o), { id, signal: o.signal });
  }

  async delete(id: string, o: CallOptions & { force?: boolean } = {}): Promise<void> {
    await this.#call('delete', argv.deleteArgv(id, o), { id, signal: o.signal });
  }

  async ps(id: string, o: CallOptions = {}): Promise<number[]> {
    return parsePs((await this.#call('ps', argv.psArgv(id), { id, stdout: 'pipe', ...o })).stdout);
  }

  async pause(id: string, o: CallOptions = {}): Promise<void> {
    await this.#call('pause', argv.simpleArgv('pause', id), { id, ...o });
  }

  async resume(id: string, o: CallOptions = {}): Promise<void> {
    await this.#call('resume', argv.simpleArgv('resume', id), { id, ...o });
  }

  /** `runc update -r -`; raw bytes (containerd's Any value) are passed through as runc's JSON input. */
  async update(id: string, resources: LinuxResources | Uint8Array, o: CallOptions = {}): Promise<void> {
    const input = resources instanceof Uint8Array ? resources : JSON.stringify(resources);
    await this.#call('update', argv.updateArgv(id), { id, stdin: 'pipe', input, ...o });
  }

  /** `runc exec --detach`: resolves once the process runs; its pid. */
  async exec(id: string, o: ExecOptions): Promise<number> {
    const stdio = await openStdio(o.stdio);
    try {
      const { stdin, stdout, stderr } = stdio;
      await this.#call('exec', argv.execArgv(id, o), { id, stdin, stdout, stderr, signal: o.signal });
    } finally {
      await stdio.close();
    }
    return this.#readPid(o.pidFile);
  }

  /** `runc events --stats`: the container's cgroup statistics, once. */
  async stats(id: string, o: CallOptions = {}): Promise<RuncStats> {
    return parseStats((await this.#call('events', argv.statsArgv(id), { id, stdout: 'pipe', ...o })).stdout);
  }

  async checkpoint(id: string, o: CheckpointOptions): Promise<void> {
    const { statusFd, criuOptions, signal, logTailLines, ...rest } = o;
    const env = await this.#criuEnv(o.workPath, criuOptions, signal);
    const args = argv.checkpointArgv(id, statusFd === undefined ? rest : { ...rest, statusFd: STATUS_FD });
    await this.#call('checkpoint', args, {
      id,
      env,
      signal,
      extraFds: statusFd === undefined ? [] : [statusFd],
      criu: { workPath: o.workPath, action: 'dump', tailLines: logTailLines ?? 20 },
    });
  }

  /** `runc restore --detach`: resolves once the restored container runs; its pid. */
  async restore(id: string, o: RestoreOptions): Promise<number> {
    const env = await this.#criuEnv(o.workPath, o.criuOptions, o.signal);
    const stdio = await openStdio(o.stdio);
    try {
      await this.#call('restore', argv.restoreArgv(id, o), {
        id,
        stdin: stdio.stdin,
        stdout: stdio.stdout,
        stderr: stdio.stderr,
        env,
        signal: o.signal,
        criu: { workPath: o.workPath, action: 'restore', tailLines: o.logTailLines ?? 20 },
      });
    } finally {
      await stdio.close();
    }
    return this.#readPid(o.pidFile);
  }

  async #criuEnv(workPath: string, options: CriuConfigOptions | undefined, signal: AbortSignal | undefined) {
    if (options === undefined) return {};
    await mkdir(workPath, { recursive: true, mode: 0o700 });
    const path = join(workPath, CRIU_OPTIONS_FILE);
    await writeCriuConfig(path, options, signal);
    return { CRIU_CONFIG_FILE: path };
  }

  async #readPid(path: string): Promise<number> {
    try {
      return parsePid(await readFile(path, 'utf8'), path);
    } catch (err) {
      throw internal(`cannot read runc's pid file ${path}`, { cause: err, details: { path } });
    }
  }

  async #call(command: RuncCommand, args: string[], c: Call): Promise<RunResult> {
    const logPath = this.#config.log ?? join(tmpdir(), `zp-runc-${process.pid}-${++logSeq}.json`);
    const logOffset = this.#config.log === undefined ? 0 : await fileSize(logPath);
    const criuLog = c.criu === undefined ? undefined : criuLogPath(c.criu.workPath, c.criu.action);
    const criuLogBefore = criuLog === undefined ? undefined : await mtime(criuLog);
    const full = [...argv.globalArgv({ ...this.#config, log: logPath }), ...args];
    const label = `runc ${command}${c.id === undefined ? '' : ` ${c.id}`}`;
    try {
      const r = await runProcess({
        label,
        binary: this.binary,
        argv: full,
        stdin: c.stdin ?? 'ignore',
        stdout: c.stdout ?? 'ignore',
        stderr: c.stderr ?? 'pipe',
        ...(c.extraFds === undefined ? {} : { extraFds: c.extraFds }),
        ...(c.input === undefined ? {} : { input: c.input }),
        env: { ...process.env, ...this.#config.env, ...c.env },
        ...(c.signal === undefined ? {} : { signal: c.signal }),
      });
      this.#log.debug('runc finished', { command, id: c.id, exitCode: r.exitCode, ms: r.durationMs });
      if (r.exitCode === 0) return r;
      const logText = await readFrom(logPath, logOffset);
      let extra: string | undefined;
      let extraDetails: Record<string, unknown> | undefined;
      if (c.criu !== undefined && criuLog !== undefined && (await mtime(criuLog)) !== criuLogBefore) {
        const report = await criuFailureReport(c.criu.workPath, c.criu.action, c.criu.tailLines);
        extra = describeCriuFailure(report);
        extraDetails = {
          criuLog: report.logPath,
          criuTail: report.tail,
          criuErrors: report.errors.map((e) => `${e.source}: ${e.message}`),
        };
      }
      throw runcError({
        command,
        id: c.id,
        argv: full,
        exitCode: r.exitCode,
        signal: r.signal,
        logText,
        stderr: r.stderr,
        ...(extra === undefined ? {} : { extra }),
        ...(extraDetails === undefined ? {} : { extraDetails }),
      });
    } finally {
      if (this.#config.log === undefined) await rm(logPath, { force: true });
    }
  }
}
