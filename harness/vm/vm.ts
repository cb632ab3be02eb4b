/**
 * The cgroup v2 VM: Debian's kernel booted by qemu in software emulation (single-threaded TCG: KVM is
 * not usable here and multi-threaded TCG locked up, FACTS.md) with cgroup v2 only, user-mode
 * networking, the project shared at the same path over 9p, and an exec agent reached through a port
 * forwarded from the host's loopback. The disk is opened with snapshot=on, so each boot starts from
 * the cached image and `down` leaves nothing but the logs in the run directory.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { failedPrecondition, internal, unavailable } from '../../src/base/index.ts';
import { paths } from '../env/index.ts';
import { agentExec, type AgentAddress, type VmExecOptions, type VmExecResult } from './agent-client.ts';
import { ensureVmImage } from './image.ts';

/** Run directory of this VM (pid, agent address, console log, the guest's shared control dir). */
export const vmRun = process.env['ZEROPOD_VM_RUN'] ?? '/run/zeropod-ts-vm';
const files = {
  pid: path.join(vmRun, 'qemu.pid'),
  agent: path.join(vmRun, 'agent.json'),
  console: path.join(vmRun, 'console.log'),
  qemuLog: path.join(vmRun, 'qemu.log'),
  /** Mounted in the guest at /run/zeropod-vm: the token, the agent's log, logs of what runs inside. */
  share: path.join(vmRun, 'share'),
};
/** Where the share appears inside the guest. */
export const guestShare = '/run/zeropod-vm';
const GUEST_AGENT_PORT = 7000;
const BOOT_TIMEOUT_MS = 300_000;

export interface VmUpOptions {
  log?: (line: string) => void;
  fresh?: boolean;
  /**
   * PID 1: our script (default: quickest), or systemd, as on a distribution's node (containerd's
   * runtimes then use the systemd cgroup driver: guest/node.sh).
   */
  init?: 'script' | 'systemd';
}

export interface VmStatus {
  pid: number;
  agent: AgentAddress;
}

const alive = (pid: number) => existsSync(`/proc/${pid}`);

