/**
 * The ss adapter (iproute2): closes established TCP connections inside a network namespace with the
 * kernel's SOCK_DESTROY (`ss -K`, through nsenter like nft). The peer gets a reset; the socket's
 * owner finds it aborted. Needs CONFIG_INET_DIAG_DESTROY (Debian's and most distributions' kernels);
 * without it ss closes nothing and says so on stderr, which the caller sees as a count of 0.
 */
import { execFile } from 'node:child_process';
import { internal, invalidArgument } from '../base/index.ts';
import { checkPort } from '../sys/index.ts';

/** Closes the established connections whose local port is one of `ports`; resolves with how many. */
export function closeEstablished(netnsPath: string, ports: readonly number[]): Promise<number> {
  if (ports.length === 0) return Promise.resolve(0);
  for (const p of ports) checkPort(p);
  if (!netnsPath.startsWith('/'))
    throw invalidArgument('netnsPath must be absolute', { details: { netnsPath } });
  const filter = `( ${ports.map((p) => `sport = :${p}`).join(' or ')} )`;
  const args = [`--net=${netnsPath}`, '--', 'ss', '-K', '-t', '-n', '-H', 'state', 'established', filter];
  return new Promise((resolve, reject) => {
    execFile('nsenter', args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) {
        const msg = stderr.trim().split('\n').slice(-3).join(' ') || err.message;
        return reject(internal(`ss -K failed: ${msg}`, { cause: err, details: { netnsPath, ports } }));
      }
      // ss prints each socket it destroyed, one line each (-H: no header).
      resolve(stdout.split('\n').filter((l) => l.trim() !== '').length);
    });
  });
}
