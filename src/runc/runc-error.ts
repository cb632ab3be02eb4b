/**
 * runc's failures -> our closed error codes. The only place that reads runc's words: the last
 * `"level":"error"` line of its JSON log (`--log-format json`), else its stderr.
 *
 * runc 1.3.6 messages seen (libcontainer/error.go and the commands):
 *   container does not exist                               -> NotFound
 *   runc create failed: container with given ID already exists -> AlreadyExists
 *   invalid container ID format                            -> InvalidArgument
 *   container not running (kill of a stopped container)    -> NotFound, "process already finished" as
 *                                                             containerd's checkKillError says
 *   cannot start an already running container, cannot start a container that has stopped,
 *   container not running / not paused, cannot delete container X that is not stopped: running,
 *   exec failed: cannot exec in a stopped|paused container, container with id X is not running,
 *   Container cannot be checkpointed in stopped state      -> FailedPrecondition
 *   anything else                                          -> Internal
 */
import { ErrorCode, ZeropodError } from '../base/index.ts';

export type RuncCommand =
  | 'create'
  | 'start'
  | 'state'
  | 'list'
  | 'kill'
  | 'delete'
  | 'ps'
  | 'pause'
  | 'resume'
  | 'update'
  | 'exec'
  | 'events'
  | 'checkpoint'
  | 'restore';

/** The `msg` of the last error (or fatal) line of runc's JSON log; non-JSON lines are skipped. */
export function lastLogError(logText: string): string | undefined {
  let last: string | undefined;
  for (const line of logText.split('\n')) {
    if (!line.includes('"level"')) continue;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch (err) {
      // A torn line (runc killed mid-write) is not an error message; the others still are.
      void err;
      continue;
    }
    if (typeof rec !== 'object' || rec === null) continue;
    const { level, msg } = rec as { level?: unknown; msg?: unknown };
    if ((level === 'error' || level === 'fatal') && typeof msg === 'string') last = msg;
  }
  return last;
}

/** The last non-empty line of stderr (runc prints its error last; Go panics print more). */
export function lastStderrLine(stderr: string): string | undefined {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return lines.at(-1);
}

const NOT_RUNNING = /\bcontainer not running\b|\bno such process\b|process already finished/i;
const WRONG_STATE = new RegExp(
  [
    'container not running',
    'container not paused',
    'container paused',
    'container still running',
    'that is not stopped',
    'cannot start an already running container',
    'cannot start a container that has stopped',
    'cannot start a container in the \\w+ state',
    'cannot exec in a (stopped|paused) container',
    'container with id \\S+ is not running',
    'cannot be checkpointed in \\w+ state',
    'is not in created state',
  ].join('|'),
  'i',
);

/** Which code runc's message means for `command`. */
export function classifyRuncMessage(command: RuncCommand, message: string): ErrorCode {
  if (/\bcontainer does not exist\b/i.test(message)) return ErrorCode.NotFound;
  if (/container with given ID already exists/i.test(message)) return ErrorCode.AlreadyExists;
  if (/invalid container ID format/i.test(message)) return ErrorCode.InvalidArgument;
  if (command === 'kill' && NOT_RUNNING.test(message)) return ErrorCode.NotFound;
  if (WRONG_STATE.test(message)) return ErrorCode.FailedPrecondition;
  return ErrorCode.Internal;
}

export interface RuncFailure {
  command: RuncCommand;
  id: string | undefined;
  argv: readonly string[];
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** runc's JSON log since the call started (may be empty). */
  logText: string;
  stderr: string;
  /** Appended to the message (CRIU's log tail for checkpoint/restore). */
  extra?: string;
  extraDetails?: Record<string, unknown>;
}

/** How the process ended, as the cause of the typed error (like Go's *exec.ExitError). */
export class RuncExitError extends Error {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;

  constructor(exitCode: number | null, signal: NodeJS.Signals | null) {
    super(signal === null ? `runc exited with status ${exitCode}` : `runc was killed by ${signal}`);
    this.name = 'RuncExitError';
    this.exitCode = exitCode;
    this.signal = signal;
  }
}

/** The typed error for a failed runc call. */
export function runcError(f: RuncFailure): ZeropodError {
  const said = lastLogError(f.logText) ?? lastStderrLine(f.stderr);
  const code = said === undefined ? ErrorCode.Internal : classifyRuncMessage(f.command, said);
  const exit = new RuncExitError(f.exitCode, f.signal);
  const target = f.id === undefined ? '' : ` ${f.id}`;
  let message = `runc ${f.command}${target}: ${said ?? exit.message}`;
  if (f.extra !== undefined && f.extra !== '') message += `\n${f.extra}`;
  return new ZeropodError(code, message, {
    cause: exit,
    details: {
      command: f.command,
      ...(f.id === undefined ? {} : { id: f.id }),
      argv: f.argv,
      exitCode: f.exitCode,
      signal: f.signal,
      ...(said === undefined ? {} : { runcError: said }),
      ...(f.stderr.trim() === '' ? {} : { stderr: f.stderr.trim().slice(-4096) }),
      ...f.extraDetails,
    },
  });
}
