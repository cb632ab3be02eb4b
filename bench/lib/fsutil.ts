import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** Total size of the regular files in a directory tree, in MiB (0 if it does not exist). */
export function dirMiB(dir: string): number {
  if (!existsSync(dir)) return 0;
  let bytes = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) bytes += statSync(p).size;
    }
  };
  walk(dir);
  return bytes / 2 ** 20;
}
