/**
 * The exec agent inside the VM (started by guest/init.sh, run by the guest's Node with type
 * stripping, straight from the 9p-shared project). One TCP connection per command; the wire format
 * is in ../frames.ts. Requests must carry the token the host wrote into the shared control directory.
 * The command gets its own process group, killed when the host goes away (closes its side) before
 * the command exits.
 */
import { spawn } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { parseArgs } from 'node:util';
import {
  encodeFrame,
  FrameDecoder,
  FrameType,
  MAX_REQUEST,
  parseRequest,
  type FrameType as Type,
} from '../frames.ts';

const { values } = parseArgs({ options: { port: { type: 'string' }, 'token-file': { type: 'string' } } });
const port = Number(values.port);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  throw new TypeError(`--port: expected a TCP port, got ${String(values.port)}`);
}
if (!values['token-file']) throw new TypeError('--token-file: expected the path of the token file');
const token = Buffer.from(readFileSync(values['token-file'], 'utf8').trim());
const CHUNK = 64 * 1024;

const log = (msg: string, fields: Record<string, unknown> = {}) =>
  console.log(JSON.stringify({ time: new Date().toISOString(), msg, ...fields }));

function serve(sock: net.Socket): void {
  let head = Buffer.alloc(0);
  // Output split into frames of at most CHUNK bytes; an empty payload is one empty frame.
  const send = (type: Type, payload: Uint8Array) => {
    let off = 0;
    do {
      sock.write(encodeFrame(type, payload.subarray(off, off + CHUNK)));
      off += CHUNK;
    } while (off < payload.length);
  };
  const refuse = (message: string) => {
    send(FrameType.error, Buffer.from(message));
    sock.end();
  };
  const onHead = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    const nl = head.indexOf(0x0a);
    if (nl < 0) {
      if (head.length > MAX_REQUEST) refuse(`request: first line longer than ${MAX_REQUEST} bytes`);
      return;
    }
    sock.off('data', onHead);
    let req;
    try {
      req = parseRequest(head.subarray(0, nl).toString('utf8'));
    } catch (err) {
      refuse((err as Error).message);
      return;
    }
    const given = Buffer.from(req.token);
    if (given.length !== token.length || !timingSafeEqual(given, token)) {
      refuse('request.token: not the token of this VM');
      return;
    }
    run(sock, req.argv, req.cwd, req.env, head.subarray(nl + 1), send);
  };
  sock.on('data', onHead);
  sock.on('error', (err) => log('connection error', { error: err.message }));
}

function run(
  sock: net.Socket,
  argv: string[],
  cwd: string | undefined,
  env: Record<string, string> | undefined,
  firstInput: Buffer,
  send: (type: Type, payload: Uint8Array) => void,
): void {
  const started = performance.now();
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: cwd ?? '/',
    env: { ...process.env, ...env },
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let exited = false;
  child.stdout.on('data', (d: Buffer) => send(FrameType.stdout, d));
  child.stderr.on('data', (d: Buffer) => send(FrameType.stderr, d));
  child.stdin.on('error', (err) => log('stdin closed early', { argv, error: err.message }));
  const stdin = new FrameDecoder();
  const onInput = (chunk: Buffer) => {
    let frames;
    try {
      frames = stdin.push(chunk);
    } catch (err) {
      log('malformed stdin frame: closing', { argv, error: (err as Error).message });
      sock.destroy();
      return;
    }
    for (const f of frames) {
      if (f.type !== FrameType.stdin) continue;
      if (f.payload.length === 0) child.stdin.end();
      else child.stdin.write(f.payload);
    }
  };
  onInput(firstInput);
  sock.on('data', onInput);
  const hostGone = () => {
    if (exited || child.pid === undefined) return;
    exited = true;
    log('host went away: killing the command', { argv, pid: child.pid });
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch (err) {
      log('kill failed', { pid: child.pid, error: (err as Error).message });
    }
  };
  sock.on('end', hostGone);
  sock.on('close', hostGone);
  child.once('error', (err) => {
    if (exited) return;
    exited = true;
    send(FrameType.error, Buffer.from(`cannot run ${argv[0]}: ${err.message}`));
    sock.end();
  });
  child.once('close', (code, signal) => {
    if (exited) return; // killed because the host went away: nobody to tell
    exited = true;
    send(FrameType.exit, Buffer.from(JSON.stringify({ code, signal })));
    sock.end();
    log('command finished', { argv, code, signal, ms: Math.round(performance.now() - started) });
  });
}

const server = net.createServer(serve);
server.listen(port, '0.0.0.0', () => log('agent listening', { port }));
