/**
 * Where a scaled container is woken from: its ports (from the ports-map annotation, else found by
 * watching what its processes listen on), the activator listening beside them, and the nft table
 * that counts their traffic and redirects it to the activator while the app sleeps.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { failedPrecondition } from '../../base/index.ts';
import type { ScaleContext } from './context.ts';
import type { Net } from './phase.ts';
import type { ScaleDeps } from './scale-types.ts';
import type { ClientWakes } from './client-wakes.ts';
import type { ActivatorFds } from './activator.ts';

/** The app's ports: waits for it to listen (backoff from 50 ms, for up to a minute). */
export async function discoverPorts(
  ctx: ScaleContext,
  name: string,
  stopped: () => boolean,
): Promise<number[]> {
  const mapped = ctx.config.portsMap.get(name);
  if (mapped && mapped.length > 0) return [...mapped];
  const { tools, container } = ctx;
  for (let delay = 50, waited = 0; waited < 60_000; waited += delay, delay = Math.min(delay * 2, 2000)) {
    // Any process of the container may be the listener (a daemon forks away from the init).
    const pid = container.init.pid;
    const ports = await tools.listeningPorts(tools.processesIn(tools.freezerDirOf(pid), pid));
    const unique = [...new Set(ports)].sort((a, b) => a - b);
    if (unique.length > 0) return unique;
    if (stopped()) break;
    await sleep(delay);
  }
  throw failedPrecondition(
    'the container listens on no TCP port: nothing to wake it on (set zeropod.ctrox.dev/ports-map)',
  );
}

/** The activator on its own ports, and the container's nft table pointing at them. */
export async function listen(
  ctx: ScaleContext,
  ports: readonly number[],
  wake: () => Promise<void>,
  wakes: ClientWakes,
): Promise<Net> {
  const { deps, tools, config } = ctx;
  const activator = await tools.listen({
    netnsPath: deps.netnsPath,
    appPorts: ports,
    nodeAddresses: deps.nodeAddresses,
    probeDetection: !config.disableProbeDetection,
    probeBufferSize: config.probeBufferSize,
    connectTimeoutMs: config.connectTimeoutMs,
    proxyTimeoutMs: config.proxyTimeoutMs,
    log: ctx.log,
    wake,
    wakes,
    ...(deps.fds ? { fds: activatorFds(ctx.container.id, deps.fds) } : {}),
  });
  const nft = tools.table({
    containerId: ctx.container.id,
    netnsPath: deps.netnsPath,
    ports,
    nodeAddresses: deps.nodeAddresses,
    countLocalhost: config.countLocalhost,
    log: ctx.log,
  });
  try {
    await nft.install(activator.ports);
  } catch (err) {
    await activator.close().catch(() => undefined);
    throw err;
  }
  return { nft, activator };
}

/** The keeper's fd store, keyed per container and app port: the listeners outlive a worker. */
export const activatorKey = (containerId: string, appPort: number) => `${containerId}/activator-${appPort}`;

/** Held connections: per container, app port, and a number unique to the worker that accepted it. */
const heldPrefix = (containerId: string) => `${containerId}/held-`;
let heldSeq = 0;
/** Inherited held connections are taken up once per worker. */
const heldTaken = new Set<string>();

/** Drops what the keeper still holds of a container that is gone: held connections it left behind. */
export function dropHeldOf(containerId: string, fds: NonNullable<ScaleDeps['fds']>): void {
  for (const key of fds.inheritedKeys) if (key.startsWith(heldPrefix(containerId))) fds.drop(key);
}

export function activatorFds(containerId: string, fds: NonNullable<ScaleDeps['fds']>): ActivatorFds {
  const prefix = heldPrefix(containerId);
  return {
    inheritedListener: (appPort) => fds.inherited(activatorKey(containerId, appPort)),
    keepListener: (appPort, fd) => fds.keep(activatorKey(containerId, appPort), fd),
    inheritedHeld: () =>
      fds.inheritedKeys.flatMap((key) => {
        const m =
          key.startsWith(prefix) && !heldTaken.has(key) ? /^(\d+)-/.exec(key.slice(prefix.length)) : null;
        const fd = m ? fds.inherited(key) : undefined;
        if (!m || fd === undefined) return [];
        heldTaken.add(key);
        return [{ key, appPort: Number(m[1]), fd }];
      }),
    keepHeld: (appPort, fd) => {
      const key = `${prefix}${appPort}-${process.pid}-${++heldSeq}`;
      fds.keep(key, fd);
      return key;
    },
    splice: (key, target) => fds.splice(key, target),
    dropHeld: (key) => fds.drop(key),
  };
}
