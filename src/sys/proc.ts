/**
 * /proc readers. Parsers are pure (tested on fixture text); readers are thin.
 *
 * /proc/<pid>/net/tcp and tcp6 list every TCP socket of the network namespace <pid> lives in, not
 * only that process's sockets. To tell which ones a process owns, match their inodes against the
 * process's fds (/proc/<pid>/fd/N -> "socket:[inode]"): `ownListeningTcpPorts` does both.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { endianness } from 'node:os';
import { errnoOf, fromNodeError } from './sys-error.ts';
import { formatIp, type IpFamily } from './inet.ts';

export interface ListeningSocket {
  family: IpFamily;
  address: string;
  port: number;
  inode: number;
}

const TCP_LISTEN = '0A';

/**
 * Kernel format (net/ipv4/tcp_ipv4.c): "sl local rem st ..." where local is ADDR:PORT in hex;
 * ADDR is the __be32 words printed as native-endian %08X (so 127.0.0.1 is 0100007F on x86),
 * PORT is %04X of the host-order port.
 */
export function parseProcNetTcp(text: string, family: IpFamily): ListeningSocket[] {
  const out: ListeningSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== TCP_LISTEN) continue;
    const [hexAddr = '', hexPort = ''] = (f[1] ?? '').split(':');
    const inode = Number(f[9]);
    const port = parseInt(hexPort, 16);
    if (hexAddr.length !== (family === 4 ? 8 : 32) || !Number.isInteger(inode) || Number.isNaN(port))
      continue;
    out.push({ family, address: formatIp({ family, bytes: decodeProcAddr(hexAddr) }), port, inode });
  }
  return out;
}

export interface TcpConnection {
  family: IpFamily;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** The kernel's state number as hex ('01' ESTABLISHED, '08' CLOSE_WAIT, ...). */
  state: string;
  inode: number;
}

/** Every non-listening TCP socket in a /proc/<pid>/net/tcp{,6} text. */
export function parseProcNetTcpConnections(text: string, family: IpFamily): TcpConnection[] {
  const out: TcpConnection[] = [];
  const width = family === 4 ? 8 : 32;
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] === TCP_LISTEN) continue;
    const [la = '', lp = ''] = (f[1] ?? '').split(':');
    const [ra = '', rp = ''] = (f[2] ?? '').split(':');
    const inode = Number(f[9]);
    if (la.length !== width || ra.length !== width || !Number.isInteger(inode)) continue;
    out.push({
      family,
      localAddress: formatIp({ family, bytes: decodeProcAddr(la) }),
      localPort: parseInt(lp, 16),
      remoteAddress: formatIp({ family, bytes: decodeProcAddr(ra) }),
      remotePort: parseInt(rp, 16),
      state: f[3] ?? '',
      inode,
    });
  }
  return out;
}

function decodeProcAddr(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  const view = new DataView(bytes.buffer);
  const le = endianness() === 'LE';
  for (let i = 0; i < hex.length / 8; i++)
    view.setUint32(i * 4, parseInt(hex.slice(i * 8, i * 8 + 8), 16), le);
  return bytes;
}

/** "socket:[12345]" -> 12345; anything else undefined. */
export function parseSocketLink(link: string): number | undefined {
  const m = /^socket:\[(\d+)\]$/.exec(link);
  return m === null ? undefined : Number(m[1]);
}

export interface ProcStat {
  pid: number;
  comm: string;
  /** R, S, D, Z, T, ... */
  state: string;
  ppid: number;
  /** Field 22: start time in clock ticks since boot; with the pid, names one process. */
  startTime: number;
}

/** /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses. */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const rest = text.slice(close + 2).split(' ');
  const pid = Number(text.slice(0, open).trim());
  const ppid = Number(rest[1]);
  const startTime = Number(rest[19]); // fields counted from state (field 3)
  if (!Number.isInteger(pid) || !Number.isInteger(ppid) || rest[0] === undefined) return undefined;
  return { pid, comm: text.slice(open + 1, close), state: rest[0], ppid, startTime };
}

