/**
 * The long-running shim daemon: one per pod. Serves containerd's Task API over ttrpc on the socket
 * `start` handed it, reaps the containers' processes as a child subreaper, publishes events, and
 * exits when containerd shuts it down with no task left.
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createLogger, describeError, type Logger } from '../base/index.ts';
import { Reaper } from '../sys/index.ts';
import { Runc } from '../runc/index.ts';
import { TtrpcServer, bindService } from '../ttrpc/index.ts';
import { Task as TaskV2 } from '../gen/github.com/containerd/containerd/api/runtime/task/v2/shim_pb.js';
import { EventPublisher } from './events.ts';
import { WorkerLink } from './keeper/index.ts';
import { fifoLogSink, fileLogSink } from './log-sink.ts';
import type { ShimFlags } from './flags.ts';
import { grouping, nodeDaemonMarker, runcRoot, SHIM_RUN_DIR } from './paths.ts';
import { RecordStore } from './records/index.ts';
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
  // Under a keeper (docs/restart-safety.md) the keeper owns containerd's socket and relays to ours.
  const link = WorkerLink.fromEnv(log);
  const tasks = new TaskService({ runc, reaper, events, log, ...(link ? { link } : {}) });
  tasks.namespace = flags.namespace;
  if (link) tasks.records = new RecordStore(path.join(SHIM_RUN_DIR, 'records', flags.namespace), log);
  const attached = extensions.map((e) => e.attach(tasks, log));

  const server = new TtrpcServer({ logger: log });
  const handlers = bindService(TaskV2, tasks.impl());
  server.register('containerd.task.v2.Task', handlers);
  server.register('containerd.task.v3.Task', handlers);
  if (link) {
    rmSync(link.socketPath, { force: true }); // the last worker's, if it was killed
    await server.serve(link.socketPath);
  } else {
    await server.serve({ fd: Number(process.env['ZEROPOD_SHIM_LISTEN_FD'] ?? 3) });
  }
  log.info('shim serving', { id: flags.id, grouping: nodeWide ? 'node' : 'pod', worker: link !== undefined });
  const marker = nodeDaemonMarker(flags.namespace);
  if (link && tasks.records) {
    const t0 = performance.now();
    const { records, errors } = await tasks.records.load();
    for (const e of errors) log.error('container record unreadable: not adopted', e);
    await tasks.adopt(records);
    if (records.length > 0)
      log.info('containers re-adopted', { count: records.length, ms: Math.round(performance.now() - t0) });
    writeFileSync(`${marker}.worker.pid`, String(process.pid));
    link.ready();
  } else if (nodeWide) {
    writeFileSync(`${marker}.addr`, String(process.env['ZEROPOD_SHIM_SOCKET'] ?? ''));
    writeFileSync(`${marker}.pid`, String(process.pid));
  }

  let stopping = false;
  const stop = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shim shutting down', { reason });
    if (link) {
      // The keeper stops sending us new requests; frames already on their way still arrive (same
      // host, microseconds) and are served normally rather than refused by a server shutting down.
      link.leaving();
      await new Promise((r) => setTimeout(r, 50));
    }
    // A worker's markers are the keeper's: the keeper serves on through the next worker.
    if (nodeWide && !link) for (const f of [`${marker}.pid`, `${marker}.addr`]) rmSync(f, { force: true });
    // A keeper's worker need not wait for containerd's Waits: the keeper sends them again to the next.
    await server
      .shutdown({ timeoutMs: link ? 300 : 2000 })
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
  if (!nodeWide)
    tasks.onEmpty = () => {
      link?.done();
      void stop('shutdown requested with no task left');
    };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  // The keeper is gone (killed): what it kept is gone with it; containerd cleans the tasks up.
  if (link) process.on('disconnect', () => void stop('the keeper is gone'));
}
