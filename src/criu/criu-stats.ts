/**
 * CRIU's statistics files, `stats-dump` and `stats-restore`, written next to its log in the work
 * directory. Layout (criu/include/magic.h, images/stats.proto):
 *
 *   +---------------------+---------------------+-------------+---------------------------+
 *   | u32le 0x55105940    | u32le 0x57093306    | u32le size  | size bytes: stats_entry   |
 *   | IMG_SERVICE_MAGIC   | STATS_MAGIC         |             | (protobuf, proto2)        |
 *   +---------------------+---------------------+-------------+---------------------------+
 *
 * stats_entry { optional dump_stats_entry dump = 1; optional restore_stats_entry restore = 2; }
 * Times are microseconds.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { internal } from '../base/index.ts';
import type { CriuAction } from './criu-log.ts';

const IMG_SERVICE_MAGIC = 0x55105940;
const STATS_MAGIC = 0x57093306;

export interface CriuDumpStats {
  freezingTimeUs: number;
  frozenTimeUs: number;
  memdumpTimeUs: number;
  memwriteTimeUs: number;
  pagesScanned: number;
  pagesSkippedParent: number;
  pagesWritten: number;
  pagesLazy: number;
  irmapResolveUs?: number;
  pagePipes?: number;
  pagePipeBufs?: number;
  shpagesScanned?: number;
  shpagesSkippedParent?: number;
  shpagesWritten?: number;
}

export interface CriuRestoreStats {
  pagesCompared: number;
  pagesSkippedCow: number;
  forkingTimeUs: number;
  restoreTimeUs: number;
  pagesRestored?: number;
}

const dumpFields: Record<number, keyof CriuDumpStats> = {
  1: 'freezingTimeUs',
  2: 'frozenTimeUs',
  3: 'memdumpTimeUs',
  4: 'memwriteTimeUs',
  5: 'pagesScanned',
  6: 'pagesSkippedParent',
  7: 'pagesWritten',
  8: 'irmapResolveUs',
  9: 'pagesLazy',
  10: 'pagePipes',
  11: 'pagePipeBufs',
  12: 'shpagesScanned',
  13: 'shpagesSkippedParent',
  14: 'shpagesWritten',
};

const restoreFields: Record<number, keyof CriuRestoreStats> = {
  1: 'pagesCompared',
  2: 'pagesSkippedCow',
  3: 'forkingTimeUs',
  4: 'restoreTimeUs',
  5: 'pagesRestored',
};

/** Decodes a message whose fields are all varints; unknown fields are skipped. */
function decodeVarints(bytes: Uint8Array, names: Record<number, string>): Record<string, number> {
  const r = new BinaryReader(bytes);
  const out: Record<string, number> = {};
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    const name = names[field];
    if (name !== undefined && wire === WireType.Varint) out[name] = Number(r.uint64());
    else r.skip(wire);
  }
  return out;
}

export interface CriuStats {
  dump?: CriuDumpStats;
  restore?: CriuRestoreStats;
}

/** Decodes the bytes of a stats file (exported for tests). */
export function decodeCriuStats(file: Uint8Array): CriuStats {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (
    file.byteLength < 12 ||
    view.getUint32(0, true) !== IMG_SERVICE_MAGIC ||
    view.getUint32(4, true) !== STATS_MAGIC
  ) {
    throw internal('not a CRIU stats file (bad magic)', { details: { bytes: file.byteLength } });
  }
  const size = view.getUint32(8, true);
  if (12 + size > file.byteLength) {
    throw internal('truncated CRIU stats file', { details: { size, bytes: file.byteLength } });
  }
  const r = new BinaryReader(file.subarray(12, 12 + size));
  const stats: CriuStats = {};
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WireType.LengthDelimited) {
      stats.dump = decodeVarints(r.bytes(), dumpFields) as unknown as CriuDumpStats;
    } else if (field === 2 && wire === WireType.LengthDelimited) {
      stats.restore = decodeVarints(r.bytes(), restoreFields) as unknown as CriuRestoreStats;
    } else {
      r.skip(wire);
    }
  }
  return stats;
}

/** `<workPath>/stats-dump` or `stats-restore`, decoded; undefined when CRIU wrote none. */
export async function readCriuStats(
  workPath: string,
  action: 'dump',
  signal?: AbortSignal,
): Promise<CriuDumpStats | undefined>;
export async function readCriuStats(
  workPath: string,
  action: 'restore',
  signal?: AbortSignal,
): Promise<CriuRestoreStats | undefined>;
export async function readCriuStats(
  workPath: string,
  action: CriuAction,
  signal?: AbortSignal,
): Promise<CriuDumpStats | CriuRestoreStats | undefined> {
  const path = join(workPath, `stats-${action}`);
  let bytes: Buffer;
  try {
    bytes = await readFile(path, signal === undefined ? {} : { signal });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (signal?.aborted === true) throw err;
    throw internal(`cannot read CRIU stats ${path}`, { cause: err, details: { path } });
  }
  try {
    return decodeCriuStats(bytes)[action];
  } catch (err) {
    throw internal(`cannot decode CRIU stats ${path}`, { cause: err, details: { path } });
  }
}
