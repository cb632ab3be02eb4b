/**
 * Fakes at the scale logic's process boundaries, for its unit tests: runc (through a fake
 * Container), nft, the activator, CRIU's prepared restore and lazy pages, /proc and the clock. Each
 * records what it was asked, in one shared list, so a test can assert the order of steps.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { OperationQueue, internal, silentLogger } from '../../base/index.ts';
import type { Container } from '../container.ts';
import type { ExitInfo } from '../process.ts';
import { DEFAULTS, type ScaleConfig } from './config.ts';
import { ScaledContainer } from './scaled-container.ts';
import type { PreparedWake, ScaleTimeouts, ScaleTools, WakePreparation } from './scale-types.ts';

/** No process has this pid (beyond any pid_max): kills of it fail with ESRCH, as for one gone. */
export const NO_PID = 2 ** 30;

/** A step's behaviour: succeed, fail, or hang until the call's signal aborts. */
export type Behaviour = 'ok' | 'fail' | 'hang';

export interface World {
  calls: string[];
  clock: { t: number };
  behave: Record<string, Behaviour>;
  /** Run when a step is called (before it answers). */
  on: Record<string, () => void>;
  count: number;
  reported: ExitInfo[];
  held: { state: string; localPort?: number }[];
  c: Container;
  s: ScaledContainer;
  /** Resolves once `call` was recorded. */
  reached(call: string): Promise<void>;
}

function step(w: Pick<World, 'calls' | 'behave' | 'on'>, name: string, signal?: AbortSignal): Promise<void> {
  w.calls.push(name);
  w.on[name]?.();
  const b = w.behave[name] ?? 'ok';
  if (b === 'ok') return Promise.resolve();
  if (b === 'fail') return Promise.reject(internal(`${name} failed (fake)`));
  return new Promise((_, reject) => {
    const onAbort = () => reject(internal(`${name}: aborted (fake)`, { cause: signal?.reason }));
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function makeWorld(
  t: { after(fn: () => void): void },
  o: { config?: Partial<ScaleConfig>; timeouts?: Partial<ScaleTimeouts> } = {},
): World {
  const root = mkdtempSync(path.join(tmpdir(), 'zp-scale-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  // The scale logic's timers are unref'd (they must not hold a daemon open): this holds the test's loop.
  const alive = setInterval(() => undefined, 1000);
  t.after(() => clearInterval(alive));
  const w = {
    calls: [] as string[],
    clock: { t: 0 },
    behave: {} as Record<string, Behaviour>,
    on: {} as Record<string, () => void>,
    count: 0,
    reported: [] as ExitInfo[],
    held: [] as { state: string; localPort?: number }[],
  };
  const runc = {
    root: path.join(root, 'runc'),
    pause: (_id: string, x: { signal?: AbortSignal } = {}) => step(w, 'runc pause', x.signal),
    resume: (_id: string, x: { signal?: AbortSignal } = {}) => step(w, 'runc resume', x.signal),
    checkpoint: (_id: string, x: { signal?: AbortSignal; tcpEstablished?: boolean }) =>
      step(w, x.tcpEstablished ? 'runc checkpoint tcp' : 'runc checkpoint', x.signal),
    delete: (_id: string, x: { signal?: AbortSignal } = {}) => step(w, 'runc delete', x.signal),
  };
  const c = {
    id: 'c1',
    spec: { annotations: {} },
    init: { pid: NO_PID, io: undefined, terminal: false },
    queue: new OperationQueue(),
    exitPolicy: () => 'report',
    execs: new Map(),
    cgroups: new Map(),
    runc,
    kill: (_exec: string, sig: number) => step(w, `kill ${sig}`),
    reportExit: (e: ExitInfo) => w.reported.push(e),
    restore: (x: { signal?: AbortSignal }) => step(w, 'runc restore', x.signal).then(() => NO_PID + 1),
    recreate: (signal?: AbortSignal) => step(w, 'fresh start', signal).then(() => NO_PID + 2),
    adoptRestored: (pid: number) => void w.calls.push(`adopt ${pid}`),
  } as unknown as Container;
  const prepared = (): PreparedWake => ({
    run: (signal) => step(w, 'prepared restore', signal).then(() => NO_PID + 3),
    timings: {},
    lazyPages: undefined,
    cancel: () => step(w, 'prepared cancel'),
  });
  let ready: PreparedWake | undefined;
  const next: WakePreparation = {
    beforeDump: () => step(w, 'copy tmpfs'),
    dumpExternals: [],
    afterStop: async (x) => {
      await step(w, 'prepare wake');
      ready = x.prepare ? prepared() : undefined;
    },
    adopt: () => void w.calls.push('adopt copies'),
    copies: [],
    take: () => {
      const kit = { prepared: ready, tmpfsExternals: [], release: () => undefined };
      ready = undefined;
      return kit;
    },
    discard: () => void w.calls.push('discard copies'),
    dispose: () => step(w, 'dispose wake'),
  };
  const nftStep = (name: string) => () => step(w, `nft ${name}`);
  const tools: Partial<ScaleTools> = {
    now: () => w.clock.t,
    table: () => ({
      install: nftStep('install'),
      redirect: nftStep('redirect'),
      unredirect: nftStep('unredirect'),
      hold: nftStep('hold'),
      release: nftStep('release'),
      remove: nftStep('remove'),
      activity: () => step(w, 'nft activity').then(() => w.count),
    }),
    listen: () =>
      Promise.resolve({
        ports: [30080],
        accepted: 0,
        resumeHeld: () => undefined,
        close: () => step(w, 'activator close'),
      }),
    wakePreparation: () => next,
    dirtyTracking: () => Promise.resolve(true),
    openConnections: () => Promise.resolve(w.held as never),
    closeInbound: async (_netns, ports) => {
      await step(w, 'reset clients');
      const before = w.held.length;
      w.held = w.held.filter((x) => x.localPort === undefined || !ports.includes(x.localPort));
      return before - w.held.length;
    },
    freezerDirOf: () => '/fake/freezer',
    processesIn: (_d, init) => [init],
    listeningPorts: () => Promise.resolve([80]),
    thaw: () => void w.calls.push('thaw'),
    reclaimMemory: () => undefined,
    pagesBytes: () => 0,
    startLazyPages: () => Promise.reject(internal('no lazy pages here')),
    untilReaped: () => Promise.resolve(),
  };
  const s = new ScaledContainer(c, { ...DEFAULTS, scaledownMs: 1000, ...o.config }, 'web', {
    lazyPagesMinBytes: 2 ** 30,
    netnsPath: '/fake/netns',
    nodeAddresses: new Set(['10.0.0.1']),
    imageRoot: path.join(root, 'images'),
    workRoot: path.join(root, 'work'),
    log: silentLogger,
    tools,
    ...(o.timeouts ? { timeouts: o.timeouts } : {}),
  });
  t.after(() => void s.detach(0));
  const reached = async (call: string) => {
    while (!w.calls.includes(call)) await new Promise((r) => setImmediate(r));
  };
  return Object.assign(w, { c, s, reached });
}

/** Started and idle for longer than the idle period: the next tick checkpoints. */
export async function runningAndIdle(w: World): Promise<void> {
  await w.s.begin();
  w.clock.t += 5000;
}
