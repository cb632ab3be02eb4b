/**
 * Kernel features CRIU and the shim rely on. Read from the kernel's own config (/proc/config.gz, or
 * /boot/config-<release>); without either, probed from what each option leaves in /proc.
 */
import { gunzipSync } from 'node:zlib';
import { fail, ok, warn, type Finding } from './finding.ts';

interface Feature {
  option: string;
  why: string;
  /** A file whose presence shows the option is on, where one exists. */
  probe?: string;
  /** Missing only weakens zeropod (a warning), not breaks it. */
  optional?: boolean;
}

export const FEATURES: readonly Feature[] = [
  {
    option: 'CONFIG_CHECKPOINT_RESTORE',
    why: 'CRIU checkpoints and restores',
    probe: '/proc/sys/kernel/ns_last_pid',
  },
  { option: 'CONFIG_NAMESPACES', why: 'containers', probe: '/proc/self/ns' },
  { option: 'CONFIG_NET_NS', why: "pods' network namespaces", probe: '/proc/self/ns/net' },
  { option: 'CONFIG_PID_NS', why: "containers' pid namespaces", probe: '/proc/self/ns/pid' },
  { option: 'CONFIG_INET_DIAG', why: 'CRIU dumps TCP sockets through sock_diag' },
  { option: 'CONFIG_UNIX_DIAG', why: 'CRIU dumps unix sockets through sock_diag' },
  { option: 'CONFIG_NF_TABLES', why: 'connections are held while a container wakes (nftables)' },
  {
    option: 'CONFIG_USERFAULTFD',
    why: 'lazy restore of large memory',
    probe: '/proc/sys/vm/unprivileged_userfaultfd',
    optional: true,
  },
  { option: 'CONFIG_MEM_SOFT_DIRTY', why: 'pre-dump (iterative checkpoints)', optional: true },
];

export type KernelConfig = Map<string, string>;

export function parseKernelConfig(text: string): KernelConfig {
  const out: KernelConfig = new Map();
  for (const line of text.split('\n')) {
    const m = /^(CONFIG_[A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m !== null) out.set(m[1] ?? '', m[2] ?? '');
  }
  return out;
}

export interface KernelSource {
  read(path: string): Promise<Buffer | undefined>;
  exists(path: string): Promise<boolean>;
  release: string;
}

export async function loadKernelConfig(
  src: KernelSource,
): Promise<{ from: string; config: KernelConfig } | undefined> {
  const gz = await src.read('/proc/config.gz');
  if (gz !== undefined)
    return { from: '/proc/config.gz', config: parseKernelConfig(gunzipSync(gz).toString('utf8')) };
  const boot = `/boot/config-${src.release}`;
  const text = await src.read(boot);
  if (text !== undefined) return { from: boot, config: parseKernelConfig(text.toString('utf8')) };
  return undefined;
}

export async function checkKernel(src: KernelSource): Promise<Finding[]> {
  const loaded = await loadKernelConfig(src);
  const out: Finding[] = [];
  for (const f of FEATURES) {
    const check = `kernel ${f.option}`;
    const bad = f.optional === true ? warn : fail;
    const fix = `a kernel built with ${f.option}=y (needed for ${f.why})`;
    if (loaded !== undefined) {
      const v = loaded.config.get(f.option);
      out.push(
        v === 'y' || v === 'm'
          ? ok(check, `${v} (${loaded.from})`)
          : bad(check, `not set in ${loaded.from}`, fix),
      );
    } else if (f.probe !== undefined) {
      out.push(
        (await src.exists(f.probe))
          ? ok(check, `probed: ${f.probe} exists`)
          : bad(check, `probed: ${f.probe} is missing`, fix),
      );
    } else {
      out.push(
        warn(
          check,
          'unknown: no /proc/config.gz or /boot/config-' + src.release + ', and nothing to probe',
          `make the kernel config readable (modprobe configs) to check ${f.option}`,
        ),
      );
    }
  }
  return out;
}
