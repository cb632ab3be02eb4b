/**
 * Adds the zeropod runtime to containerd's config through an `imports` file, and takes it out again.
 *
 * install: config (or the k3s/rke2 template) --backup--> <target>.zeropod-backup
 *          + zeropod-runtime.toml beside the config, + its path in the target's `imports`,
 *          + zeropod-installer.json (what was done, so that uninstall can undo exactly that)
 * uninstall: the backup's bytes back into the target (or the target removed when the installer
 *          created it), the runtime file and the record removed.
 *
 * Every check runs before the first write; a write that fails undoes the ones before it.
 */
import path from 'node:path';
import { failedPrecondition, invalidArgument, notFound, type Logger } from '../base/index.ts';
import { compileContainerdConfig, type ContainerdConfig } from './containerd-config.ts';
import { withImport } from './edit-imports.ts';
import { isGoTemplate, templateImports, withTemplateImport } from './go-template.ts';
import type { FlavorLayout } from './flavor.ts';
import { sha256, type HostFiles } from './host-files.ts';
import { renderRuntimeConfig, RUNTIME_NAME } from './runtime-config.ts';

export const BACKUP_SUFFIX = '.zeropod-backup';
export const IMPORT_FILE = 'zeropod-runtime.toml';
export const RECORD_FILE = 'zeropod-installer.json';

export interface ConfigureOptions {
  files: HostFiles;
  layout: FlavorLayout;
  /** Host path of the shim containerd runs for the zeropod handler. */
  runtimePath: string;
  /** A containerd binary (host path) instead of the flavor's usual places. */
  containerdBinary?: string;
  log: Logger;
}

export type ConfigChange =
  | { kind: 'unchanged'; target: string }
  | { kind: 'installed'; target: string; importFile: string; backup?: string }
  | { kind: 'updated'; target: string; importFile: string }
  | { kind: 'uninstalled'; target: string; restored: 'backup' | 'removed' }
  | { kind: 'not-installed' };

/** What install did, kept beside the config. */
export interface InstallRecord {
  target: string;
  importFile: string;
  /** Whether the target existed before (a k3s/rke2 template often does not). */
  existed: boolean;
  backup?: string;
  backupSha256?: string;
}

function paths(layout: FlavorLayout) {
  const dir = path.dirname(layout.config);
  return { importFile: path.join(dir, IMPORT_FILE), record: path.join(dir, RECORD_FILE) };
}

async function readConfig(o: ConfigureOptions): Promise<{ text: string; config: ContainerdConfig }> {
  const { files, layout } = o;
  const raw = await files.read(layout.config);
  if (raw === undefined) {
    const hint =
      layout.flavor === 'containerd'
        ? '`containerd config default > /etc/containerd/config.toml` writes one'
        : `${layout.flavor} writes it when it starts: start ${layout.flavor} once first`;
    throw notFound(
      `containerd config ${layout.config} not found; expected containerd's config file there (${hint}), or pass --config PATH`,
      {
        details: { file: layout.config },
      },
    );
  }
  const text = raw.toString('utf8');
  return { text, config: compileContainerdConfig(text, layout.config) };
}

async function requireBinary(o: ConfigureOptions): Promise<string> {
  const candidates = o.containerdBinary !== undefined ? [o.containerdBinary] : o.layout.binaries;
  for (const c of candidates) if (await o.files.exists(c)) return c;
  throw notFound(
    `containerd binary not found (looked for ${candidates.join(', ')}); expected ${o.layout.flavor} installed on this host, or pass --containerd-binary PATH`,
    { details: { candidates } },
  );
}

async function readRecord(o: ConfigureOptions): Promise<InstallRecord | undefined> {
  const { record } = paths(o.layout);
  const raw = await o.files.read(record);
  if (raw === undefined) return undefined;
  try {
    const r = JSON.parse(raw.toString('utf8')) as InstallRecord;
    if (typeof r.target !== 'string' || typeof r.importFile !== 'string' || typeof r.existed !== 'boolean')
      throw new TypeError('missing fields');
    return r;
  } catch (err) {
    throw failedPrecondition(
      `${record}: not an install record of zeropod-installer; expected JSON with target, importFile, existed (remove it only if zeropod is not installed)`,
      {
        cause: err,
        details: { file: record },
      },
    );
  }
}

/** What install will do, decided with every check done and nothing written yet. */
export type InstallPlan =
  | { kind: 'unchanged'; target: string }
  | { kind: 'update'; target: string; importFile: string; wanted: string }
  | {
      kind: 'fresh';
      target: string;
      importFile: string;
      wanted: string;
      edited: string;
      /** The target's bytes before, when it existed (they become the backup). */
      before?: Buffer;
      record: InstallRecord;
    };

async function refuseSymlink(files: HostFiles, file: string): Promise<void> {
  if (await files.isSymlink(file)) {
    throw invalidArgument(
      `${file} is a symbolic link; expected a regular file (pass --config with the file it points to)`,
      { details: { file } },
    );
  }
}

