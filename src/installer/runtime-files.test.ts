import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  appendFile,
  mkdir,
  mkdtemp,
  readFile,
  readlink,
  readdir,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ErrorCode, silentLogger, ZeropodError } from '../base/index.ts';
import { HostFiles } from './host-files.ts';
import { parseLdd } from './ldd.ts';
import type { RunTool } from './restart.ts';
import { copyRuntime, removeRuntime, shimWrapper, type CopyRuntimeOptions } from './runtime-files.ts';

void test('parseLdd: libraries, the interpreter, the vDSO skipped, static binaries empty, missing ones refused', () => {
  const c = parseLdd(
    [
      '\tlinux-vdso.so.1 (0x00007ffd5b1f2000)',
      '\tlibnode.so.127 => /lib/x86_64-linux-gnu/libnode.so.127 (0x00007f0c2a200000)',
      '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0c29e00000)',
      '\t/lib64/ld-linux-x86-64.so.2 (0x00007f0c2f7a4000)',
    ].join('\n'),
    'node',
  );
  assert.deepEqual(
    [...c.libs],
    [
      ['libnode.so.127', '/lib/x86_64-linux-gnu/libnode.so.127'],
      ['libc.so.6', '/lib/x86_64-linux-gnu/libc.so.6'],
    ],
  );
  assert.equal(c.interpreter, '/lib64/ld-linux-x86-64.so.2');
  assert.deepEqual(parseLdd('\tnot a dynamic executable\n', 'criu'), { libs: new Map() });
  assert.throws(
    () => parseLdd('\tlibnet.so.1 => not found\n\tlibc.so.6 => /lib/libc.so.6 (0x1)\n', '/usr/sbin/criu'),
    (e: unknown) =>
      e instanceof ZeropodError &&
      e.code === ErrorCode.FailedPrecondition &&
      /\/usr\/sbin\/criu needs libraries that are not installed: libnet\.so\.1/.test(e.message),
  );
});

