/** The installer's flags, compiled once into resolved options; code past here sees no raw strings. */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { invalidArgument } from '../base/index.ts';
import { FLAVORS, flavorLayout, type Flavor, type FlavorLayout } from './flavor.ts';
import { parseCommand } from './restart.ts';
import { SHIM_BINARY } from './runtime-config.ts';

export const USAGE = `usage: zeropod-installer [--uninstall] [options]
  --flavor containerd|k3s|rke2   which containerd (default containerd)
  --config PATH                  containerd's config (default: the flavor's, e.g. /etc/containerd/config.toml)
  --containerd-binary PATH       containerd's binary (default: the flavor's usual places)
  --host-root DIR                where the host's / is mounted (default /; /host in the DaemonSet)
  --opt-dir PATH                 where the runtime goes on the host (default /opt/zeropod)
  --skip-runtime-copy            leave the runtime files alone (they are in place already)
  --runtime-path PATH            the shim containerd runs (default <opt-dir>/bin/${SHIM_BINARY})
  --node PATH --criu PATH --nft PATH --bundle-dir DIR --patchelf PATH
                                 what to copy (default: this installer's node and bundle, criu and nft on PATH)
  --restart-command "CMD ARGS"   restarts containerd (default: systemctl where the host runs systemd)
  --systemctl PATH               the systemctl to use (default systemctl)
  --no-restart                   do not restart containerd
  --timeout SECONDS              bound for the whole run (default 120)`;

export interface InstallerOptions {
  action: 'install' | 'uninstall' | 'help';
  layout: FlavorLayout;
  containerdBinary?: string;
  hostRoot: string;
  optDir: string;
  runtimePath: string;
  copyRuntime: boolean;
  sources: { node?: string; criu?: string; nft?: string; dist?: string; patchelf?: string };
  restartCommand?: string[];
  systemctl?: string;
  noRestart: boolean;
  timeoutMs: number;
}

const absolute = (value: string | undefined, flag: string): string | undefined => {
  if (value === undefined) return undefined;
  if (!path.isAbsolute(value))
    throw invalidArgument(`${flag} must be an absolute path, got "${value}"`, { details: { flag } });
  return path.normalize(value);
};

export function compileOptions(argv: string[]): InstallerOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        uninstall: { type: 'boolean' },
        help: { type: 'boolean' },
        flavor: { type: 'string' },
        config: { type: 'string' },
        'containerd-binary': { type: 'string' },
        'host-root': { type: 'string' },
        'opt-dir': { type: 'string' },
        'skip-runtime-copy': { type: 'boolean' },
        'runtime-path': { type: 'string' },
        node: { type: 'string' },
        criu: { type: 'string' },
        nft: { type: 'string' },
        'bundle-dir': { type: 'string' },
        patchelf: { type: 'string' },
        'restart-command': { type: 'string' },
        systemctl: { type: 'string' },
        'no-restart': { type: 'boolean' },
        timeout: { type: 'string' },
      },
    }));
  } catch (err) {
    throw invalidArgument('bad flags (zeropod-installer --help lists them)', { cause: err });
  }
  const flavor = values.flavor ?? 'containerd';
  if (!(FLAVORS as readonly string[]).includes(flavor)) {
    throw invalidArgument(`--flavor must be one of ${FLAVORS.join(', ')}, got "${flavor}"`, {
      details: { flag: '--flavor' },
    });
  }
  const base = flavorLayout(flavor as Flavor);
  const config = absolute(values.config, '--config');
  // A config elsewhere keeps the flavor's template names, beside it.
  const layout: FlavorLayout =
    config === undefined
      ? base
      : {
          ...base,
          config,
          ...(base.template === undefined
            ? {}
            : {
                template: {
                  2: path.join(path.dirname(config), path.basename(base.template[2])),
                  3: path.join(path.dirname(config), path.basename(base.template[3])),
                },
              }),
        };
  const optDir = absolute(values['opt-dir'], '--opt-dir') ?? '/opt/zeropod';
  const timeout = values.timeout === undefined ? 120 : Number(values.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0) {
    throw invalidArgument(`--timeout must be a positive number of seconds, got "${values.timeout}"`, {
      details: { flag: '--timeout' },
    });
  }
  const containerdBinary = absolute(values['containerd-binary'], '--containerd-binary');
  const node = absolute(values.node, '--node');
  const criu = absolute(values.criu, '--criu');
  const nft = absolute(values.nft, '--nft');
  const dist = absolute(values['bundle-dir'], '--bundle-dir');
  return {
    action: values.help === true ? 'help' : values.uninstall === true ? 'uninstall' : 'install',
    layout,
    ...(containerdBinary === undefined ? {} : { containerdBinary }),
    hostRoot: absolute(values['host-root'], '--host-root') ?? '/',
    optDir,
    runtimePath: absolute(values['runtime-path'], '--runtime-path') ?? `${optDir}/bin/${SHIM_BINARY}`,
    copyRuntime: values['skip-runtime-copy'] !== true,
    sources: {
      ...(node === undefined ? {} : { node }),
      ...(criu === undefined ? {} : { criu }),
      ...(nft === undefined ? {} : { nft }),
      ...(dist === undefined ? {} : { dist }),
      ...(values.patchelf === undefined ? {} : { patchelf: values.patchelf }),
    },
    ...(values['restart-command'] === undefined
      ? {}
      : { restartCommand: parseCommand(values['restart-command'], '--restart-command') }),
    ...(values.systemctl === undefined ? {} : { systemctl: values.systemctl }),
    noRestart: values['no-restart'] === true,
    timeoutMs: timeout * 1000,
  };
}
