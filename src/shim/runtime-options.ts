/**
 * The runtime options containerd hands a task (CreateTaskRequest.options): what the runtime's
 * `options` table in containerd's config.toml says, e.g.
 *
 *   [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.zeropod.options]
 *     SystemdCgroup = true
 *
 * containerd's CRI decodes that table by the runtime's type: for `io.containerd.runc.v2` into
 * runc's options message (containerd.runc.v1.Options); for any other type, ours among them, into
 * the generic runtimeoptions.v1.Options, whose config_body carries the table itself as TOML (or
 * config_path names a TOML file). Both arrive here as an Any; the fields this shim uses are
 * compiled into RuntimeOptions once, at the edge.
 */
import { readFileSync } from 'node:fs';
import { fromBinary } from '@bufbuild/protobuf';
import { parse as parseToml } from 'smol-toml';
import { invalidArgument } from '../base/index.ts';
import { OptionsSchema as RuncOptionsSchema } from '../gen/github.com/containerd/containerd/api/types/runc/options/oci_pb.js';
import { OptionsSchema as GenericOptionsSchema } from '../gen/github.com/containerd/containerd/api/types/runtimeoptions/v1/api_pb.js';

export interface RuntimeOptions {
  /** runc manages the container's cgroups through systemd (`runc --systemd-cgroup`). */
  systemdCgroup: boolean;
}

export const DEFAULT_RUNTIME_OPTIONS: RuntimeOptions = { systemdCgroup: false };

/** The message name of an Any's type URL (with or without a `type.googleapis.com/` host part). */
const messageName = (typeUrl: string): string => typeUrl.slice(typeUrl.lastIndexOf('/') + 1);

/**
 * CreateTaskRequest.options -> RuntimeOptions. No options (containerd sends none when the table is
 * absent) are the defaults; an options message of another runtime is refused, not ignored.
 */
export function parseRuntimeOptions(
  any: { typeUrl: string; value: Uint8Array } | undefined,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): RuntimeOptions {
  if (any === undefined || (any.typeUrl === '' && any.value.length === 0)) return DEFAULT_RUNTIME_OPTIONS;
  const name = messageName(any.typeUrl);
  if (name === 'containerd.runc.v1.Options') {
    return { systemdCgroup: fromBinary(RuncOptionsSchema, any.value).systemdCgroup };
  }
  if (name === 'runtimeoptions.v1.Options') {
    const generic = fromBinary(GenericOptionsSchema, any.value);
    const where = generic.configPath || 'the runtime options (config_body)';
    const text = generic.configPath
      ? readConfig(generic.configPath, readFile)
      : new TextDecoder().decode(generic.configBody);
    return fromToml(text, where);
  }
  throw invalidArgument(
    `unsupported runtime options type ${JSON.stringify(any.typeUrl)}: expected containerd.runc.v1.Options or runtimeoptions.v1.Options`,
    { details: { typeUrl: any.typeUrl } },
  );
}

function readConfig(file: string, readFile: (path: string) => string): string {
  try {
    return readFile(file);
  } catch (err) {
    throw invalidArgument(`cannot read the runtime options file ${file} (config_path)`, {
      cause: err,
      details: { path: file },
    });
  }
}

/** The runtime's options table as containerd's TOML writer renders it (`SystemdCgroup = true`). */
export function fromToml(text: string, where: string): RuntimeOptions {
  let table: Record<string, unknown>;
  try {
    table = parseToml(text);
  } catch (err) {
    throw invalidArgument(`${where} is not TOML`, { cause: err });
  }
  const systemd = table['SystemdCgroup'];
  if (systemd !== undefined && typeof systemd !== 'boolean')
    throw invalidArgument(`${where}: SystemdCgroup must be true or false, got ${JSON.stringify(systemd)}`);
  return { systemdCgroup: systemd === true };
}
