/**
 * The scale-to-zero decorator: attaches to the ordinary shim's task service. Containers whose pod
 * annotations ask for it get a ScaledContainer; everything else falls through untouched.
 */
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describeError, type Logger } from '../../base/index.ts';
import type { Container, OciSpec } from '../container.ts';
import type { Extension } from '../serve.ts';
import type { TaskService } from '../task-service.ts';
import { compileScaleConfig, identityOf, scales } from './config.ts';
import { ScaledContainer } from './scaled-container.ts';
import { adoptionPlan } from './adoption.ts';
import { adoptOrphanedRestore } from './orphaned-restore.ts';
import { StatusServer } from './status-server.ts';

export interface ScaleExtensionOptions {
  imageRoot: string;
  workRoot: string;
  statusSocket: string;
}

/** Every address of this node (the shim runs in the host network): traffic from them is kubelet's. */
export function nodeAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) out.add(a.address);
  return out;
}

function netnsOf(spec: OciSpec): string | undefined {
  return spec.linux?.namespaces?.find((n) => n.type === 'network')?.path;
}

/**
 * Page images from this size on are restored lazily (a `criu lazy-pages` daemon, started with the
 * prepared restore, serves the memory after the restore returned). Measured here: redis with a
 * 77 MB image woke in ~44 ms lazily against ~62 ms restored in full (raw runc restore ~88 ms).
 * ZEROPOD_LAZY_PAGES_MIN_MIB in the shim's environment overrides it.
 */
export const LAZY_PAGES_MIN_MIB = 32;

export function lazyPagesMinBytes(value: string | undefined, log: Logger): number {
  if (value === undefined || value === '') return LAZY_PAGES_MIN_MIB * 2 ** 20;
  const mib = Number(value);
  if (!Number.isFinite(mib) || mib < 0) {
    log.warn('ZEROPOD_LAZY_PAGES_MIN_MIB must be a number of MiB (0 or more): using the default', {
      value,
      defaultMiB: LAZY_PAGES_MIN_MIB,
    });
    return LAZY_PAGES_MIN_MIB * 2 ** 20;
  }
  return mib * 2 ** 20;
}

export function scaleExtension(opts: ScaleExtensionOptions): Extension {
  return {
    attach(tasks: TaskService, log: Logger) {
      const lazyMin = lazyPagesMinBytes(process.env['ZEROPOD_LAZY_PAGES_MIN_MIB'], log);
      const scaled = new Map<string, ScaledContainer>();
      const status = new StatusServer(opts.statusSocket, () => [...scaled.values()], log);
      void status
        .start()
        .catch((err: unknown) => log.warn('status API unavailable', { error: describeError(err) }));
      const find = (c: Container) => scaled.get(c.id);
      /** The decorator for `c` if its annotations ask to scale (and it has a pod network). */
      const make = (c: Container): ScaledContainer | undefined => {
        const annotations = c.spec.annotations ?? {};
        const config = compileScaleConfig(annotations);
        const who = identityOf(annotations);
        const netnsPath = netnsOf(c.spec);
        if (!scales(config, who)) return undefined;
        if (!netnsPath) {
          log.warn('scale to zero needs a pod network namespace; this container has none', {
            container: c.id,
          });
          return undefined;
        }
        const s = new ScaledContainer(c, config, who.name, {
          lazyPagesMinBytes: lazyMin,
          netnsPath,
          nodeAddresses: nodeAddresses(),
          imageRoot: opts.imageRoot,
          workRoot: opts.workRoot,
          log,
          ...(tasks.link ? { fds: tasks.link } : {}),
        });
        scaled.set(c.id, s);
        status.watch(s);
        // Stable phases are recorded (off the wake's path) for a worker that starts after this one.
        s.state.onChange(({ to }) => {
          if (to === 'running' || to === 'scaled-down') setImmediate(() => void tasks.saveRecord(c));
        });
        return s;
      };
      tasks.hooks = {
        beforeCreate(bundle) {
          // Refuses bad annotations before anything exists (RunPodSandbox / StartContainer fail).
          const spec = JSON.parse(readFileSync(path.join(bundle, 'config.json'), 'utf8')) as OciSpec;
          compileScaleConfig(spec.annotations ?? {});
        },
        afterStart(c) {
          const s = make(c);
          // Port discovery waits for the app; do not hold up containerd's Start.
          void s?.begin().catch((err: unknown) =>
            log.error('scale to zero disabled for this container', {
              container: c.id,
              error: describeError(err),
            }),
          );
        },
        scaleRecordOf: (c) => find(c)?.record(),
        async onAdopted(c, rec, recordedAlive) {
          let alive = recordedAlive;
          if (!alive) {
            // Caught mid-wake: the restore finished but the record still names the old init.
            const st = await c.runc.state(c.id).catch(() => undefined);
            if (st && (st.status === 'running' || st.status === 'paused') && st.pid > 0) {
              c.adoptRestored(st.pid);
              if (c.init.io) c.init.io.holdOpen = false;
              alive = true;
            } else if (rec) {
              // Or a prepared restore's CRIU finished it after the worker died (runc was not told).
              const pid = await adoptOrphanedRestore({
                id: c.id,
                runcRoot: c.runc.root,
                workPath: rec.workPath,
                oldPid: c.init.pid,
                log: log.child({ container: c.id }),
              });
              if (pid !== undefined) {
                c.adoptRestored(pid);
                if (c.init.io) c.init.io.holdOpen = false;
                alive = true;
              }
            }
          }
          const plan = adoptionPlan({
            alive,
            record: rec,
            imageComplete: rec !== undefined && existsSync(path.join(rec.imagePath, 'inventory.img')),
          });
          log.info('adopting a container', { container: c.id, plan, recorded: rec?.phase });
          if (plan === 'running' || plan === 'running-after-checkpoint') {
            // Caught mid-checkpoint: the app was frozen for the dump, and a partial image is no one's.
            const paused = await c.runc.state(c.id).then(
              (st) => st.status === 'paused',
              () => false,
            );
            if (paused) await c.runc.resume(c.id).catch((err: unknown) => log.warn('thaw', { error: err }));
            if (plan === 'running-after-checkpoint' && rec)
              await rm(rec.imagePath, { recursive: true, force: true });
            make(c)
              ?.begin()
              .catch((err: unknown) =>
                log.error('scale to zero disabled for this container', {
                  container: c.id,
                  error: describeError(err),
                }),
              );
            return;
          }
          if (!rec) return;
          const s = plan === 'asleep' ? make(c) : undefined;
          if (s) {
            try {
              await s.adoptAsleep(rec);
              return;
            } catch (err) {
              log.error('cannot re-adopt a sleeping container', {
                container: c.id,
                error: describeError(err),
              });
            }
          }
          // Nothing to wake from: containerd learns it exited (kubelet restarts it).
          c.init.io?.endFifos();
          c.reportExit({ pid: c.init.pid, status: 255, exitedAt: new Date() });
        },
        async beforeKill(c, signal, all) {
          const s = find(c);
          if (!s) return false;
          await s.kill(signal, all);
          return true;
        },
        beforeDelete(c) {
          find(c)?.abortInFlight('the container is being deleted');
        },
        async beforeExec(c) {
          await find(c)?.requestWake();
        },
        async onDeleting(c) {
          const s = find(c);
          if (!s) return;
          scaled.delete(c.id);
          await s.dispose();
        },
      };
      return {
        async detach() {
          await Promise.all([...scaled.values()].map((s) => s.detach()));
          await status.close();
        },
      };
    },
  };
}
