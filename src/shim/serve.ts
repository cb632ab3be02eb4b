/**
 * The long-running shim daemon: one per pod. Serves containerd's Task API over ttrpc on the socket
 * `start` handed it, reaps the containers' processes as a child subreaper, publishes events, and
 * exits when containerd shuts it down with no task left.
 */
import { createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createLogger, describeError, type Logger } from '../base/index.ts';
import { Reaper } from '../sys/index.ts';
import { Runc } from '../runc/index.ts';
import { TtrpcServer, bindService } from '../ttrpc/index.ts';
import { Task as TaskV2 } from '../gen/github.com/containerd/containerd/api/runtime/task/v2/shim_pb.js';
import { EventPublisher } from './events.ts';
import { fifoLogSink } from './log-sink.ts';
import type { ShimFlags } from './flags.ts';
import { grouping, nodeDaemonMarker, runcRoot } from './paths.ts';
import { TaskService } from './task-service.ts';

export interface Extension {
  /**
   * Attaches to the task service (the scale-to-zero decorator). `detach` is for the daemon's exit:
   * stop working, destroy nothing (containers, images and their state outlive the daemon).
   */
  attach(tasks: TaskService, log: Logger): { detach(): Promise<void> };
}

export async function serve(flags: ShimFlags, extensions: readonly Extension[] = []): Promise<void> {
  const nodeWide = grouping() === 'node';
  const log = createLogger({
    level: flags.debug ? 'debug' : 'info',
    // A node-wide daemon outlives the pod whose bundle it started in: it logs to a file.
    sink: nodeWide ? fileLogSink(flags.namespace) : fifoLogSink(path.join(flags.bundle, 'log')),
    fields: { runtime: 'io.containerd.zeropod.v2', namespace: flags.namespace, pid: process.pid },
  });
  process.on('uncaughtException', (err) => {
    log.error('uncaught exception', { error: describeError(err), stack: err.stack });
  });
  const reaper = new Reaper({ log, subreaper: true });
  const events = new EventPublisher(
    process.env['TTRPC_ADDRESS'] ?? `${flags.address}.ttrpc`,
    flags.namespace,
    log,
  );
  const runc = new Runc({ root: runcRoot(flags.namespace), logger: log });
  const tasks = new TaskService({ runc, reaper, events, log });
  const attached = extensions.map((e) => e.attach(tasks, log));

  const server = new TtrpcServer({ logger: log });
  const handlers = bindService(TaskV2, tasks.impl());
  server.register('containerd.task.v2.Task', handlers);
  server.register('containerd.task.v3.Task', handlers);
  const fd = Number(process.env['ZEROPOD_SHIM_LISTEN_FD'] ?? 3);
  await server.serve({ fd });
  log.info('shim serving', { id: flags.id, grouping: nodeWide ? 'node' : 'pod' });
  const marker = nodeDaemonMarker(flags.namespace);
  if (nodeWide) {
    writeFileSync(`${marker}.addr`, String(process.env['ZEROPOD_SHIM_SOCKET'] ?? ''));
    writeFileSync(`${marker}.pid`, String(process.pid));
  }

  let stopping = false;
  const stop = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shim shutting down', { reason });
    if (nodeWide) for (const f of [`${marker}.pid`, `${marker}.addr`]) rmSync(f, { force: true });
    await server
      .shutdown({ timeoutMs: 2000 })
      .catch((err: unknown) => log.warn('ttrpc shutdown', { error: err }));
    // Never a container's image or process: the daemon's exit is not the containers' end.
    for (const a of attached)
      await a.detach().catch((err: unknown) => log.warn('extension detach', { error: err }));
    await events.close().catch((err: unknown) => log.warn('events close', { error: err }));
    reaper.dispose();
    process.exit(0);
  };
  // containerd asks a pod's shim to shut down when the pod is gone; the node-wide daemon stays for
  // the next pod (exiting could race a `start` that was just told its address).
  if (!nodeWide) tasks.onEmpty = () => void stop('shutdown requested with no task left');
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/** Appends log lines to /var/log/zeropod/shim-<namespace>.log (never blocks the daemon). */
function fileLogSink(namespace: string): (line: string) => void {
  const dir = process.env['ZEROPOD_SHIM_LOG_DIR'] ?? '/var/log/zeropod';
  mkdirSync(dir, { recursive: true });
  const out = createWriteStream(path.join(dir, `shim-${namespace}.log`), { flags: 'a' });
  out.on('error', (err) => process.stderr.write(`shim log: ${err.message}\n`));
  return (line) => void out.write(line);
}
