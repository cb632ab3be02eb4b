/**
 * Puts what the shim needs onto a host that has none of it, under one directory (default
 * /opt/zeropod), without touching the host's own packages:
 *
 *   bin/containerd-shim-zeropod-v2   sh wrapper: our bin/ first on PATH, then the bundle's launcher
 *   bin/node, bin/criu, bin/nft      the ELF binaries, patched to load their libraries from lib/
 *                                    through our own dynamic loader (a host with an older glibc
 *                                    cannot run them otherwise; LD_LIBRARY_PATH would leak into
 *                                    every child, runc included)
 *   lib/*.so*                        the ldd closure of node, criu, nft and koffi's native module
 *   lib/zeropod/dist                 the bundle (dist/)
 *   lib/zeropod/node_modules         koffi and its linux-x64 native package
 *   js/                              builtins Debian's libnode reads from other packages' files
 *                                    (see node-builtins.ts); libnode's copy points at these
 *   .zeropod-files                   what this step wrote, for removal
 *
 * Each file is written atomically and only when its bytes differ: running it twice changes nothing,
 * and a running shim keeps the inode it started from.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { failedPrecondition, notFound, type Logger } from '../base/index.ts';
import type { HostFiles } from './host-files.ts';
import { lddClosure } from './ldd.ts';
import { externalizedBuiltins, relocateCStrings } from './node-builtins.ts';
import type { RunTool } from './restart.ts';
import { SHIM_BINARY } from './runtime-config.ts';

export interface RuntimeSources {
  /** The node binary (installer's view). */
  node: string;
  /** The bundle directory (dist/ with containerd-shim-zeropod-v2.mjs). */
  dist: string;
  /** A node_modules directory holding koffi and @koromix/koffi-linux-x64. */
  nodeModules: string;
  criu: string;
  /** nftables' CLI: the shim holds connections with nft rules while a container wakes. */
  nft: string;
}

export interface CopyRuntimeOptions {
  files: HostFiles;
  /** Host path of the runtime directory. */
  optDir: string;
  sources: RuntimeSources;
  run: RunTool;
  patchelf?: string;
  signal: AbortSignal;
  log: Logger;
}

export interface CopyResult {
  shim: string;
  written: string[];
  unchanged: number;
}

const MANIFEST = '.zeropod-files';
const KOFFI_NATIVE = '@koromix/koffi-linux-x64';

async function requireFile(file: string, what: string, expected: string): Promise<void> {
  try {
    await fs.access(file);
  } catch (err) {
    throw notFound(`${what} not found at ${file}; expected ${expected}`, { cause: err, details: { file } });
  }
}

/** Every file below `dir` (relative paths), symlinks as links. */
async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile() || e.isSymbolicLink()) out.push(path.relative(dir, path.join(e.parentPath, e.name)));
  }
  return out.sort();
}

const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export function shimWrapper(optDir: string): string {
  return [
    '#!/bin/sh',
    '# containerd-shim-zeropod-v2 as installed by zeropod-installer: our node, criu and nft come first on PATH.',
    `PATH=${optDir}/bin:$PATH`,
    'export PATH',
    `exec ${optDir}/lib/zeropod/dist/${SHIM_BINARY} "$@"`,
    '',
  ].join('\n');
}

