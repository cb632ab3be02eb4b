/**
 * Debian builds Node with some builtins (undici's fetch, acorn) left outside the binary: libnode
 * reads them at every start from files of other packages (/usr/share/nodejs/...), named by C string
 * constants, and aborts when one is missing. A host without those packages would have a node that
 * cannot start, so the runtime copy brings the files along and points the constants at them: each
 * is a NUL-terminated string in libnode's read-only data, rewritten in place to a path no longer than
 * the original and padded with NULs. Its other mentions (process.config's text, the compiler's
 * record of its flags) are not what the loader reads and stay as they are.
 */
import { failedPrecondition } from '../base/index.ts';

/** The marker the build leaves beside each externalized builtin's path. */
const MARKER = /NODE_SHARED_BUILTIN_[A-Z0-9_]+_PATH=(\/[\w./@+-]+)/g;

/** The files an ELF file (node or one of its libraries) loads as externalized builtins. */
export function externalizedBuiltins(data: Buffer): string[] {
  const text = data.toString('latin1');
  return [...new Set(Array.from(text.matchAll(MARKER), (m) => m[1] ?? ''))].filter(Boolean).sort();
}

/**
 * `data` with each standalone C string `from` (NUL before and after) replaced by `to`, NUL padded.
 * Exactly one such string must exist for each path: anything else is not the layout this expects.
 */
export function relocateCStrings(data: Buffer, moves: ReadonlyMap<string, string>, file: string): Buffer {
  const out = Buffer.from(data);
  for (const [from, to] of moves) {
    if (Buffer.byteLength(to) > Buffer.byteLength(from)) {
      throw failedPrecondition(
        `cannot point ${file} at ${to}: longer than ${from} (${Buffer.byteLength(from)} bytes); expected a shorter --opt-dir`,
        { details: { file, from, to } },
      );
    }
    const needle = Buffer.from(`\0${from}\0`, 'latin1');
    const hits: number[] = [];
    for (let at = out.indexOf(needle); at >= 0; at = out.indexOf(needle, at + 1)) hits.push(at);
    if (hits.length !== 1) {
      throw failedPrecondition(
        `${file} has ${hits.length} C strings ${from}; expected exactly one (the externalized builtin's path)`,
        { details: { file, from, hits: hits.length } },
      );
    }
    const start = (hits[0] ?? 0) + 1;
    out.fill(0, start, start + Buffer.byteLength(from));
    out.write(to, start, 'latin1');
  }
  return out;
}