/** /proc/<pid>/task/<tid>/children: "12 34 " -> [12, 34]. */
export function parseChildren(text: string): number[] {
  return text
    .split(/\s+/)
    .filter((s) => s !== '')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined; // no tcp6 when IPv6 is off
    throw fromNodeError(err, 'read /proc', { path });
  }
}

/** Listening TCP sockets (IPv4 and IPv6) of the network namespace `pid` lives in. NotFound: no such pid. */
export async function listeningTcpPorts(pid: number | 'self'): Promise<ListeningSocket[]> {
  const v4 = readFile(`/proc/${pid}/net/tcp`, 'utf8').catch((err: unknown) => {
    throw fromNodeError(err, 'read /proc', { pid });
  });
  const [tcp, tcp6] = await Promise.all([v4, readOptional(`/proc/${pid}/net/tcp6`)]);
  return [...parseProcNetTcp(tcp, 4), ...parseProcNetTcp(tcp6 ?? '', 6)];
}

/** Connected TCP sockets held by the processes `pids` (all in one network namespace). */
export async function connectedTcpSockets(pids: readonly number[]): Promise<TcpConnection[]> {
  if (pids.length === 0) return [];
  const first = pids[0]!;
  const [tcp, tcp6, ...inodeSets] = await Promise.all([
    readOptional(`/proc/${first}/net/tcp`),
    readOptional(`/proc/${first}/net/tcp6`),
    ...pids.map((pid) => socketInodes(pid).catch(() => new Set<number>())),
  ]);
  const owned = new Set<number>();
  for (const set of inodeSets) for (const i of set as Set<number>) owned.add(i);
  return [
    ...parseProcNetTcpConnections((tcp as string | undefined) ?? '', 4),
    ...parseProcNetTcpConnections((tcp6 as string | undefined) ?? '', 6),
  ].filter((c) => owned.has(c.inode));
}

/** Inodes of the sockets among `pid`'s open fds. */
export async function socketInodes(pid: number | 'self'): Promise<Set<number>> {
  const dir = `/proc/${pid}/fd`;
  let fds: string[];
  try {
    fds = await readdir(dir);
  } catch (err) {
    throw fromNodeError(err, 'list fds', { pid });
  }
  const inodes = new Set<number>();
  await Promise.all(
    fds.map(async (fd) => {
      try {
        const inode = parseSocketLink(await readlink(`${dir}/${fd}`));
        if (inode !== undefined) inodes.add(inode);
      } catch (err) {
        if (errnoOf(err) !== 'ENOENT') throw fromNodeError(err, 'read fd link', { pid, fd });
        // ENOENT: the fd was closed between readdir and readlink; it owns nothing now.
      }
    }),
  );
  return inodes;
}

/** Listening TCP sockets held open by `pid` itself (not by its netns neighbours). */
export async function ownListeningTcpPorts(pid: number | 'self'): Promise<ListeningSocket[]> {
  const [ports, inodes] = await Promise.all([listeningTcpPorts(pid), socketInodes(pid)]);
  return ports.filter((p) => inodes.has(p.inode));
}

/**
 * Direct children of this process (all threads), from /proc/self/task/<tid>/children
 * (CONFIG_PROC_CHILDREN). Synchronous on purpose: procfs reads do not block, and the reaper
 * decides on the result without an await in between.
 */
export function readOwnChildrenSync(): number[] {
  const pids = new Set<number>();
  for (const tid of readdirSync('/proc/self/task')) {
    let text: string;
    try {
      text = readFileSync(`/proc/self/task/${tid}/children`, 'utf8');
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') continue; // thread exited meanwhile
      throw fromNodeError(err, 'read children', { tid });
    }
    for (const pid of parseChildren(text)) pids.add(pid);
  }
  return [...pids];
}

/** /proc/<pid>/stat, or undefined when the process is gone. */
export function readProcStatSync(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ESRCH') return undefined;
    throw fromNodeError(err, 'read stat', { pid });
  }
  return parseProcStat(text);
}
