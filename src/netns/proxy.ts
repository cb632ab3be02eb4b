/**
 * Two connected sockets joined both ways (a held client and the app it waited for), with an idle
 * limit: either side quiet for `idleMs` ends both. `first` is what the client sent before the join.
 * Resolves once both are closed.
 */
import type { Socket } from 'node:net';

export function joinSockets(
  client: Socket,
  app: Socket,
  o: { idleMs: number; first?: Buffer },
): Promise<void> {
  const closed = Promise.all([client, app].map((s) => new Promise<void>((r) => s.once('close', () => r()))));
  const end = () => {
    client.destroy();
    app.destroy();
  };
  for (const s of [client, app]) {
    s.setTimeout(o.idleMs, end);
    s.on('error', end);
  }
  if (o.first !== undefined && o.first.length > 0) app.write(o.first);
  client.pipe(app);
  app.pipe(client);
  client.resume();
  app.resume();
  return closed.then(() => undefined);
}
