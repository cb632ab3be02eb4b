import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { failedPrecondition } from '../../base/index.ts';
import { parseCgroupLayout } from './cgroups.ts';
import { effectiveCapabilities } from './capabilities.ts';
import { compileDoctorOptions, runDoctor, type DoctorDeps } from './doctor.ts';
import { renderFindings, type Finding } from './finding.ts';

const data = (name: string) => readFile(path.join(import.meta.dirname, 'testdata', name), 'utf8');
const GOOD_KERNEL = [
  'CONFIG_CHECKPOINT_RESTORE=y',
  'CONFIG_NAMESPACES=y',
  'CONFIG_NET_NS=y',
  'CONFIG_PID_NS=y',
  'CONFIG_INET_DIAG=m',
  'CONFIG_UNIX_DIAG=y',
  'CONFIG_NF_TABLES=y',
  'CONFIG_USERFAULTFD=y',
  '# CONFIG_MEM_SOFT_DIRTY is not set',
].join('\n');
const RUNTIME_V3 = `version = 3
[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.zeropod]
  runtime_type = "io.containerd.zeropod.v2"
  runtime_path = "/opt/zeropod/bin/containerd-shim-zeropod-v2"
  pod_annotations = ["zeropod.ctrox.dev/*"]
  container_annotations = ["zeropod.ctrox.dev/*"]
`;

interface HostSpec {
  kernel?: { gz?: string; boot?: string };
  mounts?: string;
  files?: Record<string, string>;
  /** Executables on the host (default: the shim, runc, nsenter and our nft). */
  bins?: string[];
}

