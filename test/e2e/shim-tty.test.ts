/**
 * Terminals and interactive exec, runc vs zeropod (see shim-helpers.ts): a container with a TTY,
 * `kubectl exec -it` through the CRI streaming endpoint (a pty, resized, an exit code), and exec
 * stdin closed by the client (containerd's CloseIO, through `ctr`).
 */
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Cri, ExecStream, readContainerLog, waitForLog } from '../../harness/cri/index.ts';
import { IMAGES } from '../../harness/images/index.ts';
import { ContainerState } from '../../src/gen/k8s.io/cri-api/pkg/apis/runtime/v1/api_pb.js';
import { differential, PodTracker } from './shim-helpers.ts';

let cri: Cri;
const pods = new PodTracker(() => cri);
before(async () => {
  cri = await Cri.connect();
});
after(async () => {
  await pods.removeAll();
  cri.close();
});

const SLEEPER = 'sleep 100000';
const run = promisify(execFile);

differential(
  'a container with a TTY',
  async (handler) => {
    const pod = await pods.run(handler, 'tty', [
      {
        name: 'term',
        image: IMAGES.busybox,
        tty: true,
        command: ['sh', '-c', `tty; echo to-stderr >&2; echo tty-ok; ${SLEEPER}`],
      },
    ]);
    const id = pod.containers.get('term')!;
    try {
      const lines = await waitForLog(pod, 'term', (l) => l.some((x) => x.text.startsWith('tty-ok')));
      const exec = await cri.execSync(id, [
        'sh',
        '-c',
        'echo out; echo err >&2; [ -t 0 ] && echo stdin-tty || echo stdin-not-tty',
      ]);
      const status = await cri.containerStatus(id);
      return {
        // A terminal joins stderr into stdout (CR LF line ends; the CRI logger drops the CR).
        log: lines.map((l) => ({ stream: l.stream, text: l.text.replace(/\/dev\/pts\/\d+/, '/dev/pts/N') })),
        exec,
        state: ContainerState[status.state],
      };
    } finally {
      await pods.remove(pod);
    }
  },
  (o) => {
    assert.deepEqual(o.log, [
      { stream: 'stdout', text: '/dev/pts/N' },
      { stream: 'stdout', text: 'to-stderr' },
      { stream: 'stdout', text: 'tty-ok' },
    ]);
    assert.deepEqual(o.exec, { exitCode: 0, stdout: 'out\nstdin-not-tty\n', stderr: 'err\n' });
    assert.equal(o.state, 'CONTAINER_RUNNING');
  },
);

differential(
  'interactive exec with a TTY: pty, resize, exit code',
  async (handler) => {
    const pod = await pods.run(handler, 'exectty', [
      { name: 'box', image: IMAGES.busybox, command: ['sh', '-c', SLEEPER] },
    ]);
    const id = pod.containers.get('box')!;
    try {
      const s = await ExecStream.open(cri, { containerId: id, cmd: ['sh'], tty: true, stdin: true });
      try {
        s.resize(100, 40);
        // The resize and the typed command travel separately: ask until the new size shows (bounded).
        // Before any size is set busybox's `stty size` fails (a 0x0 terminal) and prints nothing.
        let sized = false;
        for (let i = 0; i < 50 && !sized; i++) {
          const mark = `size-${i}`;
          s.write(`echo ${mark} $(stty size)\n`);
          const out = await s.waitForStdout((o) => new RegExp(`${mark}( \\d+ \\d+)?\\r?\\n`).test(o));
          sized = out.includes(`${mark} 40 100`);
        }
        s.write('tty; [ -t 0 ] && echo stdin-is-a-tty\n');
        await s.waitForStdout((o) => o.includes('stdin-is-a-tty\r\n'));
        s.resize(120, 30);
        let resized = false;
        for (let i = 0; i < 50 && !resized; i++) {
          const mark = `again-${i}`;
          s.write(`echo ${mark} $(stty size)\n`);
          const out = await s.waitForStdout((o) => new RegExp(`${mark}( \\d+ \\d+)?\\r?\\n`).test(o));
          resized = out.includes(`${mark} 30 120`);
        }
        s.write('exit 3\n');
        const r = await s.done;
        return {
          sized,
          resized,
          pts: /\/dev\/pts\/\d+\r\n/.test(r.stdout),
          echoed: r.stdout.includes('tty; [ -t 0 ]'), // the terminal echoes what was typed
          exitCode: r.exitCode,
          stderr: r.stderr,
        };
      } finally {
        s.destroy();
      }
    } finally {
      await pods.remove(pod);
    }
  },
  (o) =>
    assert.deepEqual(o, { sized: true, resized: true, pts: true, echoed: true, exitCode: 3, stderr: '' }),
);

