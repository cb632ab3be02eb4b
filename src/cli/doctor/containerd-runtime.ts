/**
 * Does containerd know the zeropod runtime? Reads the config as containerd does: the main file, then
 * each import in order (a `*` in a file name is a glob), later definitions of the runtime replacing
 * earlier ones.
 */
import path from 'node:path';
import { describeError } from '../../base/index.ts';
import {
  compileContainerdConfig,
  CRI_RUNTIME_PLUGIN,
  parseToml,
  RUNTIME_NAME,
  RUNTIME_TYPE,
  SHIM_BINARY,
  type FlavorLayout,
} from '../../installer/index.ts';
import { fail, ok, type Finding } from './finding.ts';

export interface ConfigSource {
  read(path: string): Promise<Buffer | undefined>;
  list(dir: string): Promise<string[]>;
  exists(path: string): Promise<boolean>;
  /** Where containerd would find a shim by name (its PATH). */
  onPath(name: string): Promise<string | undefined>;
}

type Table = Record<string, unknown>;
const isTable = (v: unknown): v is Table => typeof v === 'object' && v !== null && !Array.isArray(v);

async function expandImport(src: ConfigSource, base: string, imp: string): Promise<string[]> {
  const file = path.isAbsolute(imp) ? imp : path.join(path.dirname(base), imp);
  const name = path.basename(file);
  if (!name.includes('*')) return [file];
  const re = new RegExp(
    '^' +
      name
        .split('*')
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*') +
      '$',
  );
  return (await src.list(path.dirname(file)))
    .filter((n) => re.test(n))
    .sort()
    .map((n) => path.join(path.dirname(file), n));
}

const annotationAllowed = (patterns: unknown, key: string) =>
  Array.isArray(patterns) &&
  patterns.some(
    (p) =>
      typeof p === 'string' &&
      new RegExp(
        '^' +
          p
            .split('*')
            .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
            .join('.*') +
          '$',
      ).test(key),
  );

export async function checkContainerdRuntime(src: ConfigSource, layout: FlavorLayout): Promise<Finding[]> {
  const check = 'containerd runtime';
  const install = `run zeropod-installer${layout.flavor === 'containerd' ? '' : ` --flavor ${layout.flavor}`} (or kubectl apply -k config/${layout.flavor === 'containerd' ? 'generic' : layout.flavor})`;
  const raw = await src.read(layout.config);
  if (raw === undefined)
    return [
      fail(check, `${layout.config} not found`, `point --config at containerd's config, or ${install}`),
    ];
  let runtime: Table | undefined;
  let definedIn = '';
  try {
    const main = compileContainerdConfig(raw.toString('utf8'), layout.config);
    const files = [layout.config];
    for (const imp of main.imports) files.push(...(await expandImport(src, layout.config, imp)));
    for (const file of files) {
      const text = file === layout.config ? raw : await src.read(file);
      if (text === undefined)
        return [
          fail(
            check,
            `${layout.config} imports ${file}, which does not exist (containerd will not start)`,
            `restore the file or ${install}`,
          ),
        ];
      const doc = parseToml(text.toString('utf8'), file);
      const version = doc['version'] === 2 || doc['version'] === 3 ? doc['version'] : main.version;
      const rt = (((
        ((doc['plugins'] as Table | undefined)?.[CRI_RUNTIME_PLUGIN[version]] as Table | undefined)?.[
          'containerd'
        ] as Table | undefined
      )?.['runtimes'] as Table | undefined) ?? {})[RUNTIME_NAME];
      if (isTable(rt)) {
        runtime = rt;
        definedIn = file;
      }
    }
  } catch (err) {
    return [fail(check, describeError(err), `fix the config file named above, or ${install}`)];
  }
  if (runtime === undefined)
    return [fail(check, `no "${RUNTIME_NAME}" runtime in ${layout.config} or its imports`, install)];
  const out: Finding[] = [];
  if (runtime['runtime_type'] !== RUNTIME_TYPE) {
    out.push(
      fail(
        check,
        `runtime_type is ${JSON.stringify(runtime['runtime_type'])} in ${definedIn}`,
        `runtime_type = "${RUNTIME_TYPE}" (${install})`,
      ),
    );
  } else {
    out.push(ok(check, `"${RUNTIME_NAME}" (${RUNTIME_TYPE}) in ${definedIn}`));
  }
  for (const key of ['pod_annotations', 'container_annotations'] as const) {
    out.push(
      annotationAllowed(runtime[key], 'zeropod.ctrox.dev/scaledown-duration')
        ? ok(`containerd ${key}`, 'zeropod.ctrox.dev/* passed to the shim')
        : fail(
            `containerd ${key}`,
            `zeropod.ctrox.dev/* annotations are filtered out (${key} = ${JSON.stringify(runtime[key] ?? [])})`,
            `${key} = ["zeropod.ctrox.dev/*"] in ${definedIn}`,
          ),
    );
  }
  const runtimePath = runtime['runtime_path'];
  if (typeof runtimePath === 'string' && runtimePath !== '') {
    out.push(
      (await src.exists(runtimePath))
        ? ok('shim binary', runtimePath)
        : fail(
            'shim binary',
            `runtime_path ${runtimePath} does not exist`,
            `copy the runtime there (${install})`,
          ),
    );
  } else {
    const found = await src.onPath(SHIM_BINARY);
    out.push(
      found !== undefined
        ? ok('shim binary', `${found} (on PATH)`)
        : fail('shim binary', `no runtime_path and no ${SHIM_BINARY} on PATH`, install),
    );
  }
  return out;
}