async function host(t: { after: (fn: () => Promise<void>) => void }, spec: HostSpec) {
  const root = await mkdtemp(path.join(tmpdir(), 'zp-doctor-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const put = async (p: string, body: string | Buffer) => {
    await mkdir(path.dirname(path.join(root, p)), { recursive: true });
    await writeFile(path.join(root, p), body);
  };
  if (spec.kernel?.gz !== undefined) await put('/proc/config.gz', gzipSync(spec.kernel.gz));
  if (spec.kernel?.boot !== undefined) await put('/boot/config-6.18.0-test', spec.kernel.boot);
  await put('/proc/mounts', spec.mounts ?? (await data('mounts-unified.txt')));
  for (const [p, body] of Object.entries(spec.files ?? {})) await put(p, body);
  for (const bin of spec.bins ?? [
    '/opt/zeropod/bin/containerd-shim-zeropod-v2',
    '/usr/bin/runc',
    '/usr/bin/nsenter',
    '/opt/zeropod/bin/nft',
  ]) {
    await put(bin, '#!/bin/sh\n');
    await chmod(path.join(root, bin), 0o755);
  }
  return root;
}

const goodCriu: DoctorDeps['criu'] = () => ({
  version: () => Promise.resolve({ major: 4, minor: 2, patch: 1 }),
  check: () => Promise.resolve('Looks good.'),
});
/** Every capability up to CAP_CHECKPOINT_RESTORE (40), as root has outside a sandbox. */
const ALL_CAPS = (1n << 41n) - 1n;
const deps = (criu = goodCriu, capabilities: bigint | undefined = ALL_CAPS): DoctorDeps => ({
  release: '6.18.0-test',
  criu,
  path: '/usr/bin',
  capabilities,
});
const byCheck = (fs: Finding[]) => new Map(fs.map((f) => [f.check, f]));

void test('a ready node: every check ok except optional features, which warn with their fix', async (t) => {
  const root = await host(t, {
    kernel: { gz: GOOD_KERNEL },
    files: { '/etc/containerd/config.toml': RUNTIME_V3 },
  });
  const findings = await runDoctor(compileDoctorOptions(['--host-root', root]), deps());
  const failed = findings.filter((f) => f.status === 'fail');
  assert.deepEqual(failed, []);
  const m = byCheck(findings);
  assert.equal(m.get('kernel CONFIG_INET_DIAG')?.detail, 'm (/proc/config.gz)');
  assert.deepEqual(m.get('kernel CONFIG_MEM_SOFT_DIRTY'), {
    check: 'kernel CONFIG_MEM_SOFT_DIRTY',
    status: 'warn',
    detail: 'not set in /proc/config.gz',
    fix: 'a kernel built with CONFIG_MEM_SOFT_DIRTY=y (needed for pre-dump (iterative checkpoints))',
  });
  assert.equal(m.get('cgroups')?.detail, 'v2 (unified)');
  assert.equal(m.get('containerd runtime')?.status, 'ok');
  assert.equal(m.get('shim binary')?.detail, '/opt/zeropod/bin/containerd-shim-zeropod-v2');
  assert.equal(m.get('tool runc')?.detail, '/usr/bin/runc');
  assert.equal(m.get('tool nft')?.detail, '/opt/zeropod/bin/nft');
  assert.match(
    renderFindings(findings),
    /^WARN  kernel CONFIG_MEM_SOFT_DIRTY: not set in \/proc\/config\.gz\n      fix: a kernel built with/m,
  );
  assert.match(renderFindings(findings), /ready for zeropod \(1 warning\)\n$/);
});

void test('each failure says what is wrong and how to fix it', async (t) => {
  const root = await host(t, {
    kernel: {
      boot: GOOD_KERNEL.replace('CONFIG_CHECKPOINT_RESTORE=y', '# CONFIG_CHECKPOINT_RESTORE is not set'),
    },
    mounts: (await data('mounts-hybrid.txt')).replace(/.*freezer.*\n/, ''),
    files: { '/etc/containerd/config.toml': 'version = 3\n' },
  });
  const oldCriu: DoctorDeps['criu'] = () => ({
    version: () => Promise.resolve({ major: 4, minor: 1, patch: 1 }),
    check: () =>
      Promise.reject(failedPrecondition('criu check failed: Error (criu/cr-check.c:1234): vDSO layout')),
  });
  const findings = await runDoctor(compileDoctorOptions(['--host-root', root]), deps(oldCriu));
  const m = byCheck(findings);
  assert.deepEqual(m.get('kernel CONFIG_CHECKPOINT_RESTORE'), {
    check: 'kernel CONFIG_CHECKPOINT_RESTORE',
    status: 'fail',
    detail: 'not set in /boot/config-6.18.0-test',
    fix: 'a kernel built with CONFIG_CHECKPOINT_RESTORE=y (needed for CRIU checkpoints and restores)',
  });
  assert.equal(m.get('criu version')?.status, 'fail');
  assert.match(m.get('criu version')?.detail ?? '', /4\.1\.1 is older than 4\.2/);
  assert.match(m.get('criu check')?.detail ?? '', /vDSO layout/);
  assert.equal(m.get('cgroups')?.status, 'warn');
  assert.match(
    m.get('cgroups')?.detail ?? '',
    /^v1 \(hybrid; controllers blkio, cpu, cpuacct, cpuset, devices, memory, pids\)$/,
  );
  assert.equal(m.get('cgroups freezer')?.status, 'fail');
  const rt = m.get('containerd runtime');
  assert.equal(rt?.status, 'fail');
  assert.match(rt?.detail ?? '', /no "zeropod" runtime in \/etc\/containerd\/config\.toml or its imports/);
  assert.match(
    rt?.status === 'fail' ? rt.fix : '',
    /run zeropod-installer \(or kubectl apply -k config\/generic\)/,
  );
  assert.match(renderFindings(findings), /\n\d+ checks failed\n$/);
});

void test('the runtime found through an import glob; filtered annotations and a missing runtime_path fail', async (t) => {
  const bad = RUNTIME_V3.replace(
    'pod_annotations = ["zeropod.ctrox.dev/*"]',
    'pod_annotations = ["io.kubernetes.*"]',
  ).replace('/opt/zeropod/bin', '/opt/elsewhere/bin');
  const root = await host(t, {
    kernel: { gz: GOOD_KERNEL },
    files: {
      '/etc/containerd/config.toml': 'version = 3\nimports = ["conf.d/*.toml"]\n',
      '/etc/containerd/conf.d/50-zeropod.toml': bad,
      '/etc/containerd/conf.d/readme.txt': 'x',
    },
  });
  const m = byCheck(await runDoctor(compileDoctorOptions(['--host-root', root]), deps()));
  assert.match(m.get('containerd runtime')?.detail ?? '', /in \/etc\/containerd\/conf\.d\/50-zeropod\.toml$/);
  assert.equal(m.get('containerd pod_annotations')?.status, 'fail');
  assert.equal(m.get('containerd container_annotations')?.status, 'ok');
  assert.match(
    m.get('shim binary')?.detail ?? '',
    /runtime_path \/opt\/elsewhere\/bin\/containerd-shim-zeropod-v2 does not exist/,
  );
});

void test('no kernel config: probes what /proc shows, unknown where nothing can be probed', async (t) => {
  const root = await host(t, {
    files: { '/proc/sys/kernel/ns_last_pid': '1\n', '/etc/containerd/config.toml': RUNTIME_V3 },
  });
  const m = byCheck(await runDoctor(compileDoctorOptions(['--host-root', root]), deps()));
  assert.equal(
    m.get('kernel CONFIG_CHECKPOINT_RESTORE')?.detail,
    'probed: /proc/sys/kernel/ns_last_pid exists',
  );
  assert.equal(m.get('kernel CONFIG_NET_NS')?.status, 'fail');
  assert.match(
    m.get('kernel CONFIG_INET_DIAG')?.detail ?? '',
    /^unknown: no \/proc\/config\.gz or \/boot\/config-6\.18\.0-test/,
  );
});

void test('an unparsable containerd config and an import that does not exist are named', async (t) => {
  for (const [config, pattern] of [
    ['version = 3\n[plugins\n', /config\.toml: not valid TOML at line 2/],
    [
      'version = 3\nimports = ["/etc/containerd/gone.toml"]\n',
      /imports \/etc\/containerd\/gone\.toml, which does not exist/,
    ],
  ] as const) {
    const root = await host(t, {
      kernel: { gz: GOOD_KERNEL },
      files: { '/etc/containerd/config.toml': config },
    });
    const m = byCheck(await runDoctor(compileDoctorOptions(['--host-root', root]), deps()));
    assert.equal(m.get('containerd runtime')?.status, 'fail');
    assert.match(m.get('containerd runtime')?.detail ?? '', pattern);
  }
});

void test('cgroup layouts from the mount table; bad doctor flags named', async () => {
  assert.deepEqual(parseCgroupLayout(await data('mounts-unified.txt')), { kind: 'unified' });
  assert.equal(parseCgroupLayout(await data('mounts-hybrid.txt')).kind, 'hybrid');
  assert.equal(
    parseCgroupLayout((await data('mounts-hybrid.txt')).replace(/.*cgroup2.*\n/, '')).kind,
    'legacy',
  );
  assert.deepEqual(parseCgroupLayout(''), { kind: 'none' });
  assert.throws(
    () => compileDoctorOptions(['--flavor', 'kind']),
    /--flavor must be one of containerd, k3s, rke2, got "kind"/,
  );
  assert.throws(
    () => compileDoctorOptions(['--host-root', 'host']),
    /--host-root must be an absolute path, got "host"/,
  );
});

void test('missing runc, nsenter or nft fail with what they are for', async (t) => {
  const root = await host(t, {
    kernel: { gz: GOOD_KERNEL },
    files: { '/etc/containerd/config.toml': RUNTIME_V3 },
    bins: ['/usr/bin/runc'],
  });
  const m = byCheck(await runDoctor(compileDoctorOptions(['--host-root', root]), deps()));
  assert.equal(m.get('tool runc')?.status, 'ok');
  assert.deepEqual(m.get('tool nsenter'), {
    check: 'tool nsenter',
    status: 'fail',
    detail: "not found (it enters pods' network namespaces)",
    fix: 'install util-linux',
  });
  const nft = m.get('tool nft');
  assert.equal(nft?.status, 'fail');
  assert.match(
    nft?.status === 'fail' ? nft.fix : '',
    /install nftables, or let zeropod-installer put nft in \/opt\/zeropod\/bin/,
  );
});

void test('root without CAP_SYS_RESOURCE: a warning that non-root apps cannot be checkpointed', async (t) => {
  const root = await host(t, {
    kernel: { gz: GOOD_KERNEL },
    files: { '/etc/containerd/config.toml': RUNTIME_V3 },
  });
  const full = byCheck(await runDoctor(compileDoctorOptions(['--host-root', root]), deps()));
  assert.equal(full.get('capabilities')?.status, 'ok');
  const sandboxed = ALL_CAPS & ~(1n << 24n);
  const m = byCheck(await runDoctor(compileDoctorOptions(['--host-root', root]), deps(goodCriu, sandboxed)));
  const f = m.get('capabilities');
  assert.equal(f?.status, 'warn');
  assert.match(f?.detail ?? '', /lacks CAP_SYS_RESOURCE.*non-root user/);
  assert.equal(effectiveCapabilities('Name:\tx\nCapEff:\t000001fffeffffff\n'), 0x1fffeffffffn);
});
