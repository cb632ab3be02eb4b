/**
 * Builds every image (or takes it from the cache), checks the OCI layout, then runs each workload
 * from its unpacked layer under chroot in fresh namespaces and talks to it. Needs root and the root
 * filesystem (ZEROPOD_ROOTFS; default: the node environment's, else /var/cache/zeropod-ts/probe-rootfs);
 * the cache is ZEROPOD_IMAGES, default the environment's image directory.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { MARKERS, buildImages, sha256File, type ImageRef } from './index.ts';
import { deadlineExceeded } from '../../src/base/index.ts';
import { paths, rootfsPath, rootfsReady } from '../env/index.ts';
import { body, httpGet, probe, start, unpack } from './testing.ts';

const rootfs =
  process.env['ZEROPOD_ROOTFS'] ?? (rootfsReady() ? rootfsPath() : '/var/cache/zeropod-ts/probe-rootfs');
const cacheDir = process.env['ZEROPOD_IMAGES'] ?? paths.images;
const skip =
  process.getuid?.() !== 0
    ? 'needs root (chroot, unshare, mount)'
    : !existsSync(path.join(rootfs, 'var/lib/dpkg/status'))
      ? `no root filesystem at ${rootfs} (build it with harness/rootfs/build.sh)`
      : false;

void describe('test images', { skip }, () => {
  let refs: ImageRef[] = [];
  const ref = (id: string) => {
    const r = refs.find((x) => x.id === id);
    assert.ok(r, `image ${id} was built`);
    return r;
  };

  before(async () => {
    refs = await buildImages({ rootfs, cacheDir, log: () => {} });
  });

  void test('a second build comes from the cache, unchanged', async () => {
    const again = await buildImages({ rootfs, cacheDir, log: () => {} });
    assert.deepEqual(
      again.map((r) => [r.name, r.tarball, r.digest, r.bytes, r.built]),
      refs.map((r) => [r.name, r.tarball, r.digest, r.bytes, false]),
    );
  });

  void test('builds are reproducible: a fresh cache yields the same digest', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'zp-images-'));
    try {
      const [fresh] = await buildImages({ rootfs, cacheDir: dir, only: ['busybox'], log: () => {} });
      assert.equal(fresh?.built, true);
      assert.equal(fresh?.digest, ref('busybox').digest);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  void test('each tarball is an OCI layout whose digests match their blobs', async () => {
    assert.deepEqual(
      refs.map((r) => r.id),
      ['pause', 'busybox', 'nginx', 'redis', 'node-app', 'postgres'],
    );
    for (const r of refs) {
      await using u = await unpack(r.tarball);
      assert.deepEqual(JSON.parse(readFileSync(path.join(u.layout, 'oci-layout'), 'utf8')), {
        imageLayoutVersion: '1.0.0',
      });
      const [top, ...rest] = u.index.manifests;
      assert.ok(top);
      assert.equal(rest.length, 0);
      assert.equal(top.digest, r.digest);
      assert.equal(top.mediaType, 'application/vnd.oci.image.manifest.v1+json');
      assert.deepEqual(top.platform, { architecture: 'amd64', os: 'linux' });
      assert.equal(top.annotations?.['io.containerd.image.name'], r.name);
      assert.equal(top.annotations?.['org.opencontainers.image.ref.name'], r.name);
      for (const d of [top, u.manifest.config, ...u.manifest.layers]) {
        assert.equal(`sha256:${await sha256File(u.blob(d))}`, d.digest, `${r.id}: blob ${d.digest}`);
        assert.equal((await stat(u.blob(d))).size, d.size, `${r.id}: size of ${d.digest}`);
      }
      assert.equal(u.manifest.layers.length, 1);
      assert.deepEqual(u.config.rootfs, { type: 'layers', diff_ids: [u.manifest.layers[0]?.digest] });
      assert.equal(u.config.architecture, 'amd64');
      assert.equal(u.config.os, 'linux');
      const raw = await readFile(u.blob(top));
      assert.equal(createHash('sha256').update(raw).digest('hex'), top.digest.slice(7));
    }
  });

  void test("postgres runs as its image's user, who owns the cluster initdb made at build", async () => {
    await using u = await unpack(ref('postgres').tarball);
    assert.equal(u.config.config.User, 'postgres');
    assert.match(readFileSync(path.join(u.root, 'etc/passwd'), 'utf8'), /^postgres:x:999:999:/m);
    const data = await stat(path.join(u.root, 'var/lib/postgresql/data'));
    assert.deepEqual([data.uid, data.gid, data.mode & 0o777], [999, 999, 0o700]);
    const version = await stat(path.join(u.root, 'var/lib/postgresql/data/PG_VERSION'));
    assert.equal(version.uid, 999);
    const conf = readFileSync(path.join(u.root, 'var/lib/postgresql/data/postgresql.conf'), 'utf8');
    assert.match(conf, /^listen_addresses = '\*'$/m);
  });

  void test('pause sleeps until SIGTERM, then exits 0 promptly', async () => {
    await using u = await unpack(ref('pause').tarball);
    await using r = await start(u);
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(r.child.exitCode, null, `pause exited early: ${r.output()}`);
    const t0 = performance.now();
    r.kill('SIGTERM');
    const { code } = await Promise.race([r.exited, timeout(2000, 'pause did not exit on SIGTERM')]);
    assert.equal(code, 0);
    assert.ok(performance.now() - t0 < 1000);
  });

  void test('busybox serves its page with httpd and runs sh', async () => {
    await using u = await unpack(ref('busybox').tarball);
    await using r = await start(u);
    const res = await httpGet(r, 8080, '/');
    assert.match(res, /^HTTP\/1\.[01] 200/);
    assert.ok(body(res).includes(MARKERS.busybox), res);
    await using sh = await start(u, { argv: ['sh', '-c', 'echo hello from $(id -u) in $(pwd)'] });
    await sh.exited;
    assert.equal(sh.output().trim(), 'hello from 0 in /');
  });

  void test('nginx serves its page and stops on SIGTERM', async () => {
    await using u = await unpack(ref('nginx').tarball);
    await using r = await start(u);
    const res = await httpGet(r, 80, '/');
    assert.match(res, /^HTTP\/1\.1 200/);
    assert.ok(body(res).includes(MARKERS.nginx), res);
    r.kill('SIGTERM');
    const { code } = await Promise.race([r.exited, timeout(3000, 'nginx did not exit on SIGTERM')]);
    assert.equal(code, 0, r.output());
  });

  void test('redis answers PING and DEBUG POPULATE', async () => {
    await using u = await unpack(ref('redis').tarball);
    await using r = await start(u);
    const reply = await probe(r, 6379, 'DEBUG POPULATE 1000\r\nDBSIZE\r\nPING\r\n', '+PONG\r\n');
    assert.equal(reply, '+OK\r\n:1000\r\n+PONG\r\n');
  });

  void test('node-app counts in memory and allocates HEAP_MB', async () => {
    await using u = await unpack(ref('node-app').tarball);
    await using r = await start(u, { env: ['HEAP_MB=64'] });
    const get = async (p: string) => JSON.parse(body(await httpGet(r, 8080, p))) as Record<string, unknown>;
    const first = await get('/');
    assert.equal(first['count'], 1);
    assert.equal(first['heapMB'], 64);
    assert.equal(first['pid'], 1);
    assert.equal(typeof first['startedAt'], 'string');
    assert.equal((await get('/'))['count'], 2);
    assert.deepEqual(await get('/get'), { ...first, count: 2 });
    assert.deepEqual(await get('/get'), { ...first, count: 2 });
    assert.ok(r.pid !== undefined);
    const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${r.pid}/status`, 'utf8'))?.[1]);
    assert.ok(rssKiB > 64 * 1024, `RSS ${rssKiB} KiB should exceed the 64 MiB heap`);
    const env = readFileSync(`/proc/${r.pid}/environ`, 'utf8').split('\0');
    assert.ok(env.includes('UV_USE_IO_URING=0'));
    r.kill('SIGTERM');
    const { code } = await Promise.race([r.exited, timeout(3000, 'node did not exit on SIGTERM')]);
    assert.equal(code, 0, r.output());
  });
});

function timeout(ms: number, what: string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(deadlineExceeded(what)), ms).unref());
}
