/**
 * The soak's options, compiled once at the edge (`npm run soak -- --cycles N --restart-every M`):
 * code past this point sees numbers, never argv strings.
 */
export interface SoakOptions {
  /** Sleep/wake cycles of the redis, each one INCR. */
  cycles: number;
  /** A worker restart after every this many cycles (0: none); SIGKILL of the worker and SIGHUP of the keeper alternate. */
  restartEvery: number;
}

export const SOAK_DEFAULTS: SoakOptions = { cycles: 1000, restartEvery: 100 };

export const SOAK_USAGE = `usage: npm run soak -- [--cycles N] [--restart-every M]
  --cycles N         sleep/wake cycles of one redis, one INCR each (default ${SOAK_DEFAULTS.cycles}; 1-100000)
  --restart-every M  restart the shim's worker every M cycles, SIGKILL of the worker and SIGHUP of the
                     keeper in turn (default ${SOAK_DEFAULTS.restartEvery}; 0 = never)`;

export class SoakUsageError extends Error {}

function count(flag: string, value: string | undefined, min: number, max: number): number {
  if (value === undefined || !/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    const shown = value === undefined ? 'nothing' : JSON.stringify(value.slice(0, 20));
    throw new SoakUsageError(`${flag} takes a whole number from ${min} to ${max}, not ${shown}`);
  }
  return Number(value);
}

/** Parses `--cycles N --restart-every M` (also `--flag=N`); throws SoakUsageError naming the bad part. */
export function parseSoakArgs(argv: readonly string[]): SoakOptions {
  const o = { ...SOAK_DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = eq >= 0 ? arg.slice(0, eq) : arg;
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (flag === '--cycles') o.cycles = count(flag, value, 1, 100_000);
    else if (flag === '--restart-every') o.restartEvery = count(flag, value, 0, 100_000);
    else throw new SoakUsageError(`unknown option ${JSON.stringify(arg.slice(0, 40))}`);
  }
  return o;
}
