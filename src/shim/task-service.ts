/**
 * containerd's Task API (v2 and v3: the same messages) on top of Containers. Thin: validates,
 * finds the container, runs the operation on that container's queue, shapes the response.
 */
import { alreadyExists, invalidArgument, notFound, type Logger } from '../base/index.ts';
import type { ServiceImpl } from '../ttrpc/index.ts';
import { Task } from '../gen/github.com/containerd/containerd/api/runtime/task/v2/shim_pb.js';
import { Status } from '../gen/github.com/containerd/containerd/api/types/task/task_pb.js';
import {
  CheckpointOptionsSchema,
  ProcessDetailsSchema,
} from '../gen/github.com/containerd/containerd/api/types/runc/options/oci_pb.js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { Container, type ContainerDeps } from './container.ts';
import { checkpointTask } from './task-checkpoint.ts';
import { RECORD_VERSION, type ContainerRecord, type RecordStore, type ScaleRecord } from './records/index.ts';
import { describeError } from '../base/index.ts';
import { readProcStatSync } from '../sys/index.ts';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { exitTimestamp, type ProcessPhase } from './process.ts';
import { statsAny } from './stats.ts';
import type { LinuxResources } from '../runc/index.ts';
import { parseRuntimeOptions } from './runtime-options.ts';
import { removeHalfCreated } from './half-created.ts';

type TaskMethods = typeof Task extends GenService<infer T extends GenServiceMethods> ? T : never;

const statusOf: Record<ProcessPhase, Status> = {
  created: Status.CREATED,
  running: Status.RUNNING,
  paused: Status.PAUSED,
  stopped: Status.STOPPED,
  deleted: Status.STOPPED,
};

export interface TaskServiceHooks {
  /** Validates a bundle before anything is created; throwing refuses the task. */
  beforeCreate?(bundle: string): void;
  /** Called after a container's init started. */
  afterStart?(c: Container): Promise<void> | void;
  /**
   * Called before a kill of the init; resolves true when it handled the kill itself (the
   * decorator kills through its own logic, on the container's queue).
   */
  beforeKill?(c: Container, signal: number, all: boolean): Promise<boolean> | boolean;
  /** Called before a delete of the init is queued (the decorator aborts a checkpoint in flight). */
  beforeDelete?(c: Container): void;
  /** Called after a container was created (the scale-to-zero decorator attaches here). */
  onCreated?(c: Container): Promise<void> | void;
  /** Called before a container's init is deleted. */
  onDeleting?(c: Container): Promise<void> | void;
  /** Called before an exec starts (a scaled-down container wakes first). */
  beforeExec?(c: Container): Promise<void>;
  /** Replaces Stats/State for containers the decorator knows are scaled down. */
  pidOverride?(c: Container): number | undefined;
  /** The decorator's part of a container's durable record (docs/restart-safety.md). */
  scaleRecordOf?(c: Container): ScaleRecord | undefined;
  /**
   * Called for each container re-adopted from its record, with the record's scale part and whether
   * its init still runs. A container with a scale part whose init is gone is the decorator's to
   * settle (asleep, or reported exited).
   */
  onAdopted?(c: Container, scale: ScaleRecord | undefined, alive: boolean): Promise<void> | void;
}

export class TaskService {
  readonly containers = new Map<string, Container>();
  readonly #creating = new Set<string>();
  readonly #deps: ContainerDeps;
  readonly #log: Logger;
  hooks: TaskServiceHooks = {};
  /** Set by the daemon: called by Shutdown when no container is left. */
  onEmpty: () => void = () => undefined;
  /** Where containers' records go, when the daemon may be restarted (a keeper's worker). */
  records: RecordStore | undefined;
  namespace = '';
  readonly #lastInit = new Map<string, { pid: number; startTime: number }>();

  /** The keeper's link when this daemon is a keeper's worker. */
  get link(): ContainerDeps['link'] {
    return this.#deps.link;
  }

  /**
   * Writes `c`'s record; resolves once it is durable. Create, Exec and an exec's Start wait for it
   * (answered, they must survive the worker); phase changes do not (nothing on a wake's path waits).
   */
  saveRecord(c: Container): Promise<void> {
    const store = this.records;
    if (!store || !this.containers.has(c.id)) return Promise.resolve();
    const stat = c.init.pid > 0 ? readProcStatSync(c.init.pid) : undefined;
    // Asleep, the init is gone: the record keeps the last one it saw (a new worker needs the pid).
    const init = stat ? { pid: c.init.pid, startTime: stat.startTime } : this.#lastInit.get(c.id);
    if (init) this.#lastInit.set(c.id, init);
    const scale = this.hooks.scaleRecordOf?.(c);
    const execs = c.execRecords();
    const r: ContainerRecord = {
      version: RECORD_VERSION,
      id: c.id,
      namespace: this.namespace,
      bundle: c.bundle,
      stdio: { ...c.init.stdio },
      terminal: c.init.terminal,
      ...(init ? { init } : {}),
      ...(scale ? { scale } : {}),
      ...(execs.length > 0 ? { execs } : {}),
      updatedAt: '',
    };
    return store.write(r);
  }

