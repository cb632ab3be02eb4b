/**
 * The shim's command line, as containerd invokes it (runtime v2): `[flags] start|delete`, or flags
 * alone for the long-running daemon that `start` spawns. Parsed once into a typed config.
 */
import { invalidArgument, quoteValue } from '../base/index.ts';

export type ShimAction = 'start' | 'delete' | 'serve' | 'version' | 'info';

export interface ShimFlags {
  action: ShimAction;
  namespace: string;
  id: string;
  /** containerd's main gRPC socket. */
  address: string;
  publishBinary: string;
  /** The bundle directory: `-bundle`, else the working directory containerd started us in. */
  bundle: string;
  debug: boolean;
}

const valueFlags = new Set(['namespace', 'id', 'address', 'publish-binary', 'bundle', 'socket']);
const boolFlags = new Set(['debug', 'v', 'version', 'info']);

export function parseFlags(argv: readonly string[], cwd: string): ShimFlags {
  const values = new Map<string, string>();
  const bools = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) {
      positional.push(arg);
      continue;
    }
    const [rawName, inline] = arg.replace(/^--?/, '').split(/=(.*)/s, 2) as [string, string | undefined];
    if (boolFlags.has(rawName)) {
      if (inline === undefined || inline === 'true') bools.add(rawName);
      continue;
    }
    if (!valueFlags.has(rawName))
      throw invalidArgument(`unknown flag -${rawName}`, { details: { flag: rawName } });
    const value = inline ?? argv[++i];
    if (value === undefined)
      throw invalidArgument(`flag -${rawName} needs a value`, { details: { flag: rawName } });
    values.set(rawName, value);
  }
  let action: ShimAction = 'serve';
  if (bools.has('v') || bools.has('version')) action = 'version';
  else if (bools.has('info')) action = 'info';
  else if (positional[0] === 'start' || positional[0] === 'delete') action = positional[0];
  else if (positional.length > 0) {
    throw invalidArgument(`unknown action ${quoteValue(positional[0]!)}: expected start or delete`, {
      details: { action: quoteValue(positional[0]!) },
    });
  }
  const flags: ShimFlags = {
    action,
    namespace: values.get('namespace') ?? process.env['NAMESPACE'] ?? '',
    id: values.get('id') ?? '',
    address: values.get('address') ?? '',
    publishBinary: values.get('publish-binary') ?? '',
    bundle: values.get('bundle') ?? cwd,
    debug: bools.has('debug'),
  };
  if (action === 'start' || action === 'delete' || action === 'serve') {
    for (const [name, v] of [
      ['namespace', flags.namespace],
      ['id', flags.id],
    ] as const) {
      if (v === '')
        throw invalidArgument(`flag -${name} is required for ${action}`, { details: { flag: name } });
    }
  }
  return flags;
}

/** The flags to hand the daemon: the same, minus the action. */
export function daemonArgv(flags: ShimFlags): string[] {
  const argv = ['-namespace', flags.namespace, '-id', flags.id, '-address', flags.address];
  if (flags.publishBinary) argv.push('-publish-binary', flags.publishBinary);
  if (flags.debug) argv.push('-debug');
  return argv;
}
