/**
 * The workloads of the wake and checkpoint cases: test images from harness/images, each with the
 * request that proves it is back (and its memory with it) and any data to load first.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { IMAGES, MARKERS } from '../../harness/images/index.ts';
import type { ContainerSpec } from '../../harness/cri/index.ts';
import { NO_IO_URING_SECCOMP, BASE_DIR } from './baseline.ts';
import { redisCommand, type Protocol } from './client.ts';

export interface Workload {
  /** Short id: pod names, JSON keys. */
  id: string;
  label: string;
  /** Prefix of the OCI tarball in /images (baseline). */
  imageId: string;
  /** CRI image reference (ours). */
  image: string;
  port: number;
  env?: Record<string, string>;
  /** Needs the seccomp rule that turns io_uring off (Node 24: CRIU cannot dump io_uring). */
  noIoUring?: boolean;
  protocol: Protocol;
  /** How long a fresh start may take before it answers. */
  startMs: number;
  /** Loads data once the app answers; returns a note for the report. */
  prepare?(netnsPath: string, ip: string): Promise<string>;
}

const REDIS_KEYS = 400_000;

export const WORKLOADS: Record<string, Workload> = {
  nginx: {
    id: 'nginx',
    label: 'nginx',
    imageId: 'nginx',
    image: IMAGES.nginx,
    port: 80,
    protocol: { kind: 'http', path: '/', expect: MARKERS.nginx },
    startMs: 10_000,
  },
  busybox: {
    id: 'busybox',
    label: 'busybox httpd',
    imageId: 'busybox',
    image: IMAGES.busybox,
    port: 8080,
    protocol: { kind: 'http', path: '/', expect: MARKERS.busybox },
    startMs: 10_000,
  },
  redis: {
    id: 'redis',
    label: 'redis, ~50 MB of data',
    imageId: 'redis',
    image: IMAGES.redis,
    port: 6379,
    protocol: { kind: 'redis', minKeys: REDIS_KEYS },
    startMs: 10_000,
    async prepare(netnsPath, ip) {
      // DEBUG POPULATE count prefix size: 400k keys of 100 bytes (~50 MB used_memory).
      await redisCommand(netnsPath, ip, 6379, ['DEBUG', 'POPULATE', String(REDIS_KEYS), 'key', '100']);
      const info = await redisCommand(netnsPath, ip, 6379, ['INFO', 'memory']);
      const used = /used_memory:(\d+)/.exec(info)?.[1];
      return `used_memory ${used ? (Number(used) / 2 ** 20).toFixed(1) : '?'} MiB`;
    },
  },
  node100: {
    id: 'node100',
    label: 'node-app, 100 MB heap',
    imageId: 'node-app',
    image: IMAGES.nodeApp,
    port: 8080,
    env: { HEAP_MB: '100' },
    noIoUring: true,
    protocol: { kind: 'http', path: '/get', expect: '"heapMB":100' },
    startMs: 30_000,
  },
  node1g: {
    id: 'node1g',
    label: 'node-app, 1 GiB heap',
    imageId: 'node-app',
    image: IMAGES.nodeApp,
    port: 8080,
    env: { HEAP_MB: '1024' },
    noIoUring: true,
    protocol: { kind: 'http', path: '/get', expect: '"heapMB":1024' },
    startMs: 90_000,
  },
};

/** The seccomp profile file for CRI (localhost/<path>): the same rule the baseline's config has. */
export function seccompProfilePath(): string {
  mkdirSync(BASE_DIR, { recursive: true });
  const file = `${BASE_DIR}/seccomp-no-io-uring.json`;
  writeFileSync(file, JSON.stringify(NO_IO_URING_SECCOMP));
  return file;
}

export function containerSpec(w: Workload): ContainerSpec {
  return {
    name: w.id,
    image: w.image,
    ...(w.env ? { env: w.env } : {}),
    ...(w.noIoUring ? { seccomp: `localhost/${seccompProfilePath()}` } : {}),
  };
}
