/**
 * Finds a program on PATH once, the way execvp would. Node's spawn walks PATH on every call, an
 * execve per entry before the right one (13 failed tries here, ~1 ms on the wake's path); with the
 * absolute path resolved up front there is one.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

/** The absolute path of `name` on `searchPath` (default: $PATH), or `name` itself if not found. */
export function resolveExecutable(name: string, searchPath = process.env['PATH'] ?? ''): string {
  if (name.includes('/')) return name;
  for (const dir of searchPath.split(':')) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return name; // spawn reports ENOENT with the name, as before
}
