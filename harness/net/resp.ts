/** A tiny RESP (redis protocol) client over any connected socket: commands in, one reply out. */
import type net from 'node:net';

function encode(args: readonly string[]): string {
  return `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
}

/** Sends one command and resolves with the raw first reply line(s) as text. */
export function redisCommand(sock: net.Socket, args: readonly string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`redis ${args[0]} timed out`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      buf += d.toString('utf8');
      const reply = complete(buf);
      if (reply !== undefined) {
        cleanup();
        resolve(reply);
      }
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('error', onError);
    };
    sock.on('data', onData);
    sock.once('error', onError);
    sock.write(encode(args));
  });
}

/** The reply if `buf` holds a whole one (simple, error, integer or bulk string). */
function complete(buf: string): string | undefined {
  const eol = buf.indexOf('\r\n');
  if (eol < 0) return undefined;
  const head = buf.slice(0, eol);
  if (head[0] !== '$') return head;
  const len = Number(head.slice(1));
  if (len < 0) return '(nil)';
  const body = buf.slice(eol + 2);
  return Buffer.byteLength(body) >= len + 2 ? body.slice(0, len) : undefined;
}
