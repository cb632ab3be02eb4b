/**
 * The postgres test image: Debian's server (its files without the other programs), a database cluster made by initdb at
 * build time (on the host: seconds, where the VM's emulation would take minutes at every start), and
 * the image's user `postgres`, which owns the data directory: the server runs as a non-root user,
 * as it does everywhere (it refuses to run as root).
 */
import { appendFile, readdir, readFile, rm } from 'node:fs/promises';
import { notFound } from '../../src/base/index.ts';
import { exec } from './exec.ts';
import type { Stage } from './stage.ts';

export const POSTGRES_IMAGE = 'zeropod.local/postgres:1';
/** The image's postgres user and group (the official image's numbers). */
export const POSTGRES_UID = 999;
export const PGDATA = '/var/lib/postgresql/data';
/** Where the server's unix socket is (`psql -h` inside the container). */
export const POSTGRES_SOCKET_DIR = '/tmp';

/** Small and test-friendly: any client in the pod network may connect without a password. */
const POSTGRES_CONF = `
# zeropod-ts test image
listen_addresses = '*'
port = 5432
unix_socket_directories = '${POSTGRES_SOCKET_DIR}'
max_connections = 20
shared_buffers = 16MB
# Dynamic shared memory as files in the data directory, not in the pod's /dev/shm.
dynamic_shared_memory_type = mmap
huge_pages = off
jit = off
log_destination = 'stderr'
logging_collector = off
`;

/** The one major version installed in the root filesystem (Debian sid ships one at a time). */
export async function postgresVersion(rootfs: string): Promise<string> {
  const versions = (await readdir(`${rootfs}/usr/lib/postgresql`).catch(() => [])).filter((v) =>
    /^\d+$/.test(v),
  );
  const v = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (v === undefined) throw notFound('no postgresql server in the root filesystem', { details: { rootfs } });
  return v;
}

/** Fills a staged image that already has the common base (busybox, passwd...). */
export async function fillPostgres(stage: Stage): Promise<void> {
  const v = await postgresVersion(stage.rootfs);
  const bin = `/usr/lib/postgresql/${v}/bin`;
  // The server package without its other programs (and no client package): every megabyte is a
  // second of `ctr import` in the VM.
  const list = await readFile(`${stage.rootfs}/var/lib/dpkg/info/postgresql-${v}.list`, 'utf8');
  for (const p of list.split('\n')) {
    if (p === '' || p === '/.' || p.startsWith('/usr/share/doc') || p.startsWith('/usr/share/man')) continue;
    if (p.startsWith(`${bin}/`) || p.includes('/llvmjit') || p.includes('/bitcode')) continue;
    await stage.add(p);
  }
  for (const tool of ['postgres', 'initdb']) {
    await stage.addWithLibraries(`${bin}/${tool}`);
    // On PATH without Debian's perl wrappers; postgres finds its share/ and lib/ through the link.
    await stage.link(`/usr/local/bin/${tool}`, `${bin}/${tool}`);
  }
  // Messages in other languages: 23 MB that each import into the VM would copy over 9p.
  await rm(`${stage.dir}/usr/share/locale`, { recursive: true, force: true });
  const owner = `${POSTGRES_UID}:${POSTGRES_UID}`;
  await stage.mkdir('/var/lib/postgresql', 0o755);
  await exec('chown', [owner, `${stage.dir}/var/lib/postgresql`]);
  // initdb runs commands with output sent to /dev/null; the node exists only while it runs.
  await exec('mknod', ['-m', '666', `${stage.dir}/dev/null`, 'c', '1', '3']);
  try {
    await exec('chroot', [
      `--userspec=${owner}`,
      stage.dir,
      `${bin}/initdb`,
      ...['-D', PGDATA, '-U', 'postgres', '--auth=trust', '--no-locale', '--encoding=UTF8', '--no-sync'],
      // 1 MB WAL segments (the default 16 MB is one empty file the image would carry)
      '--wal-segsize=1',
    ]);
  } finally {
    await rm(`${stage.dir}/dev/null`, { force: true });
  }
  await appendFile(`${stage.dir}${PGDATA}/postgresql.conf`, POSTGRES_CONF);
  await appendFile(`${stage.dir}${PGDATA}/pg_hba.conf`, 'host all all 0.0.0.0/0 trust\n');
}
