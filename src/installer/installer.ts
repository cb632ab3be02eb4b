/**
 * One run of the installer:
 *   install:   runtime files -> containerd config -> restart containerd (only when the config changed)
 *   uninstall: containerd config restored -> restart containerd -> runtime files removed
 * The runtime files come first on install so that containerd never knows a runtime whose binary is
 * missing, and go last on uninstall for the same reason.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../base/index.ts';
import {
  applyInstall,
  planInstall,
  uninstall,
  type ConfigChange,
  type ConfigureOptions,
} from './configure.ts';
import { HostFiles } from './host-files.ts';
import type { InstallerOptions } from './options.ts';
import { chooseRestart, restartContainerd, type RunTool } from './restart.ts';
import { copyRuntime, removeRuntime } from './runtime-files.ts';
import { procDeps, signalUpgrade, type UpgradeDeps } from './upgrade-signal.ts';

export interface InstallerDeps {
  run: RunTool;
  log: Logger;
  /** This installer's own bundle directory and node binary: the default sources of the runtime. */
  selfDist: string;
  execPath: string;
  /** How running shims are found and signalled (tests replace it). */
  procs?: UpgradeDeps;
}

export interface InstallerReport {
  config: ConfigChange;
  runtimeFiles?: { written: number; unchanged: number } | 'removed' | 'absent';
  restarted?: string;
  /** containerd namespaces whose running shim was told to move to the new files (SIGHUP). */
  upgraded?: string[];
}

function onPath(name: string): string {
  for (const dir of (process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this directory
    }
  }
  return `/usr/sbin/${name}`;
}

export async function runInstaller(o: InstallerOptions, deps: InstallerDeps): Promise<InstallerReport> {
  const { run, log } = deps;
  const signal = AbortSignal.timeout(o.timeoutMs);
  const files = new HostFiles(o.hostRoot);
  const configure: ConfigureOptions = {
    files,
    layout: o.layout,
    runtimePath: o.runtimePath,
    ...(o.containerdBinary === undefined ? {} : { containerdBinary: o.containerdBinary }),
    log,
  };
  // Decided before any change: a host where containerd cannot be restarted is refused up front.
  const method = chooseRestart({
    hostHasSystemd: await files.exists('/run/systemd/system'),
    units: o.layout.units,
    noRestart: o.noRestart,
    ...(o.restartCommand === undefined ? {} : { command: o.restartCommand }),
    ...(o.systemctl === undefined ? {} : { systemctl: o.systemctl }),
  });
  const report: InstallerReport = { config: { kind: 'not-installed' } };

  if (o.action === 'install') {
    // Every check of the config first: a bad config stops the run before a file is copied.
    const plan = await planInstall(configure);
    if (o.copyRuntime) {
      const dist = o.sources.dist ?? deps.selfDist;
      const r = await copyRuntime({
        files,
        optDir: o.optDir,
        sources: {
          node: o.sources.node ?? deps.execPath,
          criu: o.sources.criu ?? onPath('criu'),
          nft: o.sources.nft ?? onPath('nft'),
          dist,
          nodeModules: path.join(path.dirname(dist), 'node_modules'),
        },
        run,
        ...(o.sources.patchelf === undefined ? {} : { patchelf: o.sources.patchelf }),
        signal,
        log,
      });
      report.runtimeFiles = { written: r.written.length, unchanged: r.unchanged };
    }
    report.config = await applyInstall(plan, configure);
  } else {
    report.config = await uninstall(configure);
  }

  if (report.config.kind !== 'unchanged' && report.config.kind !== 'not-installed') {
    const restarted = await restartContainerd(method, run, signal, log);
    if (restarted !== undefined) report.restarted = restarted;
  }
  // New runtime files under a running shim: its keeper starts a worker from them, no pod restarts.
  if (o.action === 'install' && typeof report.runtimeFiles === 'object' && report.runtimeFiles.written > 0) {
    const up = await signalUpgrade(files, log, deps.procs ?? procDeps);
    if (up.signalled.length > 0) report.upgraded = up.signalled;
  }
  if (o.action === 'uninstall' && o.copyRuntime) {
    report.runtimeFiles = (await removeRuntime(files, o.optDir, log)) ? 'removed' : 'absent';
  }
  return report;
}