  /**
   * Re-adopts the containers of a worker that died (docs/restart-safety.md). A container whose init
   * is gone is reported exited; one that sleeps is handed to the decorator with its scale record.
   */
  async adopt(records: readonly ContainerRecord[]): Promise<void> {
    for (const r of records) {
      if (!r.init) {
        // The worker died inside Create; not awaited: its `runc create` may still run.
        void removeHalfCreated(r, { runc: this.#deps.runc, records: this.records, log: this.#log });
        continue;
      }
      if (!existsSync(path.join(r.bundle, 'config.json'))) {
        // containerd removed the task while no worker served it (a `delete` after the keeper died).
        void this.records?.remove(r.id);
        continue;
      }
      const stat = readProcStatSync(r.init.pid);
      const alive = stat !== undefined && stat.startTime === r.init.startTime && stat.state !== 'Z';
      const decorated = r.scale !== undefined && this.hooks.onAdopted !== undefined;
      try {
        const c = await Container.adopt(
          {
            id: r.id,
            bundle: r.bundle,
            terminal: r.terminal,
            stdio: r.stdio,
            pid: r.init.pid,
            startTime: r.init.startTime,
            holdOpen: !alive && decorated,
            watch: alive || !decorated,
            ...(r.execs ? { execs: r.execs } : {}),
          },
          this.#deps,
        );
        this.containers.set(r.id, c);
        this.#lastInit.set(r.id, r.init);
        await this.hooks.onAdopted?.(c, r.scale, alive);
      } catch (err) {
        this.#log.error('cannot re-adopt a container', { container: r.id, error: describeError(err) });
      }
    }
  }

  constructor(deps: ContainerDeps) {
    this.#deps = deps;
    this.#log = deps.log;
  }

  #get(id: string): Container {
    const c = this.containers.get(id);
    if (!c) throw notFound(`task ${id} does not exist`);
    return c;
  }

  impl(): ServiceImpl<TaskMethods> {
    return {
      create: async (req, ctx) => {
        if (this.containers.has(req.id) || this.#creating.has(req.id))
          throw alreadyExists(`task ${req.id} already exists`);
        if (!req.bundle)
          throw invalidArgument('CreateTaskRequest.bundle is empty: expected the bundle directory');
        this.hooks.beforeCreate?.(req.bundle);
        this.#creating.add(req.id);
        try {
          // First a record without a pid: a worker that dies inside `runc create` leaves it, and
          // the next removes what runc made (adopt).
          await this.records?.write({
            version: RECORD_VERSION,
            id: req.id,
            namespace: this.namespace,
            bundle: req.bundle,
            stdio: { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr },
            terminal: req.terminal,
            updatedAt: '',
          });
          const c = await Container.create(
            {
              id: req.id,
              bundle: req.bundle,
              rootfs: req.rootfs,
              terminal: req.terminal,
              stdio: { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr },
              systemdCgroup: parseRuntimeOptions(req.options).systemdCgroup,
            },
            this.#deps,
            ctx.signal,
          ).catch((err: unknown) => {
            void this.records?.remove(req.id); // nothing was made: no record
            throw err;
          });
          this.containers.set(req.id, c);
          await this.saveRecord(c);
          await this.hooks.onCreated?.(c);
          return { pid: c.init.pid };
        } finally {
          this.#creating.delete(req.id);
        }
      },
      start: async (req) => {
        const c = this.#get(req.id);
        // A sleeping container wakes before an exec starts; the wake takes the container's queue
        // itself, so it runs before ours, not inside it.
        if (req.execId) await this.hooks.beforeExec?.(c);
        const pid = await c.queue.run(async () => c.start(req.execId));
        if (!req.execId) await this.hooks.afterStart?.(c);
        else await this.saveRecord(c); // a running exec is in the record: a new worker takes it over
        return { pid };
      },
      state: async (req) => {
        const c = this.#get(req.id);
        const p = c.process(req.execId);
        const exit = p.exit;
        return {
          id: req.execId || req.id,
          bundle: c.bundle,
          pid: (!req.execId && this.hooks.pidOverride?.(c)) || p.pid,
          status: statusOf[p.state.phase],
          stdin: p.stdio.stdin,
          stdout: p.stdio.stdout,
          stderr: p.stdio.stderr,
          terminal: p.terminal,
          exitStatus: exit?.status ?? 0,
          ...(exit ? { exitedAt: exitTimestamp(exit) } : {}),
          execId: req.execId,
        };
      },
      delete: async (req) => {
        this.#log.info('delete', { container: req.id, exec: req.execId || undefined });
        const c = this.#get(req.id);
        if (!req.execId) this.hooks.beforeDelete?.(c);
        const exit = await c.queue.run(async () => {
          if (!req.execId) await this.hooks.onDeleting?.(c);
          return c.delete(req.execId);
        });
        if (!req.execId) {
          this.containers.delete(req.id);
          this.#lastInit.delete(req.id);
          void this.records?.remove(req.id);
        } else void this.saveRecord(c);
        return { pid: exit.pid, exitStatus: exit.status, exitedAt: exitTimestamp(exit) };
      },
      pids: async (req) => {
        const c = this.#get(req.id);
        // A container the decorator keeps asleep has no processes but is alive: containerd, loading
        // shims after a restart, takes a task with no pids for a leaked one and deletes it.
        const override = this.hooks.pidOverride?.(c);
        if (override) return { processes: [{ pid: override }] };
        if (!c.init.state.is('running', 'paused')) return { processes: [] };
        let pids: number[];
        try {
          pids = await c.runc.ps(c.id);
        } catch (err) {
          // Running to containerd but without a runc container: asleep (scaled to zero). Its last
          // pid stands for it, so a containerd that restarts does not delete it as leaked.
          if ((err as { code?: string }).code !== 'NotFound') throw err;
          pids = [];
        }
        if (pids.length === 0) return { processes: [{ pid: c.init.pid }] };
        // Exec'd processes carry their exec id, as in containerd's runc shim (`ctr task ps`).
        const execOf = new Map([...c.execs.values()].map((p) => [p.pid, p.execId]));
        return {
          processes: pids.map((pid: number) => {
            const execId = execOf.get(pid);
            if (execId === undefined) return { pid };
            const details = toBinary(ProcessDetailsSchema, create(ProcessDetailsSchema, { execId }));
            return { pid, info: { typeUrl: ProcessDetailsSchema.typeName, value: details } };
          }),
        };
      },
      pause: async (req) => {
        const c = this.#get(req.id);
        await c.queue.run(async () => {
          await c.runc.pause(c.id);
          c.init.state.transition('paused', ['running']);
        });
        return {};
      },
      resume: async (req) => {
        const c = this.#get(req.id);
        await c.queue.run(async () => {
          await c.runc.resume(c.id);
          c.init.state.transition('running', ['paused']);
        });
        return {};
      },
      kill: async (req) => {
        this.#log.info('kill', { container: req.id, exec: req.execId || undefined, signal: req.signal });
        const c = this.#get(req.id);
        // Not queued here: a kill must get through while a long operation runs (the decorator
        // aborts its checkpoint in flight, then kills on the queue, bounded).
        if (!req.execId && (await this.hooks.beforeKill?.(c, req.signal, req.all))) return {};
        await c.kill(req.execId, req.signal, req.all);
        return {};
      },
      exec: async (req) => {
        const c = this.#get(req.id);
        if (!req.spec) throw invalidArgument('ExecProcessRequest.spec is empty: expected an OCI process');
        c.addExec(
          req.execId,
          req.terminal,
          { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr },
          req.spec.value,
        );
        // Created, not started: a Start that reaches the next worker (an upgrade between the two
        // calls) must find it there.
        await this.saveRecord(c);
        return {};
      },
      checkpoint: async (req) => {
        const c = this.#get(req.id);
        if (!req.path)
          throw invalidArgument('CheckpointTaskRequest.path is empty: expected the image directory');
        const options = req.options?.value.length
          ? fromBinary(CheckpointOptionsSchema, req.options.value)
          : create(CheckpointOptionsSchema, {});
        await c.queue.run(() => checkpointTask(c, req.path, options));
        return {};
      },
      resizePty: async (req) => {
        this.#get(req.id).resize(req.execId, { rows: req.height, cols: req.width });
        return {};
      },
      closeIO: async (req) => {
        const p = this.#get(req.id).process(req.execId);
        if (req.stdin) p.io?.closeStdin();
        return {};
      },
      update: async (req) => {
        const c = this.#get(req.id);
        if (!req.resources)
          throw invalidArgument('UpdateTaskRequest.resources is empty: expected OCI LinuxResources');
        await c.queue.run(() =>
          c.runc.update(c.id, JSON.parse(new TextDecoder().decode(req.resources!.value)) as LinuxResources),
        );
        return {};
      },
      wait: async (req, ctx) => {
        const p = this.#get(req.id).process(req.execId);
        const exit = await abortable(p.exited, ctx.signal);
        return { exitStatus: exit.status, exitedAt: exitTimestamp(exit) };
      },
      stats: async (req) => {
        const c = this.#get(req.id);
        return { stats: await statsAny(c) };
      },
      connect: async (req) => {
        const c = this.containers.get(req.id);
        return {
          shimPid: process.pid,
          taskPid: c ? (this.hooks.pidOverride?.(c) ?? c.init.pid) : 0,
          version: '',
        };
      },
      shutdown: async () => {
        if (this.containers.size === 0 && this.#creating.size === 0) setImmediate(() => this.onEmpty());
        return {};
      },
    };
  }
}

function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e as Error);
      },
    );
  });
}