/** Sources in a temp dir, a fake ldd that names files there, a fake patchelf that marks the file. */
async function setup(t: { after: (fn: () => Promise<void>) => void }) {
  const dir = await mkdtemp(path.join(tmpdir(), 'zp-runtime-files-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const src = path.join(dir, 'src');
  const w = async (rel: string, data: string) => {
    await mkdir(path.dirname(path.join(src, rel)), { recursive: true });
    await writeFile(path.join(src, rel), data);
  };
  await w('usr/bin/node', 'ELF node');
  await w('usr/sbin/criu', 'ELF criu');
  await w('usr/sbin/nft', 'ELF nft');
  await w('lib/libc.so.6', 'libc');
  await w('lib/libnet.so.1', 'libnet');
  await w('lib/ld-linux-x86-64.so.2', 'loader');
  // Like Debian's libnode: an externalized builtin read from another package's file at start.
  const builtin = path.join(src, 'usr/share/nodejs/undici/undici-fetch.js');
  await w('usr/share/nodejs/undici/undici-fetch.js', '// undici');
  await w('lib/libnode.so.1', `ELF\0${builtin}\0NODE_SHARED_BUILTIN_UNDICI_UNDICI_PATH=${builtin}\0`);
  await w('dist/containerd-shim-zeropod-v2.mjs', '// bundle');
  await w('dist/chunks/start-abc.mjs', '// chunk');
  await symlink('containerd-shim-zeropod-v2.mjs', path.join(src, 'dist/zeropod-installer'));
  await w('node_modules/koffi/package.json', '{}');
  await w('node_modules/koffi/index.js', '// koffi');
  await w('node_modules/@koromix/koffi-linux-x64/package.json', '{}');
  await w('node_modules/@koromix/koffi-linux-x64/linux_x64/koffi.node', 'ELF koffi');
  await w('node_modules/@koromix/koffi-linux-x64/musl_x64/koffi.node', 'ELF musl');
  const calls: string[] = [];
  const run: RunTool = async (argv) => {
    calls.push(argv.join(' '));
    const lib = (n: string) => `\t${n} => ${src}/lib/${n} (0x1)`;
    if (argv[0] === 'ldd') {
      const extra =
        argv[1]?.endsWith('criu') === true
          ? [lib('libnet.so.1')]
          : argv[1]?.endsWith('node') === true
            ? [lib('libnode.so.1')]
            : [];
      return {
        code: 0,
        stdout: [
          '\tlinux-vdso.so.1 (0x1)',
          lib('libc.so.6'),
          ...extra,
          `\t${src}/lib/ld-linux-x86-64.so.2 (0x1)`,
        ].join('\n'),
        stderr: '',
      };
    }
    if (argv[0] === 'patchelf') {
      if (argv[1] !== '--version')
        await appendFile(argv.at(-1) ?? '', ` [patched ${argv.slice(1, -1).join(' ')}]`);
      return { code: 0, stdout: 'patchelf 0.14.3', stderr: '' };
    }
    throw new Error(`unexpected ${argv.join(' ')}`);
  };
  const host = path.join(dir, 'host');
  const o: CopyRuntimeOptions = {
    files: new HostFiles(host),
    optDir: '/opt/zeropod',
    sources: {
      node: `${src}/usr/bin/node`,
      criu: `${src}/usr/sbin/criu`,
      nft: `${src}/usr/sbin/nft`,
      dist: `${src}/dist`,
      nodeModules: `${src}/node_modules`,
    },
    run,
    signal: new AbortController().signal,
    log: silentLogger,
  };
  return { o, calls, opt: path.join(host, 'opt/zeropod'), src };
}

void test('copies node, criu, their closure, the bundle and koffi; binaries patched to our loader', async (t) => {
  const { o, opt, calls } = await setup(t);
  const r = await copyRuntime(o);
  assert.equal(r.shim, '/opt/zeropod/bin/containerd-shim-zeropod-v2');
  assert.deepEqual((await readdir(path.join(opt, 'lib'))).sort(), [
    'ld-linux-x86-64.so.2',
    'libc.so.6',
    'libnet.so.1',
    'libnode.so.1',
    'zeropod',
  ]);
  // The builtin is copied beside the runtime and libnode's C string points there.
  assert.equal(await readFile(path.join(opt, 'js/undici-fetch.js'), 'utf8'), '// undici');
  const libnode = await readFile(path.join(opt, 'lib/libnode.so.1'), 'latin1');
  assert.match(
    libnode,
    /^ELF\0\/opt\/zeropod\/js\/undici-fetch\.js\0+NODE_SHARED_BUILTIN_UNDICI_UNDICI_PATH=\//,
  );
  assert.equal(
    await readFile(path.join(opt, 'bin/node'), 'utf8'),
    'ELF node [patched --set-interpreter /opt/zeropod/lib/ld-linux-x86-64.so.2 --force-rpath --set-rpath $ORIGIN/../lib]',
  );
  assert.match(
    await readFile(path.join(opt, 'bin/criu'), 'utf8'),
    /^ELF criu \[patched --set-interpreter \/opt\/zeropod\/lib\/ld-linux-x86-64\.so\.2/,
  );
  assert.match(
    await readFile(path.join(opt, 'bin/nft'), 'utf8'),
    /^ELF nft \[patched --set-interpreter \/opt\/zeropod\/lib\/ld-linux-x86-64\.so\.2/,
  );
  assert.equal((await stat(path.join(opt, 'bin/node'))).mode & 0o777, 0o755);
  assert.equal(await readFile(path.join(opt, 'lib/zeropod/dist/chunks/start-abc.mjs'), 'utf8'), '// chunk');
  assert.equal(
    await readlink(path.join(opt, 'lib/zeropod/dist/zeropod-installer')),
    'containerd-shim-zeropod-v2.mjs',
  );
  assert.deepEqual(await readdir(path.join(opt, 'lib/zeropod/node_modules/@koromix/koffi-linux-x64')), [
    'linux_x64',
    'package.json',
  ]);
  assert.equal(
    await readFile(path.join(opt, 'bin/containerd-shim-zeropod-v2'), 'utf8'),
    shimWrapper('/opt/zeropod'),
  );
  assert.match(shimWrapper('/opt/zeropod'), /^PATH=\/opt\/zeropod\/bin:\$PATH$/m);
  // The sources are left as they were (patchelf worked on a copy).
  assert.equal(await readFile(o.sources.node, 'utf8'), 'ELF node');
  assert.ok(calls.includes(`ldd ${o.sources.criu}`));

  const again = await copyRuntime(o);
  assert.deepEqual(again.written, [], 'a second run writes nothing');
  assert.ok(again.unchanged > 0);

  assert.equal(await removeRuntime(o.files, o.optDir, silentLogger), true);
  await assert.rejects(stat(opt), /ENOENT/);
  assert.equal(await removeRuntime(o.files, o.optDir, silentLogger), false);
});

void test('a missing source or tool is named with what is expected, and nothing is written', async (t) => {
  for (const [what, mutate, pattern] of [
    [
      'criu',
      (s: string) => rm(path.join(s, 'usr/sbin/criu')),
      /criu not found at .*usr\/sbin\/criu; expected CRIU 4\.2 or newer \(--criu PATH\)/,
    ],
    [
      'bundle',
      (s: string) => rm(path.join(s, 'dist/containerd-shim-zeropod-v2.mjs')),
      /the shim bundle not found .*; expected the build output dist\/ \(`npm run build`; --bundle-dir PATH\)/,
    ],
    [
      'koffi native',
      (s: string) => rm(path.join(s, 'node_modules/@koromix'), { recursive: true }),
      /koffi's native module not found/,
    ],
  ] as const) {
    await t.test(what, async (t) => {
      const { o, opt, src } = await setup(t);
      await mutate(src);
      await assert.rejects(
        copyRuntime(o),
        (e: unknown) => e instanceof ZeropodError && e.code === ErrorCode.NotFound && pattern.test(e.message),
      );
      await assert.rejects(stat(opt), /ENOENT/);
    });
  }
  await t.test('patchelf', async (t) => {
    const { o, opt } = await setup(t);
    await assert.rejects(
      copyRuntime({ ...o, patchelf: '/nonexistent/patchelf' }),
      /\/nonexistent\/patchelf cannot run; expected patchelf installed/,
    );
    await assert.rejects(stat(opt), /ENOENT/);
  });
});

void test('an opt dir too long for the builtin paths is refused before anything is written', async (t) => {
  const { o, src } = await setup(t);
  const long = `/opt/${'z'.repeat(src.length + 40)}`;
  await assert.rejects(
    copyRuntime({ ...o, optDir: long }),
    /cannot point libnode\.so\.1 at .*: longer than .*; expected a shorter --opt-dir/,
  );
  await assert.rejects(stat(o.files.at('/opt')), /ENOENT/);
});
