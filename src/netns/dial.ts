/**
 * A TCP connection from inside another network namespace.
 *
 * The socket is created with libc socket() inside a setns window, then handed to
 * `new net.Socket({ fd })` and connected after we are back home. A plain net.connect() inside the
 * window would not do: Node creates its socket later (after a nextTick, on the main thread, by
 * then back in our namespace), so the connection would leave from the host namespace.
 *
 * connect() is called in the same tick as the Socket constructor on purpose: the constructor
 * already starts reading, and an unconnected socket that reaches the poll phase fails with
 * ENOTCONN. Once connect() ran the socket is in SYN_SENT and polls normally.
 */
import { Socket } from 'node:net';
import { canceled } from '../base/index.ts';
import {
  LINUX,
  checkPort,
  close,
  fromNodeError,
  parseIp,
  setsockoptInt,
  tcpSocket,
  withNetns,
} from '../sys/index.ts';

export interface NetnsDialOptions {
  /** Literal IP address as seen from inside the namespace. */
  host: string;
  port: number;
  /** SO_MARK for the socket (nftables rules can tell these connections apart). */
  mark?: number;
}

export async function dialInNetns(
  netnsPath: string,
  options: NetnsDialOptions,
  signal?: AbortSignal,
): Promise<Socket> {
  const address = parseIp(options.host);
  const port = checkPort(options.port);
  const details = { netnsPath, host: options.host, port };
  if (signal?.aborted === true) throw canceled('dial aborted', { cause: signal.reason, details });
  const fd = withNetns(netnsPath, () => tcpSocket(address.family));
  if (options.mark !== undefined) {
    try {
      setsockoptInt(fd, LINUX.SOL_SOCKET, LINUX.SO_MARK, options.mark);
    } catch (err) {
      close(fd);
      throw err;
    }
  }
  let socket: Socket;
  try {
    socket = new Socket({ fd, readable: true, writable: true });
  } catch (err) {
    close(fd);
    throw fromNodeError(err, 'adopt socket fd', details);
  }
  return new Promise<Socket>((resolve, reject) => {
    const cleanup = () => {
      socket.off('connect', onConnect);
      socket.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    const onConnect = () => {
      cleanup();
      resolve(socket);
    };
    const onError = (err: Error) => {
      cleanup();
      socket.destroy();
      reject(fromNodeError(err, 'dial in netns', details));
    };
    const onAbort = () => {
      cleanup();
      socket.destroy();
      reject(canceled('dial aborted', { cause: signal?.reason, details }));
    };
    socket.once('connect', onConnect);
    socket.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.connect({ host: options.host, port });
  });
}
