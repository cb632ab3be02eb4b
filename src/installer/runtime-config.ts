/**
 * The file the installer adds to containerd's `imports`: the `zeropod` CRI runtime handler, in the
 * config version of the file that imports it (containerd migrates each file by its own version, and
 * the plugin that holds runtimes was renamed between 2 and 3).
 */
import { stringify } from 'smol-toml';
import { CRI_RUNTIME_PLUGIN, type ConfigVersion } from './containerd-config.ts';

export const RUNTIME_NAME = 'zeropod';
export const RUNTIME_TYPE = 'io.containerd.zeropod.v2';
export const SHIM_BINARY = 'containerd-shim-zeropod-v2';
/** containerd passes only allow-listed annotations into the OCI spec the shim reads. */
export const ANNOTATIONS = ['zeropod.ctrox.dev/*'];

export interface RuntimeConfigInput {
  version: ConfigVersion;
  /** Host path of the shim executable. */
  runtimePath: string;
  systemdCgroup?: boolean;
}

export function renderRuntimeConfig(input: RuntimeConfigInput): string {
  const runtime: Record<string, unknown> = {
    runtime_type: RUNTIME_TYPE,
    runtime_path: input.runtimePath,
    pod_annotations: ANNOTATIONS,
    container_annotations: ANNOTATIONS,
  };
  if (input.systemdCgroup !== undefined) runtime['options'] = { SystemdCgroup: input.systemdCgroup };
  const doc = {
    version: input.version,
    plugins: {
      [CRI_RUNTIME_PLUGIN[input.version]]: { containerd: { runtimes: { [RUNTIME_NAME]: runtime } } },
    },
  };
  return (
    '# Written by zeropod-installer: the zeropod runtime handler for the CRI.\n' +
    '# `zeropod-installer --uninstall` removes this file and restores the config that imports it.\n' +
    stringify(doc) +
    '\n'
  );
}
