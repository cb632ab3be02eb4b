/**
 * `containerd-shim-zeropod-v2 start`: find or start the daemon serving this container's group (a
 * pod: containers sharing `io.kubernetes.cri.sandbox-id`), print its address, exit. The listening
 * socket is made here and inherited by the daemon, so containerd can connect at once and its first
 * request waits in the backlog while the daemon boots.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { internal, invalidArgument } from '../base/index.ts';
import { daemonArgv, type ShimFlags } from './flags.ts';
import { grouping, NODE_GROUP, taskSocketPath } from './paths.ts';

const groupAnnotations = ['io.containerd.runc.v2.group', 'io.kubernetes.cri.sandbox-id'];

export function groupOf(bundle: string, id: string): string {
  let spec: { annotations?: Record<string, string> };
  try {
    spec = JSON.parse(readFileSync(path.join(bundle, 'config.json'), 'utf8')) as typeof spec;
  } catch (err) {
    throw invalidArgument(`cannot read the OCI spec ${bundle}/config.json`, { cause: err });
  }
  for (const key of groupAnnotations) {
    const v = spec.annotations?.[key];
    if (v) return v;
  }
  return id;
}

/** Returns the address containerd should use (`unix://...`). */
export async function start(flags: ShimFlags, entry: string): Promise<string> {
  const group = grouping() === 'node' ? NODE_GROUP : groupOf(flags.bundle, flags.id);
  const sock = taskSocketPath(flags.address, flags.namespace, group);
  mkdirSync(path.dirname(sock), { recursive: true, mode: 0o711 });
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await answers(sock)) return `unix://${sock}`;
    let server: net.Server;
    try {
      server = await listenUnix(sock);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE')
        throw internal(`cannot listen on ${sock}`, { cause: err });
      // Either another `start` of the same pod won the race (it answers on the next attempt) or a dead
      // daemon left its socket file behind (nobody answers: remove it).
      if (!(await answers(sock))) unlinkSync(sock);
      continue;
    }
    spawnDaemon(flags, entry, server, sock);
    // Not server.close(): libuv unlinks a bound socket's path on close. The process exits instead,
    // leaving the daemon the only holder of the socket.
    return `unix://${sock}`;
  }
  throw internal(`could not claim the task socket ${sock}`);
}

function spawnDaemon(flags: ShimFlags, entry: string, server: net.Server, sock: string): void {
  // Node exposes no public accessor for a listening socket's fd; the handle's fd is stable on Linux.
  const fd = (server as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw internal('cannot get the listening socket fd');
  const child = spawn(process.execPath, [...process.execArgv, entry, ...daemonArgv(flags)], {
    cwd: flags.bundle,
    detached: true, // own session: the daemon outlives containerd restarts
    stdio: ['ignore', 'ignore', 'ignore', fd],
    env: {
      ...process.env,
      ZEROPOD_SHIM_LISTEN_FD: '3',
      ZEROPOD_SHIM_SOCKET: sock,
      // Restart-safe (docs/restart-safety.md): a keeper owns the socket and runs the daemon as its
      // worker. ZEROPOD_SHIM_KEEPER=0 in containerd's environment runs the daemon alone.
      ...(process.env['ZEROPOD_SHIM_KEEPER'] === '0' ? {} : { ZEROPOD_SHIM_ROLE: 'keeper' }),
    },
  });
  child.unref();
}

function listenUnix(sock: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ path: sock, backlog: 128 }, () => resolve(server));
  });
}

function answers(sock: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect({ path: sock });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}
