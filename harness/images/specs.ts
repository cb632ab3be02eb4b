/**
 * What goes into each test image. Every image gets the same small base (passwd/group, mount points,
 * busybox-static as a toolbox for `sh` execs and probes) plus its workload's packages and ldd closure.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec } from './exec.ts';
import type { RuntimeConfig } from './oci.ts';
import { fillPostgres, PGDATA, POSTGRES_IMAGE, POSTGRES_UID } from './postgres-spec.ts';
import type { Stage } from './stage.ts';

export const PAUSE_IMAGE = 'zeropod.local/pause:1';
export const BUSYBOX_IMAGE = 'zeropod.local/busybox:1';
export const NGINX_IMAGE = 'zeropod.local/nginx:1';
export const REDIS_IMAGE = 'zeropod.local/redis:1';
export const NODE_APP_IMAGE = 'zeropod.local/node-app:1';
export { POSTGRES_IMAGE };

/** Every image's reference, by workload: what pods name in their container specs. */
export const IMAGES = {
  pause: PAUSE_IMAGE,
  busybox: BUSYBOX_IMAGE,
  nginx: NGINX_IMAGE,
  redis: REDIS_IMAGE,
  nodeApp: NODE_APP_IMAGE,
  postgres: POSTGRES_IMAGE,
} as const;

/** Strings the served pages contain, so a probe can tell the right workload answered. */
export const MARKERS = {
  busybox: 'zeropod-test busybox httpd',
  nginx: 'zeropod-test nginx',
} as const;

export const COUNTER_APP = fileURLToPath(new URL('./apps/counter.js', import.meta.url));

export interface ImageSpec {
  /** Short name: the cache file's prefix and the key in `buildImages`' `only`. */
  id: string;
  name: string;
  /** Host files whose content goes into the image and therefore into its cache key. */
  inputs: string[];
  runtime: RuntimeConfig;
  fill(stage: Stage): Promise<void>;
}

