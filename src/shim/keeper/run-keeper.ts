/**
 * The keeper's process: started by `start` in place of the daemon when ZEROPOD_SHIM_KEEPER=1 is in
 * containerd's environment. It owns the task socket `start` made (fd 3), starts the worker with the
 * same arguments, and restarts it on SIGTERM or SIGHUP (the upgrade: replace the files, signal the
 * keeper). SIGINT ends the keeper itself, and with it what it keeps.
 */
import { writeFileSync } from 'node:fs';
import { createLogger, describeError } from '../../base/index.ts';
import type { ShimFlags } from '../flags.ts';
import { fileLogSink } from '../log-sink.ts';
import { nodeDaemonMarker } from '../paths.ts';
import { Keeper } from './keeper.ts';
import { ENV_ROLE } from './messages.ts';

/**
 * Requests wait this long for a worker before they are answered Unavailable: 10 s, or
 * ZEROPOD_SHIM_HOLD_MS in containerd's environment (a slow node: the cgroup v2 VM's emulation).
 */
export function holdMs(env: string | undefined): number {
  const ms = env === undefined || env === '' ? NaN : Number(env);
  return Number.isInteger(ms) && ms > 0 ? ms : 10_000;
}

export async function runKeeper(flags: ShimFlags, entry: string): Promise<void> {
  const log = createLogger({
    level: flags.debug ? 'debug' : 'info',
    sink: fileLogSink(flags.namespace),
    fields: { runtime: 'io.containerd.zeropod.v2', component: 'keeper', pid: process.pid },
  });
  process.on('uncaughtException', (err) => {
    log.error('uncaught exception', { error: describeError(err), stack: err.stack });
  });
  // Started in the first pod's bundle, which goes with that pod: never hold it, never start in it.
  process.chdir('/');
  const args = process.argv.slice(2);
  const bundleArgs = args.includes('-bundle') || args.includes('--bundle') ? [] : ['-bundle', flags.bundle];
  const sock = process.env['ZEROPOD_SHIM_SOCKET'] ?? '';
  const env = { ...process.env };
  delete env[ENV_ROLE];
  delete env['ZEROPOD_SHIM_LISTEN_FD'];
  const keeper = new Keeper({
    listen: { fd: Number(process.env['ZEROPOD_SHIM_LISTEN_FD'] ?? 3) },
    workerSocket: `${sock}.w`,
    workerArgv: [...process.execArgv, entry, ...bundleArgs, ...args],
    workerEnv: env,
    holdMs: holdMs(process.env['ZEROPOD_SHIM_HOLD_MS']),
    log,
    onDone: () => process.exit(0),
  });
  await keeper.start();
  const marker = nodeDaemonMarker(flags.namespace);
  writeFileSync(`${marker}.addr`, sock);
  writeFileSync(`${marker}.pid`, String(process.pid));
  log.info('keeper serving', { socket: sock });
  for (const sig of ['SIGTERM', 'SIGHUP'] as const) process.on(sig, () => keeper.restartWorker(sig));
}
