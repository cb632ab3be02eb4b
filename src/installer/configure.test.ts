import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ErrorCode, silentLogger, ZeropodError } from '../base/index.ts';
import { compileContainerdConfig, parseToml } from './containerd-config.ts';
import { install, uninstall, type ConfigureOptions } from './configure.ts';
import { flavorLayout, type Flavor } from './flavor.ts';
import { HostFiles } from './host-files.ts';

const fixture = (name: string) => readFile(path.join(import.meta.dirname, 'testdata', name), 'utf8');
const RUNTIME = '/opt/zeropod/bin/containerd-shim-zeropod-v2';

/** A host root in a temp dir with the flavor's containerd binary and `config` at its config path. */
async function host(t: { after: (fn: () => Promise<void>) => void }, flavor: Flavor, config?: string) {
  const root = await mkdtemp(path.join(tmpdir(), 'zp-installer-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const layout = flavorLayout(flavor);
  const bin = path.join(root, layout.binaries[0] ?? '');
  await mkdir(path.dirname(bin), { recursive: true });
  await writeFile(bin, '');
  if (config !== undefined) {
    await mkdir(path.dirname(path.join(root, layout.config)), { recursive: true });
    await writeFile(path.join(root, layout.config), config);
    await chmod(path.join(root, layout.config), 0o600);
  }
  const o: ConfigureOptions = { files: new HostFiles(root), layout, runtimePath: RUNTIME, log: silentLogger };
  return { root, layout, o, file: (p: string) => path.join(root, p) };
}

/** Every file under `dir` with its bytes and mode: what "changes nothing" compares. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const p = path.join(e.parentPath, e.name);
    out.set(path.relative(dir, p), `${(await stat(p)).mode.toString(8)} ${await readFile(p, 'base64')}`);
  }
  return out;
}

async function rejectsWith(p: Promise<unknown>, code: string, pattern: RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ZeropodError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  });
}

for (const [name, version, plugin] of [
  ['containerd-v2.toml', 2, 'io.containerd.grpc.v1.cri'],
  ['containerd-v3.toml', 3, 'io.containerd.cri.v1.runtime'],
] as const) {
  void test(`config version ${version}: install imports the zeropod runtime under ${plugin}; uninstall restores the bytes`, async (t) => {
    const original = await fixture(name);
    const h = await host(t, 'containerd', original);
    const change = await install(h.o);
    assert.equal(change.kind, 'installed');

    const edited = await readFile(h.file('/etc/containerd/config.toml'), 'utf8');
    const cfg = compileContainerdConfig(edited, 'edited');
    assert.ok(cfg.imports.includes('/etc/containerd/zeropod-runtime.toml'));
    // One line added, nothing else touched (comments included).
    const added = edited.split('\n').filter((l) => !original.split('\n').includes(l));
    assert.equal(added.length, 1, added.join('\n'));
    assert.match(added[0] ?? '', /^imports = \[/);
    assert.equal((await stat(h.file('/etc/containerd/config.toml'))).mode & 0o777, 0o600);

    const imported = parseToml(
      await readFile(h.file('/etc/containerd/zeropod-runtime.toml'), 'utf8'),
      'import',
    );
    assert.equal(imported['version'], version);
    const runtime = (imported['plugins'] as Record<string, any>)[plugin].containerd.runtimes.zeropod;
    assert.equal(runtime.runtime_type, 'io.containerd.zeropod.v2');
    assert.equal(runtime.runtime_path, RUNTIME);
    assert.deepEqual(runtime.pod_annotations, ['zeropod.ctrox.dev/*']);
    assert.deepEqual(runtime.container_annotations, ['zeropod.ctrox.dev/*']);
    // The default runtime's cgroup driver is mirrored (v2 fixture: systemd; v3: not set).
    assert.deepEqual(
      runtime.options === undefined ? undefined : { ...runtime.options },
      version === 2 ? { SystemdCgroup: true } : undefined,
    );
    assert.equal(await readFile(h.file('/etc/containerd/config.toml.zeropod-backup'), 'utf8'), original);

    assert.deepEqual(await uninstall(h.o), {
      kind: 'uninstalled',
      target: '/etc/containerd/config.toml',
      restored: 'backup',
    });
    assert.equal(await readFile(h.file('/etc/containerd/config.toml'), 'utf8'), original);
    assert.equal((await stat(h.file('/etc/containerd/config.toml'))).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(h.file('/etc/containerd')), ['config.toml']);
  });
}

void test('an existing multi-line imports array keeps its entries and gains ours', async (t) => {
  const h = await host(t, 'containerd', await fixture('containerd-v3.toml'));
  await install(h.o);
  const cfg = compileContainerdConfig(await readFile(h.file('/etc/containerd/config.toml'), 'utf8'), 'x');
  assert.deepEqual(cfg.imports, ['/etc/containerd/conf.d/*.toml', '/etc/containerd/zeropod-runtime.toml']);
});

void test('installing twice changes nothing the second time; uninstalling twice too', async (t) => {
  const original = await fixture('containerd-v3.toml');
  const h = await host(t, 'containerd', original);
  assert.equal((await install(h.o)).kind, 'installed');
  const once = await snapshot(h.root);
  assert.deepEqual(await install(h.o), { kind: 'unchanged', target: '/etc/containerd/config.toml' });
  assert.deepEqual(await snapshot(h.root), once);
  await uninstall(h.o);
  const after = await snapshot(h.root);
  assert.deepEqual(await uninstall(h.o), { kind: 'not-installed' });
  assert.deepEqual(await snapshot(h.root), after);
  assert.equal(await readFile(h.file('/etc/containerd/config.toml'), 'utf8'), original);
});

void test('a new runtime path rewrites only the runtime file', async (t) => {
  const h = await host(t, 'containerd', await fixture('containerd-v3.toml'));
  await install(h.o);
  const config = await readFile(h.file('/etc/containerd/config.toml'), 'utf8');
  const change = await install({ ...h.o, runtimePath: '/usr/local/zeropod/bin/containerd-shim-zeropod-v2' });
  assert.equal(change.kind, 'updated');
  assert.equal(await readFile(h.file('/etc/containerd/config.toml'), 'utf8'), config);
  assert.match(
    await readFile(h.file('/etc/containerd/zeropod-runtime.toml'), 'utf8'),
    /\/usr\/local\/zeropod\/bin/,
  );
});

for (const flavor of ['k3s', 'rke2'] as const) {
  for (const [name, template] of [
    ['k3s-v3.toml', 'config-v3.toml.tmpl'],
    ['k3s-v2.toml', 'config.toml.tmpl'],
  ] as const) {
    void test(`${flavor}: ${name} -> the change goes into ${template}, created from config.toml and removed again`, async (t) => {
      const generated = await fixture(name);
      const h = await host(t, flavor, generated);
      const dir = `/var/lib/rancher/${flavor}/agent/etc/containerd`;
      assert.equal(h.layout.config, `${dir}/config.toml`);
      const change = await install(h.o);
      assert.deepEqual(change, {
        kind: 'installed',
        target: `${dir}/${template}`,
        importFile: `${dir}/zeropod-runtime.toml`,
      });
      // k3s/rke2 rewrite config.toml on start: it stays as they wrote it.
      assert.equal(await readFile(h.file(`${dir}/config.toml`), 'utf8'), generated);
      const tmpl = compileContainerdConfig(await readFile(h.file(`${dir}/${template}`), 'utf8'), 'tmpl');
      assert.deepEqual(tmpl.imports, [`${dir}/zeropod-runtime.toml`]);
      assert.equal((await install(h.o)).kind, 'unchanged');
      assert.deepEqual(await uninstall(h.o), {
        kind: 'uninstalled',
        target: `${dir}/${template}`,
        restored: 'removed',
      });
      assert.deepEqual(await readdir(h.file(dir)), ['config.toml']);
    });
  }
}

void test('k3s: a template the user wrote is backed up, edited and restored byte for byte', async (t) => {
  const h = await host(t, 'k3s', await fixture('k3s-v3.toml'));
  const tmplPath = '/var/lib/rancher/k3s/agent/etc/containerd/config-v3.toml.tmpl';
  const mine =
    '# mine\r\nversion = 3\r\n\r\n[plugins.\'io.containerd.cri.v1.images\']\r\n  snapshotter = "native"\r\n';
  await writeFile(h.file(tmplPath), mine);
  await install(h.o);
  const edited = await readFile(h.file(tmplPath), 'utf8');
  assert.match(
    edited,
    /^# mine\r\nversion = 3\r\nimports = \[ "\/var\/lib\/rancher\/k3s\/agent\/etc\/containerd\/zeropod-runtime.toml" \]\r\n\r\n/,
  );
  await uninstall(h.o);
  assert.equal(await readFile(h.file(tmplPath), 'utf8'), mine);
});

void test('k3s: a Go template ({{ template "base" . }}) gets the imports line at its top, restored byte for byte', async (t) => {
  const h = await host(t, 'k3s', await fixture('k3s-v3.toml'));
  const tmplPath = '/var/lib/rancher/k3s/agent/etc/containerd/config-v3.toml.tmpl';
  const mine =
    '{{ template "base" . }}\n\n[plugins.\'io.containerd.cri.v1.runtime\'.containerd.runtimes.gvisor]\n  runtime_type = "io.containerd.runsc.v1"\n';
  await writeFile(h.file(tmplPath), mine);
  assert.equal((await install(h.o)).kind, 'installed');
  const importLine = 'imports = [ "/var/lib/rancher/k3s/agent/etc/containerd/zeropod-runtime.toml" ]\n';
  assert.equal(await readFile(h.file(tmplPath), 'utf8'), importLine + mine);
  // What k3s would render: the line, then the base config, then the rest; valid TOML that imports us.
  const rendered = (await readFile(h.file(tmplPath), 'utf8')).replace(
    '{{ template "base" . }}',
    await fixture('k3s-v3.toml'),
  );
  assert.deepEqual(compileContainerdConfig(rendered, 'rendered').imports, [
    '/var/lib/rancher/k3s/agent/etc/containerd/zeropod-runtime.toml',
  ]);
  assert.equal((await install(h.o)).kind, 'unchanged');
  await uninstall(h.o);
  assert.equal(await readFile(h.file(tmplPath), 'utf8'), mine);
});

void test('k3s: a Go template whose config already has imports is refused and nothing changes', async (t) => {
  const h = await host(
    t,
    'k3s',
    (await fixture('k3s-v3.toml')).replace(
      'version = 3\n',
      'version = 3\nimports = ["/etc/k3s-extra.toml"]\n',
    ),
  );
  await writeFile(
    h.file('/var/lib/rancher/k3s/agent/etc/containerd/config-v3.toml.tmpl'),
    '{{ template "base" . }}\n',
  );
  const before = await snapshot(h.root);
  await rejectsWith(
    install(h.o),
    ErrorCode.FailedPrecondition,
    /config-v3\.toml\.tmpl is a Go template whose config already has imports, .* add "\/var\/lib\/rancher\/k3s\/agent\/etc\/containerd\/zeropod-runtime\.toml" to those imports by hand/,
  );
  assert.deepEqual(await snapshot(h.root), before);
});

void test('bad input gets an error naming what and the expected form, and changes nothing', async (t) => {
  const cases: Array<[string, string | undefined, string, RegExp]> = [
    [
      'unparsable',
      'version = 3\n\n[grpc\naddress = "x"\n',
      ErrorCode.InvalidArgument,
      /\/etc\/containerd\/config\.toml: not valid TOML at line 3, column \d+/,
    ],
    [
      'no version',
      '[grpc]\naddress = "x"\n',
      ErrorCode.InvalidArgument,
      /no `version` key .* expected `version = 2` \(containerd 1\.x\) or `version = 3` \(containerd 2\.x\)/,
    ],
    [
      'unknown version',
      'version = 4\n',
      ErrorCode.InvalidArgument,
      /`version = 4` is not supported; expected `version = 2` \(containerd 1\.x\) or `version = 3`/,
    ],
    [
      'imports not an array',
      'version = 3\nimports = "a.toml"\n',
      ErrorCode.InvalidArgument,
      /`imports` must be an array of file paths/,
    ],
    [
      'runtimes not a table',
      "version = 3\n[plugins.'io.containerd.cri.v1.runtime']\ncontainerd = 1\n",
      ErrorCode.InvalidArgument,
      /plugins\.'io\.containerd\.cri\.v1\.runtime'\.containerd must be a table/,
    ],
    [
      'zeropod defined already',
      'version = 3\n[plugins.\'io.containerd.cri.v1.runtime\'.containerd.runtimes.zeropod]\nruntime_type = "x"\n',
      ErrorCode.FailedPrecondition,
      /already defines the CRI runtime "zeropod" \(not through zeropod-installer\); expected no such runtime/,
    ],
    [
      'missing config',
      undefined,
      ErrorCode.NotFound,
      /containerd config \/etc\/containerd\/config\.toml not found; expected containerd's config file there \(`containerd config default > \/etc\/containerd\/config\.toml` writes one\), or pass --config PATH/,
    ],
  ];
  for (const [what, config, code, pattern] of cases) {
    await t.test(what, async (t) => {
      const h = await host(t, 'containerd', config);
      const before = await snapshot(h.root);
      await rejectsWith(install(h.o), code, pattern);
      assert.deepEqual(await snapshot(h.root), before);
    });
  }
  await t.test('missing containerd binary', async (t) => {
    const h = await host(t, 'containerd', await fixture('containerd-v3.toml'));
    await rm(h.file('/usr/bin/containerd'));
    const before = await snapshot(h.root);
    await rejectsWith(
      install(h.o),
      ErrorCode.NotFound,
      /containerd binary not found \(looked for \/usr\/bin\/containerd, .*\); expected containerd installed on this host, or pass --containerd-binary PATH/,
    );
    assert.deepEqual(await snapshot(h.root), before);
  });
  await t.test('k3s not started yet (no generated config)', async (t) => {
    const h = await host(t, 'k3s');
    await rejectsWith(
      install(h.o),
      ErrorCode.NotFound,
      /config\.toml not found; .*k3s writes it when it starts: start k3s once first/,
    );
  });
});

void test('uninstall refuses a backup that is not the one it wrote, and changes nothing', async (t) => {
  const h = await host(t, 'containerd', await fixture('containerd-v3.toml'));
  await install(h.o);
  await writeFile(h.file('/etc/containerd/config.toml.zeropod-backup'), 'version = 3\n');
  const before = await snapshot(h.root);
  await rejectsWith(
    uninstall(h.o),
    ErrorCode.FailedPrecondition,
    /backup .*config\.toml\.zeropod-backup of \/etc\/containerd\/config\.toml is missing or not the one the installer wrote/,
  );
  assert.deepEqual(await snapshot(h.root), before);
});

void test('a config edited after install so that it no longer imports the runtime is named, not overwritten', async (t) => {
  const h = await host(t, 'containerd', await fixture('containerd-v3.toml'));
  await install(h.o);
  await writeFile(h.file('/etc/containerd/config.toml'), 'version = 3\n');
  const before = await snapshot(h.root);
  await rejectsWith(
    install(h.o),
    ErrorCode.FailedPrecondition,
    /no longer imports .*zeropod-runtime\.toml .* run `zeropod-installer --uninstall`/,
  );
  assert.deepEqual(await snapshot(h.root), before);
});

void test('a config that is a symbolic link is refused (restoring it would replace the link)', async (t) => {
  const h = await host(t, 'containerd');
  await mkdir(h.file('/etc/containerd'), { recursive: true });
  await writeFile(h.file('/etc/containerd/real.toml'), await fixture('containerd-v3.toml'));
  await symlink('real.toml', h.file('/etc/containerd/config.toml'));
  const before = await snapshot(h.root);
  await rejectsWith(
    install(h.o),
    ErrorCode.InvalidArgument,
    /config\.toml is a symbolic link; expected a regular file \(pass --config with the file it points to\)/,
  );
  assert.deepEqual(await snapshot(h.root), before);
});