export function vmStatus(): VmStatus | undefined {
  if (!existsSync(files.pid) || !existsSync(files.agent)) return undefined;
  const pid = Number(readFileSync(files.pid, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return undefined;
  return { pid, agent: JSON.parse(readFileSync(files.agent, 'utf8')) as AgentAddress };
}

export async function vmUp(options: VmUpOptions = {}): Promise<VmStatus> {
  const log = options.log ?? ((l: string) => console.log(l));
  const running = vmStatus();
  if (running && !options.fresh) return running;
  if (running) await vmDown({ log });
  requireQemu();
  const image = await ensureVmImage(log);

  rmSync(vmRun, { recursive: true, force: true });
  mkdirSync(files.share, { recursive: true });
  mkdirSync(paths.images, { recursive: true });
  const agent: AgentAddress = { port: await freePort(), token: randomBytes(16).toString('hex') };
  writeFileSync(path.join(files.share, 'token'), `${agent.token}\n`, { mode: 0o600 });

  const append = [
    'console=ttyS0',
    'root=/dev/vda',
    'rw',
    'panic=-1',
    'systemd.unified_cgroup_hierarchy=1',
    'cgroup_no_v1=all',
    `zeropod.project=${paths.project}`,
    `zeropod.agent_port=${GUEST_AGENT_PORT}`,
    ...(options.init === 'systemd' ? ['zeropod.init=systemd'] : []),
  ].join(' ');
  const virtfs = (dir: string, tag: string, ro = false) => [
    '-virtfs',
    `local,path=${dir},mount_tag=${tag},security_model=passthrough${ro ? ',readonly=on' : ''}`,
  ];
  const args = [
    '-name',
    'zeropod-vm',
    '-nodefaults',
    '-no-user-config',
    '-no-reboot',
    '-accel',
    'tcg,thread=single',
    '-cpu',
    'max',
    '-m',
    '2048',
    '-smp',
    '2',
    '-display',
    'none',
    '-serial',
    `file:${files.console}`,
    '-kernel',
    image.kernel,
    '-initrd',
    image.initrd,
    '-append',
    append,
    '-drive',
    `file=${image.disk},format=raw,if=virtio,snapshot=on`,
    '-netdev',
    `user,id=net0,hostfwd=tcp:127.0.0.1:${agent.port}-10.0.2.15:${GUEST_AGENT_PORT}`,
    '-device',
    'virtio-net-pci,netdev=net0',
    ...virtfs(paths.project, 'project'),
    ...virtfs(paths.images, 'images', true),
    ...virtfs(files.share, 'ctl'),
    '-pidfile',
    files.pid,
  ];
  const started = performance.now();
  const out = openSync(files.qemuLog, 'a');
  const child = spawn('qemu-system-x86_64', args, { detached: true, stdio: ['ignore', out, out] });
  child.unref();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  log(`[vm] booting (qemu pid ${child.pid}; console ${files.console})`);

  let lastReport = 0;
  let qemuExit: number | null | undefined;
  void exited.then((c) => (qemuExit = c));
  for (;;) {
    const secs = (performance.now() - started) / 1000;
    if (qemuExit !== undefined) {
      throw unavailable(`qemu exited (${qemuExit}) while booting; last console lines:\n${consoleTail()}`);
    }
    if (secs * 1000 > BOOT_TIMEOUT_MS) {
      throw unavailable(
        `the VM's agent did not answer within ${BOOT_TIMEOUT_MS / 1000} s:\n${consoleTail()}`,
      );
    }
    if (/zeropod-vm: agent exited/.test(readConsole())) {
      throw unavailable(
        `the VM's exec agent exited; ${path.join(files.share, 'agent.log')}:\n${tail(path.join(files.share, 'agent.log'))}`,
      );
    }
    if (secs - lastReport >= 10) {
      lastReport = secs;
      log(`[vm] ${secs.toFixed(0)} s: ${lastConsoleLine()}`);
    }
    if (existsSync(files.pid) && (await agentAnswers(agent))) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  writeFileSync(files.agent, JSON.stringify(agent));
  const booted = /zeropod-vm: booted in ([\d.]+) s/.exec(readConsole())?.[1];
  log(
    `[vm] up in ${((performance.now() - started) / 1000).toFixed(1)} s` +
      `${booted ? ` (kernel to our init's end: ${booted} s guest time)` : ''}`,
  );
  return { pid: Number(readFileSync(files.pid, 'utf8').trim()), agent };
}

export async function vmDown(options: { log?: (line: string) => void } = {}): Promise<void> {
  const log = options.log ?? ((l: string) => console.log(l));
  const pid = existsSync(files.pid) ? Number(readFileSync(files.pid, 'utf8').trim()) : undefined;
  if (pid !== undefined && Number.isInteger(pid) && pid > 0 && alive(pid)) {
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    if (alive(pid)) {
      log('[vm] qemu did not stop in 10 s: killing it');
      process.kill(pid, 'SIGKILL');
    }
  }
  rmSync(files.pid, { force: true });
  rmSync(files.agent, { force: true });
  log('[vm] stopped');
}

/** Runs a command inside the running VM. */
export function vmExec(argv: string[], options: VmExecOptions = {}): Promise<VmExecResult> {
  const st = vmStatus();
  if (!st) throw unavailable('the VM is not running: start it with `npx tsx harness/vm/cli.ts up`');
  return agentExec(st.agent, argv, options);
}

/** The directory on the host that the guest sees at `guestShare`. */
export const hostShare = files.share;

function requireQemu(): void {
  const found = (process.env['PATH'] ?? '')
    .split(':')
    .some((d) => existsSync(path.join(d, 'qemu-system-x86_64')));
  if (!found) {
    throw failedPrecondition(
      'qemu-system-x86_64 is not installed: run `bash scripts/setup.sh vm` (Debian qemu-system-x86)',
    );
  }
}

async function agentAnswers(agent: AgentAddress): Promise<boolean> {
  try {
    const r = await agentExec(agent, ['true'], { signal: AbortSignal.timeout(5000) });
    return r.code === 0;
  } catch {
    return false; // not listening yet (the forward accepts and closes until the guest listens)
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(internal('no free port'))));
    });
  });
}

function readConsole(): string {
  try {
    return readFileSync(files.console, 'utf8');
  } catch {
    return '';
  }
}

function consoleTail(n = 15): string {
  return readConsole().trimEnd().split('\n').slice(-n).join('\n');
}

function tail(file: string, n = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '(unreadable)';
  }
}

function lastConsoleLine(): string {
  const l = readConsole().trimEnd().split('\n').pop() ?? '';
  return l.replace(/\r/g, '').slice(0, 160) || '(no console output yet)';
}