const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** A user of an image besides root and nobody: name, uid (= its group's gid), home. */
type ImageUser = readonly [name: string, id: number, home: string];

async function base(stage: Stage, users: readonly ImageUser[] = []): Promise<void> {
  for (const link of ['/bin', '/sbin', '/lib', '/lib64']) await stage.add(link);
  const passwd = users.map(([name, id, home]) => `${name}:x:${id}:${id}:${name}:${home}:/bin/sh\n`);
  const group = users.map(([name, id]) => `${name}:x:${id}:\n`);
  await stage.write(
    '/etc/passwd',
    `root:x:0:0:root:/root:/bin/sh\n${passwd.join('')}nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n`,
  );
  await stage.write('/etc/group', `root:x:0:\n${group.join('')}nogroup:x:65534:\n`);
  await stage.write('/etc/hosts', '127.0.0.1\tlocalhost\n::1\tlocalhost\n');
  for (const dir of ['/dev', '/proc', '/sys', '/run', '/root', '/etc']) await stage.mkdir(dir);
  await stage.mkdir('/tmp', 0o1777);
  await stage.add('/usr/bin/busybox');
  const applets = await exec('chroot', [stage.rootfs, '/usr/bin/busybox', '--list']);
  for (const applet of applets.split('\n').filter(Boolean).sort())
    await stage.link(`/usr/bin/${applet}`, 'busybox');
}

/**
 * Debian builds Node with some builtins (undici's fetch, acorn) loaded at start from files of other
 * packages; libnode names them as NODE_SHARED_BUILTIN_<NAME>_PATH=<file>, and Node aborts without them.
 */
async function externalizedBuiltins(libnode: string): Promise<string[]> {
  const text = (await readFile(libnode)).toString('latin1');
  return [
    ...new Set(
      Array.from(text.matchAll(/NODE_SHARED_BUILTIN_[A-Z0-9_]+_PATH=(\/[\w./@+-]+)/g), (m) => m[1] ?? ''),
    ),
  ];
}

const page = (marker: string) =>
  `<!doctype html>\n<html><head><title>${marker}</title></head><body><p>${marker}</p></body></html>\n`;

/**
 * One worker, running as root by default: CRIU cannot dump www-data workers on a host whose root lacks
 * CAP_SYS_RESOURCE (FACTS.md). `nginx -c /etc/nginx/nginx-www-data.conf` runs it as Debian does.
 */
const nginxConf = (user: string) => `# zeropod-ts test image: one worker running as ${user}.
daemon off;
worker_processes 1;
user ${user};
pid /run/nginx.pid;
error_log stderr notice;
events { worker_connections 512; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  sendfile on;
  server {
    listen 80 default_server;
    root /usr/share/nginx/html;
    index index.html;
    location / { try_files $uri $uri/ =404; }
  }
}
`;
/** The nginx image's configuration with its worker running as www-data (uid 33, as in Debian). */
export const NGINX_WWW_DATA_CONF = '/etc/nginx/nginx-www-data.conf';

export const SPECS: readonly ImageSpec[] = [
  {
    id: 'pause',
    name: PAUSE_IMAGE,
    inputs: [],
    // PID 1 ignores signals it has no handler for, so the trap is what makes SIGTERM/SIGINT end the
    // sandbox (exit 0). `wait` returns on a trapped signal and reaps any child, adopted orphans included.
    runtime: {
      entrypoint: ['/bin/sh', '-c', "trap 'exit 0' TERM INT; while :; do sleep 86400 & wait $!; done"],
      env: [PATH],
      workingDir: '/',
    },
    fill: base,
  },
  {
    id: 'busybox',
    name: BUSYBOX_IMAGE,
    inputs: [],
    runtime: {
      cmd: ['httpd', '-f', '-p', '8080', '-h', '/www'],
      env: [PATH],
      workingDir: '/',
      exposedPorts: [8080],
    },
    async fill(stage) {
      await base(stage);
      await stage.write('/www/index.html', page(MARKERS.busybox));
    },
  },
  {
    id: 'nginx',
    name: NGINX_IMAGE,
    inputs: [],
    runtime: { cmd: ['nginx'], env: [PATH], workingDir: '/', exposedPorts: [80] },
    async fill(stage) {
      await base(stage, [['www-data', 33, '/var/www']]);
      for (const pkg of ['nginx-light', 'nginx', 'nginx-common', 'libnginx-mod-http-echo'])
        await stage.addPackage(pkg);
      await stage.addWithLibraries('/usr/sbin/nginx');
      await stage.write('/etc/nginx/nginx.conf', nginxConf('root'));
      await stage.write(NGINX_WWW_DATA_CONF, nginxConf('www-data'));
      await stage.write('/usr/share/nginx/html/index.html', page(MARKERS.nginx));
      for (const dir of ['/var/lib/nginx', '/var/log/nginx', '/var/cache/nginx']) await stage.mkdir(dir);
    },
  },
  {
    id: 'redis',
    name: REDIS_IMAGE,
    inputs: [],
    runtime: {
      // --dir must be set at start (CONFIG SET dir is refused); DEBUG POPULATE needs the debug command.
      cmd: [
        'redis-server',
        ...['--port', '6379', '--protected-mode', 'no', '--save', '', '--appendonly', 'no'],
        ...['--dir', '/data', '--enable-debug-command', 'yes'],
      ],
      env: [PATH],
      workingDir: '/data',
      exposedPorts: [6379],
    },
    async fill(stage) {
      await base(stage);
      await stage.addWithLibraries('/usr/bin/redis-server');
      await stage.addWithLibraries('/usr/bin/redis-cli');
      await stage.mkdir('/data');
    },
  },
  {
    id: 'node-app',
    name: NODE_APP_IMAGE,
    inputs: [COUNTER_APP],
    runtime: {
      cmd: ['node', '/app/counter.js'],
      // libuv 1.53 still creates io_uring instances with UV_USE_IO_URING=0 and CRIU cannot dump them:
      // the container also needs a seccomp rule making io_uring_setup/enter/register fail with ENOSYS.
      // That rule is the harness's job (pod spec), not the image's.
      env: [PATH, 'UV_USE_IO_URING=0', 'PORT=8080', 'HEAP_MB=0'],
      workingDir: '/app',
      exposedPorts: [8080],
    },
    async fill(stage) {
      await base(stage);
      for (const lib of await stage.addWithLibraries('/usr/bin/node')) {
        if (!path.posix.basename(lib).startsWith('libnode.so')) continue;
        for (const file of await externalizedBuiltins(stage.rootfs + lib)) await stage.add(file);
      }
      await stage.write('/app/counter.js', await readFile(COUNTER_APP));
    },
  },
  {
    id: 'postgres',
    name: POSTGRES_IMAGE,
    inputs: [],
    runtime: {
      cmd: ['postgres', '-D', PGDATA],
      env: [PATH, `PGDATA=${PGDATA}`],
      workingDir: '/var/lib/postgresql',
      exposedPorts: [5432],
      user: 'postgres',
    },
    async fill(stage) {
      await base(stage, [['postgres', POSTGRES_UID, '/var/lib/postgresql']]);
      await fillPostgres(stage);
    },
  },
];
