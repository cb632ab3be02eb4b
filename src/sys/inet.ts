/**
 * IP addresses as bytes, and sockaddr_in / sockaddr_in6 as the kernel wants them. Pure.
 *
 *   sockaddr_in  (16 bytes): family u16 (host order) | port u16 (big endian) | addr[4] | zero[8]
 *   sockaddr_in6 (28 bytes): family u16 (host order) | port u16 (big endian) | flowinfo u32 |
 *                            addr[16] | scope_id u32
 *
 * Only literal addresses: no host names, no zone ids ('fe80::1%eth0' names an interface of some
 * namespace, which is ambiguous when we are between namespaces).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { endianness } from 'node:os';
import { invalidArgument } from '../base/index.ts';
import { LINUX } from './libc.ts';

export type IpFamily = 4 | 6;

export interface IpAddress {
  family: IpFamily;
  bytes: Uint8Array;
}

export function parseIp(host: string): IpAddress {
  if (isIPv4(host)) return { family: 4, bytes: Uint8Array.from(host.split('.').map(Number)) };
  if (!isIPv6(host) || host.includes('%')) {
    throw invalidArgument('not a literal IPv4 or IPv6 address (zone ids are not supported)', {
      details: { host },
    });
  }
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups first.
  let text = host;
  const lastColon = text.lastIndexOf(':');
  const v4tail = text.slice(lastColon + 1);
  if (v4tail.includes('.')) {
    const [a = 0, b = 0, c = 0, d = 0] = parseIp(v4tail).bytes;
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const [head = '', rest] = text.split('::');
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const zeros = new Array<number>(8 - left.length - right.length).fill(0);
  const words = [...left, ...zeros, ...right];
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[i * 2] = w >> 8;
    bytes[i * 2 + 1] = w & 0xff;
  });
  return { family: 6, bytes };
}

/** Formats address bytes the way Node reports them (RFC 5952 for IPv6, ::ffff:a.b.c.d when mapped). */
export function formatIp(addr: IpAddress): string {
  const b = addr.bytes;
  if (addr.family === 4) return Array.from(b.subarray(0, 4)).join('.');
  const words = Array.from({ length: 8 }, (_, i) => ((b[i * 2] ?? 0) << 8) | (b[i * 2 + 1] ?? 0));
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `::ffff:${Array.from(b.subarray(12, 16)).join('.')}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) [bestStart, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

export function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw invalidArgument('port must be an integer in 0..65535', { details: { port } });
  }
  return port;
}

/** Encodes a sockaddr_in or sockaddr_in6 for bind()/connect(). */
export function encodeSockaddr(addr: IpAddress, port: number): Buffer {
  checkPort(port);
  const buf = Buffer.alloc(addr.family === 4 ? 16 : 28);
  const family = addr.family === 4 ? LINUX.AF_INET : LINUX.AF_INET6;
  if (endianness() === 'LE') buf.writeUInt16LE(family, 0);
  else buf.writeUInt16BE(family, 0);
  buf.writeUInt16BE(port, 2);
  buf.set(addr.bytes, addr.family === 4 ? 4 : 8);
  return buf;
}
