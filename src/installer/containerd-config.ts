/**
 * containerd's config file, compiled once into what the installer needs: its version, its imports
 * and the CRI runtimes it defines. containerd 1.x reads `version = 2` (CRI plugin
 * `io.containerd.grpc.v1.cri`), containerd 2.x `version = 3` (runtimes under
 * `io.containerd.cri.v1.runtime`); older files without a version are refused, not guessed.
 */
import { parse, TomlError } from 'smol-toml';
import { invalidArgument } from '../base/index.ts';

export type ConfigVersion = 2 | 3;

/** The plugin whose `containerd.runtimes` table holds CRI runtime handlers, by config version. */
export const CRI_RUNTIME_PLUGIN: Record<ConfigVersion, string> = {
  2: 'io.containerd.grpc.v1.cri',
  3: 'io.containerd.cri.v1.runtime',
};

export interface ContainerdConfig {
  version: ConfigVersion;
  imports: string[];
  /** Handler names under the CRI plugin's `containerd.runtimes`. */
  runtimes: string[];
  /** `SystemdCgroup` of the default runtime's options, mirrored so zeropod's pods match kubelet's driver. */
  systemdCgroup?: boolean;
}

type Table = Record<string, unknown>;
const isTable = (v: unknown): v is Table => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses TOML text, naming the file, line and column when it is not TOML. */
export function parseToml(text: string, file: string): Table {
  try {
    return parse(text) as Table;
  } catch (err) {
    if (err instanceof TomlError) {
      const reason = err.message.split('\n')[0]?.replace(/^Invalid TOML document: /, '') ?? 'invalid';
      throw invalidArgument(`${file}: not valid TOML at line ${err.line}, column ${err.column}: ${reason}`, {
        cause: err,
        details: { file, line: err.line, column: err.column },
      });
    }
    throw invalidArgument(`${file}: not valid TOML`, { cause: err, details: { file } });
  }
}

/** A table at a dotted path of keys, or undefined; a non-table in the way is a bad config. */
function tableAt(root: Table, keys: string[], file: string): Table | undefined {
  let cur: Table = root;
  for (const [i, key] of keys.entries()) {
    const next = cur[key];
    if (next === undefined) return undefined;
    if (!isTable(next)) {
      const where = keys.slice(0, i + 1).map((k) => (/^[A-Za-z0-9_-]+$/.test(k) ? k : `'${k}'`));
      throw invalidArgument(`${file}: ${where.join('.')} must be a table`, { details: { file } });
    }
    cur = next;
  }
  return cur;
}

export function readVersion(doc: Table, file: string): ConfigVersion {
  const v = doc['version'];
  if (v === undefined) {
    throw invalidArgument(
      `${file}: no \`version\` key (containerd reads that as version 1, which the installer does not edit); ` +
        'expected `version = 2` (containerd 1.x) or `version = 3` (containerd 2.x); `containerd config migrate` converts older files',
      { details: { file } },
    );
  }
  if (v !== 2 && v !== 3) {
    throw invalidArgument(
      `${file}: \`version = ${String(v)}\` is not supported; expected \`version = 2\` (containerd 1.x) or \`version = 3\` (containerd 2.x)`,
      { details: { file, version: String(v) } },
    );
  }
  return v;
}

export function readImports(doc: Table, file: string): string[] {
  const imports = doc['imports'];
  if (imports === undefined) return [];
  if (!Array.isArray(imports) || !imports.every((i): i is string => typeof i === 'string')) {
    throw invalidArgument(
      `${file}: \`imports\` must be an array of file paths, e.g. imports = ["/etc/containerd/conf.d/*.toml"]`,
      {
        details: { file },
      },
    );
  }
  return imports;
}

/** The CRI runtimes table of a parsed config of the given version (undefined when it has none). */
export function runtimesTable(doc: Table, version: ConfigVersion, file: string): Table | undefined {
  return tableAt(doc, ['plugins', CRI_RUNTIME_PLUGIN[version], 'containerd', 'runtimes'], file);
}

export function compileContainerdConfig(text: string, file: string): ContainerdConfig {
  const doc = parseToml(text, file);
  const version = readVersion(doc, file);
  const imports = readImports(doc, file);
  const runtimes = runtimesTable(doc, version, file) ?? {};
  const cri = tableAt(doc, ['plugins', CRI_RUNTIME_PLUGIN[version], 'containerd'], file) ?? {};
  const defaultName = typeof cri['default_runtime_name'] === 'string' ? cri['default_runtime_name'] : 'runc';
  const def = runtimes[defaultName];
  const options = isTable(def) && isTable(def['options']) ? def['options'] : {};
  const systemd = options['SystemdCgroup'];
  return {
    version,
    imports,
    runtimes: Object.keys(runtimes),
    ...(typeof systemd === 'boolean' ? { systemdCgroup: systemd } : {}),
  };
}