export async function copyRuntime(o: CopyRuntimeOptions): Promise<CopyResult> {
  const { sources: s, files, optDir, run, signal, log } = o;
  const patchelf = o.patchelf ?? 'patchelf';
  const koffiNode = path.join(s.nodeModules, KOFFI_NATIVE, 'linux_x64', 'koffi.node');
  await requireFile(s.node, 'node', 'the Node.js binary the shim runs on (--node PATH)');
  await requireFile(s.criu, 'criu', 'CRIU 4.2 or newer (--criu PATH)');
  await requireFile(s.nft, 'nft', 'the nftables command line (--nft PATH)');
  await requireFile(
    path.join(s.dist, `${SHIM_BINARY}.mjs`),
    'the shim bundle',
    'the build output dist/ (`npm run build`; --bundle-dir PATH)',
  );
  await requireFile(
    path.join(s.nodeModules, 'koffi', 'package.json'),
    'koffi',
    'node_modules with koffi installed beside the bundle',
  );
  await requireFile(
    koffiNode,
    "koffi's native module",
    `${KOFFI_NATIVE} installed (npm installs it with koffi on linux x64)`,
  );
  const pv = await run([patchelf, '--version'], signal).catch((err: unknown) => {
    throw failedPrecondition(
      `${patchelf} cannot run; expected patchelf installed (Debian package patchelf) in the installer`,
      { cause: err },
    );
  });
  if (pv.code !== 0)
    throw failedPrecondition(`${patchelf} --version exited ${pv.code}; expected a working patchelf`);

  // The library closure of everything that runs on the host.
  const libs = new Map<string, string>();
  let interpreter: string | undefined;
  for (const bin of [s.node, s.criu, s.nft, koffiNode]) {
    const c = await lddClosure(run, bin, signal);
    for (const [name, file] of c.libs) if (!libs.has(name)) libs.set(name, file);
    interpreter ??= c.interpreter;
  }
  if (interpreter === undefined)
    throw failedPrecondition(
      `${s.node} has no ELF interpreter in ldd's output; expected a dynamically linked node`,
    );
  const loader = path.basename(interpreter);

  const written: string[] = [];
  let unchanged = 0;
  const place = async (rel: string, data: Buffer, mode: number) => {
    const dest = path.join(optDir, rel);
    const have = await files.read(dest);
    if (have !== undefined && digest(have) === digest(data)) {
      unchanged++;
      return;
    }
    await files.write(dest, data, { mode });
    await fs.chmod(files.at(dest), mode);
    written.push(rel);
  };
  // patchelf works on a copy in the installer's own temp dir, never on the host.
  const patched = async (src: string, name: string): Promise<Buffer> => {
    const tmpDir = await fs.mkdtemp(path.join(os.tmpdir(), `zeropod-${name}-`));
    try {
      const tmp = path.join(tmpDir, name);
      await fs.copyFile(src, tmp);
      // DT_RPATH (not RUNPATH): it also governs the libraries' own dependencies.
      const argv = [
        patchelf,
        '--set-interpreter',
        `${optDir}/lib/${loader}`,
        '--force-rpath',
        '--set-rpath',
        '$ORIGIN/../lib',
        tmp,
      ];
      const r = await run(argv, signal);
      if (r.code !== 0)
        throw failedPrecondition(`patchelf on ${src} exited ${r.code}: ${r.stderr.trim()}`, {
          details: { argv },
        });
      return await fs.readFile(tmp);
    } finally {
      await fs.rm(tmpDir, { recursive: true, force: true });
    }
  };

  // Everything computed before the first write: a failure here leaves the host as it was.
  const libData = new Map<string, Buffer>();
  for (const [name, file] of [...libs, [loader, interpreter] as const])
    libData.set(name, await fs.readFile(file));
  const nodeData = await patched(s.node, 'node');
  const criuData = await patched(s.criu, 'criu');
  const nftData = await patched(s.nft, 'nft');
  // Builtins node reads from other packages' files: copied into js/, the constants pointed there.
  const moves = new Map<string, string>();
  for (const data of [nodeData, ...libData.values()]) {
    for (const from of externalizedBuiltins(data)) {
      if (moves.has(from)) continue;
      const taken = new Set([...moves.values()].map((p) => path.basename(p)));
      const base = path.basename(from);
      moves.set(from, `${optDir}/js/${taken.has(base) ? `${moves.size}-${base}` : base}`);
    }
  }
  const staged: Array<[string, Buffer, number]> = [];
  for (const [from, to] of moves) {
    await requireFile(
      from,
      `the builtin ${from} that node loads at start`,
      'the package that provides it installed where node came from',
    );
    staged.push([path.relative(optDir, to), await fs.readFile(from), 0o644]);
  }
  const relocated = (data: Buffer, name: string) =>
    externalizedBuiltins(data).length === 0 ? data : relocateCStrings(data, moves, name);
  for (const [name, data] of libData) staged.push([`lib/${name}`, relocated(data, name), 0o755]);
  staged.push(
    ['bin/node', relocated(nodeData, s.node), 0o755],
    ['bin/criu', criuData, 0o755],
    ['bin/nft', nftData, 0o755],
  );
  for (const [rel, data, mode] of staged) await place(rel, data, mode);
  const trees: Array<[string, string]> = [
    [s.dist, 'lib/zeropod/dist'],
    [path.join(s.nodeModules, 'koffi'), 'lib/zeropod/node_modules/koffi'],
  ];
  for (const [src, rel] of trees) {
    for (const f of await listTree(src)) {
      const st = await fs.lstat(path.join(src, f));
      if (st.isSymbolicLink()) {
        const dest = files.at(path.join(optDir, rel, f));
        const target = await fs.readlink(path.join(src, f));
        if ((await fs.readlink(dest).catch(() => undefined)) === target) {
          unchanged++;
          continue;
        }
        await fs.mkdir(path.dirname(dest), { recursive: true });
        await fs.rm(dest, { force: true });
        await fs.symlink(target, dest);
        written.push(path.join(rel, f));
      } else {
        await place(path.join(rel, f), await fs.readFile(path.join(src, f)), st.mode & 0o777);
      }
    }
  }
  // Only linux_x64 of the native package: the others are dead weight on this host.
  for (const f of ['package.json', 'index.js', 'linux_x64/koffi.node']) {
    const src = path.join(s.nodeModules, KOFFI_NATIVE, f);
    if (
      f !== 'linux_x64/koffi.node' &&
      !(await fs.access(src).then(
        () => true,
        () => false,
      ))
    )
      continue;
    await place(`lib/zeropod/node_modules/${KOFFI_NATIVE}/${f}`, await fs.readFile(src), 0o644);
  }
  await place(`bin/${SHIM_BINARY}`, Buffer.from(shimWrapper(optDir)), 0o755);
  await place(MANIFEST, Buffer.from(['bin', 'lib', 'js'].join('\n') + '\n'), 0o644);
  log.info('runtime files in place', { optDir, written: written.length, unchanged });
  return { shim: `${optDir}/bin/${SHIM_BINARY}`, written, unchanged };
}

/** Removes what copyRuntime wrote (its manifest names the top-level entries) and the directory if empty. */
export async function removeRuntime(files: HostFiles, optDir: string, log: Logger): Promise<boolean> {
  const manifest = await files.read(path.join(optDir, MANIFEST));
  if (manifest === undefined) return false;
  for (const entry of manifest.toString('utf8').split('\n').filter(Boolean)) {
    if (entry.includes('/') || entry.startsWith('.')) continue;
    await fs.rm(files.at(path.join(optDir, entry)), { recursive: true, force: true });
  }
  await files.remove(path.join(optDir, MANIFEST));
  await fs.rmdir(files.at(optDir)).catch(() => {});
  log.info('runtime files removed', { optDir });
  return true;
}
