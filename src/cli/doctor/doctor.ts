/**
 * `zeropod doctor`: can this node run zeropod? Kernel features, CRIU, cgroups and containerd's
 * config, each failure with its fix. Reads the host under `hostRoot`, so it also runs from a pod.
 */
import { accessSync, constants, promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { invalidArgument } from '../../base/index.ts';
import { flavorLayout, FLAVORS, HostFiles, type Flavor, type FlavorLayout } from '../../installer/index.ts';
import { checkCapabilities, effectiveCapabilities } from './capabilities.ts';
import { checkCgroups } from './cgroups.ts';
import { checkContainerdRuntime, type ConfigSource } from './containerd-runtime.ts';
import { checkCriu, realCriu, type CriuProbe } from './criu.ts';
import type { Finding } from './finding.ts';
import { checkKernel } from './kernel.ts';
import { checkTools } from './tools.ts';

export const DOCTOR_USAGE =
  'usage: zeropod doctor [--flavor containerd|k3s|rke2] [--config PATH] [--host-root DIR] [--criu PATH] [--json]';

export interface DoctorOptions {
  hostRoot: string;
  layout: FlavorLayout;
  criu?: string;
  json: boolean;
}

export function compileDoctorOptions(argv: string[]): DoctorOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        flavor: { type: 'string' },
        config: { type: 'string' },
        'host-root': { type: 'string' },
        criu: { type: 'string' },
        json: { type: 'boolean' },
      },
    }));
  } catch (err) {
    throw invalidArgument('bad flags (zeropod doctor --help lists them)', { cause: err });
  }
  const flavor = values.flavor ?? 'containerd';
  if (!(FLAVORS as readonly string[]).includes(flavor))
    throw invalidArgument(`--flavor must be one of ${FLAVORS.join(', ')}, got "${flavor}"`);
  for (const flag of ['config', 'host-root'] as const) {
    const v = values[flag];
    if (v !== undefined && !path.isAbsolute(v))
      throw invalidArgument(`--${flag} must be an absolute path, got "${v}"`);
  }
  const layout = flavorLayout(flavor as Flavor);
  return {
    hostRoot: values['host-root'] ?? '/',
    layout: values.config === undefined ? layout : { ...layout, config: values.config },
    ...(values.criu === undefined ? {} : { criu: values.criu }),
    json: values.json === true,
  };
}

export interface DoctorDeps {
  release: string;
  criu: (binary: string) => CriuProbe;
  path: string;
  /** The effective capabilities of root as CRIU gets them (this process's); undefined if unknown. */
  capabilities: bigint | undefined;
}

export const realDoctorDeps = (signal: AbortSignal): DoctorDeps => ({
  release: os.release(),
  criu: (binary) => realCriu(binary, signal),
  path: process.env['PATH'] ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  capabilities: effectiveCapabilities(readFileSync('/proc/self/status', 'utf8')),
});

export async function runDoctor(o: DoctorOptions, deps: DoctorDeps): Promise<Finding[]> {
  const files = new HostFiles(o.hostRoot);
  const onPath = async (name: string): Promise<string | undefined> => {
    for (const dir of deps.path.split(':')) {
      const p = path.join(dir, name);
      try {
        accessSync(files.at(p), constants.X_OK);
        return p;
      } catch {
        // next directory
      }
    }
    return undefined;
  };
  const source: ConfigSource = {
    read: (p) => files.read(p),
    exists: (p) => files.exists(p),
    list: (dir) => fs.readdir(files.at(dir)).catch(() => []),
    onPath,
  };
  // CRIU as the shim will find it: ours first (the installer's wrapper puts /opt/zeropod/bin first).
  const criu =
    o.criu ??
    ((await files.exists('/opt/zeropod/bin/criu'))
      ? '/opt/zeropod/bin/criu'
      : ((await onPath('criu')) ?? 'criu'));
  const mounts = (await files.read('/proc/mounts'))?.toString('utf8') ?? '';
  return [
    ...(await checkKernel({ read: source.read, exists: source.exists, release: deps.release })),
    ...(await checkCriu(deps.criu(criu === 'criu' ? criu : files.at(criu)), criu)),
    ...checkCapabilities(deps.capabilities),
    ...checkCgroups(mounts),
    ...(await checkTools(source)),
    ...(await checkContainerdRuntime(source, o.layout)),
  ];
}