/**
 * The CRI's WebSocket exec (v4 channel protocol, all containerd 2.1 serves) cannot half-close stdin,
 * so stdin EOF is driven by containerd's own client: `ctr task exec` copies its stdin into the exec's
 * FIFO and calls CloseIO at EOF, the same shim call kubelet's SPDY exec ends in.
 */
differential(
  'exec stdin: data through, then EOF on CloseIO',
  async (handler) => {
    const pod = await pods.run(handler, 'stdin', [
      { name: 'box', image: IMAGES.busybox, command: ['sh', '-c', SLEEPER] },
    ]);
    const id = pod.containers.get('box')!;
    try {
      const script = 'cat; echo cat-done-$? >&2; exit 5';
      const r = await new Promise<{ exitCode: number | null; stdout: string; stderr: string }>(
        (resolve, reject) => {
          const child = execFile(
            'ctr',
            [
              '-n',
              'k8s.io',
              'task',
              'exec',
              '--exec-id',
              `diff-stdin-${process.pid}`,
              id,
              'sh',
              '-c',
              script,
            ],
            { timeout: 30_000 },
            (err, stdout, stderr) => {
              const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
              if (err && code === null) reject(err);
              else resolve({ exitCode: code, stdout, stderr });
            },
          );
          child.stdin?.end('hello\nworld');
        },
      );
      return r;
    } finally {
      await pods.remove(pod);
    }
  },
  (o) => assert.deepEqual(o, { exitCode: 5, stdout: 'hello\nworld', stderr: 'cat-done-0\n' }),
);

differential(
  'a TTY container that exits by itself',
  async (handler) => {
    const pod = await pods.run(handler, 'ttyexit', [
      { name: 'term', image: IMAGES.busybox, tty: true, command: ['sh', '-c', 'echo bye; exit 4'] },
    ]);
    try {
      const s = await cri.waitForExit(pod.containers.get('term')!);
      return {
        exitCode: s.exitCode,
        reason: s.reason,
        log: readContainerLog(pod, 'term').map((l) => l.text),
      };
    } finally {
      await pods.remove(pod);
    }
  },
  (o) => assert.deepEqual(o, { exitCode: 4, reason: 'Error', log: ['bye'] }),
);

differential(
  "a running exec is listed in the task's processes with its exec id",
  async (handler) => {
    const pod = await pods.run(handler, 'ps', [
      { name: 'box', image: IMAGES.busybox, command: ['sh', '-c', SLEEPER] },
    ]);
    const id = pod.containers.get('box')!;
    try {
      const s = await ExecStream.open(cri, { containerId: id, cmd: ['sh', '-c', 'echo up; exec sleep 60'] });
      try {
        await s.waitForStdout((o) => o.includes('up'));
        const { stdout } = await run('ctr', ['-n', 'k8s.io', 'task', 'ps', id]);
        // "PID INFO" rows: the init (no info) and the exec (exec_id:"<64 hex>").
        return stdout
          .split('\n')
          .slice(1)
          .filter((l) => l.trim() !== '')
          .map((l) =>
            l
              .trim()
              .split(/\s+/)[1]
              ?.replace(/[0-9a-f]{64}/, 'ID'),
          );
      } finally {
        s.destroy();
      }
    } finally {
      await pods.remove(pod);
    }
  },
  (o) => assert.deepEqual(o, ['-', 'exec_id:"ID"']),
);
