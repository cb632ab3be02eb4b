/**
 * The `ldd` adapter: the shared libraries an ELF binary loads, and its interpreter (the dynamic
 * loader), as ldd prints them:
 *     linux-vdso.so.1 (0x...)                      -- in the kernel, nothing to copy
 *     libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)
 *     libfoo.so.1 => not found                     -- the closure is incomplete: refused
 *     /lib64/ld-linux-x86-64.so.2 (0x...)          -- the interpreter
 * A static binary prints "not a dynamic executable" (or "statically linked") and has no closure.
 */
import { failedPrecondition } from '../base/index.ts';
import type { RunTool } from './restart.ts';

export interface Closure {
  /** soname -> the file it resolves to. */
  libs: Map<string, string>;
  interpreter?: string;
}

export function parseLdd(text: string, binary: string): Closure {
  const libs = new Map<string, string>();
  let interpreter: string | undefined;
  const missing: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || /not a dynamic executable|statically linked/.test(line)) continue;
    const arrow = /^(\S+) => (.+?)(?: \(0x[0-9a-f]+\))?$/.exec(line);
    if (arrow !== null) {
      const [, name = '', target = ''] = arrow;
      if (target === 'not found') missing.push(name);
      else if (target.startsWith('/')) libs.set(name, target);
      continue;
    }
    const bare = /^(\/\S+) \(0x[0-9a-f]+\)$/.exec(line);
    if (bare !== null) interpreter = bare[1];
    // anything else (linux-vdso.so.1 and friends) lives in the kernel
  }
  if (missing.length > 0) {
    throw failedPrecondition(
      `${binary} needs libraries that are not installed: ${missing.join(', ')}; expected ldd to resolve every library`,
      {
        details: { binary, missing },
      },
    );
  }
  return { libs, ...(interpreter === undefined ? {} : { interpreter }) };
}

export async function lddClosure(run: RunTool, binary: string, signal: AbortSignal): Promise<Closure> {
  const r = await run(['ldd', binary], signal);
  const text = `${r.stdout}${r.stderr}`;
  // ldd exits 1 for static binaries; that is an empty closure, not a failure.
  if (r.code !== 0 && !/not a dynamic executable|statically linked/.test(text)) {
    throw failedPrecondition(`ldd ${binary} exited ${r.code}: ${text.trim()}`, { details: { binary } });
  }
  return parseLdd(text, binary);
}