export async function planInstall(o: ConfigureOptions): Promise<InstallPlan> {
  const { files, layout } = o;
  await requireBinary(o);
  await refuseSymlink(files, layout.config);
  const { text: configText, config } = await readConfig(o);
  const { importFile, record: recordFile } = paths(layout);
  const target = layout.template?.[config.version] ?? layout.config;
  const wanted = renderRuntimeConfig({
    version: config.version,
    runtimePath: o.runtimePath,
    ...(config.systemdCgroup === undefined ? {} : { systemdCgroup: config.systemdCgroup }),
  });

  const record = await readRecord(o);
  if (record !== undefined) {
    // Installed before: the target must still import our file; only the runtime file may be stale.
    const current = (await files.read(record.target))?.toString('utf8');
    const imports =
      current === undefined
        ? []
        : isGoTemplate(current)
          ? templateImports(current, record.target)
          : compileContainerdConfig(current, record.target).imports;
    if (!imports.includes(record.importFile)) {
      throw failedPrecondition(
        `${record.target} no longer imports ${record.importFile} although ${recordFile} says zeropod was installed; ` +
          'expected the installed config: run `zeropod-installer --uninstall` (restores the backup) and install again',
        { details: { target: record.target } },
      );
    }
    const have = (await files.read(record.importFile))?.toString('utf8');
    if (have === wanted) return { kind: 'unchanged', target: record.target };
    return { kind: 'update', target: record.target, importFile: record.importFile, wanted };
  }

  if (config.runtimes.includes(RUNTIME_NAME)) {
    throw failedPrecondition(
      `${layout.config} already defines the CRI runtime "${RUNTIME_NAME}" (not through zeropod-installer); ` +
        `expected no such runtime: remove its table from the config, or leave the config as it is and do not run the installer`,
      { details: { file: layout.config } },
    );
  }
  if (target !== layout.config) await refuseSymlink(files, target);
  const before = target === layout.config ? Buffer.from(configText, 'utf8') : await files.read(target);
  const baseText = before?.toString('utf8') ?? configText;
  let edited: string;
  if (target !== layout.config && before !== undefined && isGoTemplate(baseText)) {
    edited = withTemplateImport(baseText, importFile, config.imports, target);
  } else {
    if (target !== layout.config && before !== undefined) {
      if (compileContainerdConfig(baseText, target).runtimes.includes(RUNTIME_NAME)) {
        throw failedPrecondition(
          `${target} already defines the CRI runtime "${RUNTIME_NAME}"; expected no such runtime`,
          { details: { file: target } },
        );
      }
    }
    edited = withImport(baseText, importFile, target);
  }
  const backup = before === undefined ? undefined : target + BACKUP_SUFFIX;
  return {
    kind: 'fresh',
    target,
    importFile,
    wanted,
    edited,
    ...(before === undefined ? {} : { before }),
    record: {
      target,
      importFile,
      existed: before !== undefined,
      ...(backup === undefined || before === undefined ? {} : { backup, backupSha256: sha256(before) }),
    },
  };
}

export async function applyInstall(plan: InstallPlan, o: ConfigureOptions): Promise<ConfigChange> {
  const { files, layout, log } = o;
  switch (plan.kind) {
    case 'unchanged':
      log.info('runtime already configured', { target: plan.target });
      return { kind: 'unchanged', target: plan.target };
    case 'update':
      await files.write(plan.importFile, plan.wanted, { mode: 0o644 });
      log.info('runtime config updated', { importFile: plan.importFile });
      return { kind: 'updated', target: plan.target, importFile: plan.importFile };
    case 'fresh':
      break;
  }
  const { target, importFile, before, record } = plan;
  const backup = record.backup;
  const undo: Array<() => Promise<void>> = [];
  try {
    if (backup !== undefined && before !== undefined) {
      await files.write(backup, before, { like: target });
      undo.push(() => files.remove(backup));
    }
    await files.write(paths(layout).record, JSON.stringify(record, null, 2) + '\n', { mode: 0o644 });
    undo.push(() => files.remove(paths(layout).record));
    await files.write(importFile, plan.wanted, { mode: 0o644 });
    undo.push(() => files.remove(importFile));
    // The target last: until it imports the runtime file, containerd sees nothing of zeropod.
    await files.write(target, plan.edited, before === undefined ? { like: layout.config } : { like: target });
  } catch (err) {
    for (const u of undo.reverse()) await u().catch(() => {});
    throw err;
  }
  log.info('runtime installed', { target, importFile, ...(backup === undefined ? {} : { backup }) });
  return { kind: 'installed', target, importFile, ...(backup === undefined ? {} : { backup }) };
}

export async function install(o: ConfigureOptions): Promise<ConfigChange> {
  return applyInstall(await planInstall(o), o);
}

export async function uninstall(o: ConfigureOptions): Promise<ConfigChange> {
  const { files, log } = o;
  const record = await readRecord(o);
  if (record === undefined) {
    log.info('runtime not installed: nothing to restore', { record: paths(o.layout).record });
    return { kind: 'not-installed' };
  }
  let restored: 'backup' | 'removed';
  if (record.existed) {
    const backup = record.backup === undefined ? undefined : await files.read(record.backup);
    if (record.backup === undefined || backup === undefined || sha256(backup) !== record.backupSha256) {
      throw failedPrecondition(
        `the backup ${record.backup ?? '(none recorded)'} of ${record.target} is missing or not the one the installer wrote; ` +
          `expected the original config there: restore ${record.target} by hand, then remove ${record.importFile} and ${paths(o.layout).record}`,
        { details: { target: record.target } },
      );
    }
    await files.write(record.target, backup, { like: record.backup });
    await files.remove(record.backup);
    restored = 'backup';
  } else {
    await files.remove(record.target);
    restored = 'removed';
  }
  await files.remove(record.importFile);
  await files.remove(paths(o.layout).record);
  log.info('runtime uninstalled', { target: record.target, restored });
  return { kind: 'uninstalled', target: record.target, restored };
}
