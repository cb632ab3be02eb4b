/**
 * The benchmark's options (bench/run.ts checks them on the host before any set-up; bench/suite.ts
 * parses them again inside the environment).
 */
import { WORKLOADS } from './workloads.ts';

export interface Args {
  quick: boolean;
  intoLatest: boolean;
  cleanup: boolean;
  workloads: string[] | undefined;
  density: number;
  runs: number;
  only: Set<string> | undefined;
}

export const ALL_CASES = [
  'wake',
  'concurrent',
  'start',
  'memory',
  'steady',
  'density',
  'keeper',
  'k8s',
  'manager',
];

export const USAGE = `npm run bench [-- options]
  --quick            3 runs: the wake of nginx and redis, the concurrent wake, steady state
  --runs N           runs per measurement (default 10)
  --only a,b         these cases only: ${ALL_CASES.join(', ')}
  --workloads a,b    the wake case's workloads: ${Object.keys(WORKLOADS).join(', ')}
  --density N        pods in the density and manager cases (default 100)
  --into-latest      with --only: replace those cases' figures in latest.json and the doc
  --cleanup          only remove what an interrupted run left
  --help             this text`;

const VALUE_FLAGS = new Set(['--runs', '--only', '--workloads', '--density']);
const BARE_FLAGS = new Set(['--quick', '--into-latest', '--cleanup', '--help']);

/** The options, validated before anything is set up: a bad one is named, with the expected form. */
export function parseArgs(argv: string[]): Args {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (VALUE_FLAGS.has(a)) {
      if (argv[i + 1] === undefined || argv[i + 1]!.startsWith('--')) throw new Error(`${a} takes a value`);
      i++;
    } else if (!BARE_FLAGS.has(a))
      throw new Error(`unknown option ${JSON.stringify(a.slice(0, 40))} (--help lists them)`);
  }
  const quick = argv.includes('--quick');
  const runsAt = argv.indexOf('--runs');
  const onlyAt = argv.indexOf('--only');
  const runs = runsAt >= 0 ? Number(argv[runsAt + 1]) : quick ? 3 : 10;
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs takes a positive integer');
  const only = onlyAt >= 0 ? new Set((argv[onlyAt + 1] ?? '').split(',').filter(Boolean)) : undefined;
  for (const c of only ?? [])
    if (!ALL_CASES.includes(c)) throw new Error(`unknown case ${c} (cases: ${ALL_CASES.join(', ')})`);
  const densityAt = argv.indexOf('--density');
  const density = densityAt >= 0 ? Number(argv[densityAt + 1]) : 100;
  if (!Number.isInteger(density) || density < 1) throw new Error('--density takes a positive integer');
  const wAt = argv.indexOf('--workloads');
  const workloads = wAt >= 0 ? (argv[wAt + 1] ?? '').split(',').filter(Boolean) : undefined;
  for (const w of workloads ?? [])
    if (!(w in WORKLOADS)) throw new Error(`unknown workload ${w} (${Object.keys(WORKLOADS).join(', ')})`);
  const cluster = [...(only ?? [])].filter((c) => c === 'k8s' || c === 'manager');
  if (cluster.length > 0 && cluster.length < (only?.size ?? 0))
    throw new Error(
      'k8s and manager run alone, in the cluster environment (--only k8s[,manager]); kubelet removes CRI-made pods',
    );
  const intoLatest = argv.includes('--into-latest');
  if (intoLatest && !only) throw new Error('--into-latest goes with --only');
  return { quick, intoLatest, cleanup: argv.includes('--cleanup'), runs, only, density, workloads };
}
