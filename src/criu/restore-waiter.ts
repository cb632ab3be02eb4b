/**
 * A `criu restore` made ready ahead of time: a waiter (`sh`, argv[0] `zeropod-restore`) that blocks
 * on a go pipe at fd 3 and then becomes CRIU with the fds it was given (stdio, then fd 4 on for the
 * namespaces it hands in). The caller prepares the pipe and the fds, moves the waiter into cgroups,
 * writes one byte to go; killing the waiter before or during the restore kills CRIU.
 */
import { spawn } from 'node:child_process';
import { internal } from '../base/index.ts';
import { resolveExecutable } from '../sys/executable.ts';

/** Blocks on fd 3, then becomes CRIU with the fds it was given. */
const WAITER = 'read -r _ <&3 || exit 99; exec 3<&-; exec "$@"';

export interface RestoreWaiter {
  readonly pid: number;
  /** Its exit code (CRIU's, once it went): 99 when the go pipe closed without a byte. */
  readonly exit: Promise<number>;
  kill(): void;
}

export function spawnRestoreWaiter(o: {
  /** CRIU's arguments (criuRestoreArgv). */
  argv: readonly string[];
  stdio: readonly [number, number, number];
  /** The go pipe's read end (fd 3 in the waiter). */
  go: number;
  /** Handed in from fd 4 on. */
  fds: readonly number[];
  /** CRIU_CONFIG_FILE: read when CRIU starts. */
  configFile: string;
  binary?: string;
}): RestoreWaiter {
  const child = spawn(
    '/bin/sh',
    ['-c', WAITER, 'zeropod-restore', o.binary ?? resolveExecutable('criu'), ...o.argv],
    { stdio: [...o.stdio, o.go, ...o.fds], env: { ...process.env, CRIU_CONFIG_FILE: o.configFile } },
  );
  const exit = new Promise<number>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    child.once('error', () => resolve(127));
  });
  if (child.pid === undefined) throw internal('cannot start the restore waiter (/bin/sh)');
  return { pid: child.pid, exit, kill: () => void child.kill('SIGKILL') };
}
