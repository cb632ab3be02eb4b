/** Small file reads for runc's log handling: what a call appended, and whether CRIU wrote a log. */
import { open, stat } from 'node:fs/promises';
import { internal } from '../base/index.ts';

export async function fileSize(path: string): Promise<number> {
  return (await statOrUndefined(path))?.size ?? 0;
}

export async function mtime(path: string): Promise<number | undefined> {
  return (await statOrUndefined(path))?.mtimeMs;
}

async function statOrUndefined(path: string) {
  try {
    return await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw internal(`cannot stat ${path}`, { cause: err, details: { path } });
  }
}

/** What was appended to a log file since `offset` ('' when there is no file). */
export async function readFrom(path: string, offset: number): Promise<string> {
  let h;
  try {
    h = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw internal(`cannot open runc log ${path}`, { cause: err, details: { path } });
  }
  try {
    const { size } = await h.stat();
    const start = size < offset ? 0 : offset; // truncated or replaced meanwhile: read it all
    const buf = Buffer.alloc(Math.min(size - start, 1024 * 1024));
    const { bytesRead } = await h.read(buf, 0, buf.length, Math.max(start, size - buf.length));
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await h.close();
  }
}
