// Bundles each binary in src/bin into one file under dist/ (a shim starts for every pod: one file
// to read and no module resolution at start-up). Node runs the bundle; koffi stays external
// because it loads its native binary relative to its own package.
import { build } from 'esbuild';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, symlinkSync, rmSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const binDir = path.join(root, 'src/bin');
const entries = existsSync(binDir) ? readdirSync(binDir).filter((f) => f.endsWith('.ts')) : [];
mkdirSync(path.join(root, 'dist'), { recursive: true });
// Chunk names carry content hashes: drop the previous build's (running daemons loaded theirs).
rmSync(path.join(root, 'dist', 'chunks'), { recursive: true, force: true });
for (const entry of entries) {
  const name = entry.replace(/\.ts$/, '');
  const outfile = path.join(root, 'dist', `${name}.mjs`);
  await build({
    entryPoints: [path.join(binDir, entry)],
    outdir: path.join(root, 'dist'),
    outExtension: { '.js': '.mjs' },
    // Each action's code in its own chunk: `start` and `-v` load a few kilobytes, not the daemon.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['koffi'],
    sourcemap: 'linked',
    banner: {
      js: "#!/usr/bin/env node\nimport { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    logLevel: 'warning',
  });
  // The executable containerd finds on PATH: the shell launcher beside the entry if there is one
  // (src/bin/<name>.sh), else a symlink to the bundle (the .mjs makes Node load it as ESM).
  const launcher = path.join(root, 'dist', name);
  rmSync(launcher, { force: true });
  const sh = path.join(binDir, `${name}.sh`);
  if (existsSync(sh)) {
    copyFileSync(sh, launcher);
    chmodSync(launcher, 0o755);
  } else {
    symlinkSync(`${name}.mjs`, launcher);
  }
  chmodSync(outfile, 0o755);
  console.log(`built dist/${name}.mjs`);
}
