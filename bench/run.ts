/**
 * `npm run bench [-- --quick | --only a,b | --runs N]`: makes sure everything is set up (host
 * packages and npm dependencies, the shim bundle, the node environment with its images), then runs
 * bench/suite.ts inside the environment, which prints the table and writes the results. Without
 * --only, a second phase restarts the environment with its Kubernetes cluster and runs the k8s case
 * (through kubelet), merged into the same results; `--only k8s` runs that phase alone.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, USAGE } from './lib/args.ts';

const root = path.resolve(fileURLToPath(import.meta.url), '../..');

function step(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`bench: \`${cmd} ${args.join(' ')}\` failed (${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
}

const argv = process.argv.slice(2);
if (argv.includes('--help')) {
  console.log(USAGE);
  process.exit(0);
}
try {
  parseArgs(argv); // before any set-up: a typo must not start a half-hour run
} catch (err) {
  console.error(`bench: ${(err as Error).message}`);
  process.exit(2);
}

step('bash', ['scripts/setup.sh']);
step('node', ['scripts/build.mjs']);
const suite = (args: string[]) =>
  spawnSync(
    'npx',
    ['tsx', 'harness/cli.ts', 'exec', '--', 'node', '--import', 'tsx', 'bench/suite.ts', ...args],
    {
      cwd: root,
      stdio: 'inherit',
    },
  ).status ?? 1;

const onlyAt = argv.indexOf('--only');
const only = onlyAt >= 0 ? (argv[onlyAt + 1] ?? '').split(',') : undefined;
if (only?.includes('k8s') || only?.includes('manager')) {
  step('npx', ['tsx', 'harness/cli.ts', 'up', '--k8s']);
  process.exit(suite(argv));
}
step('npx', ['tsx', 'harness/cli.ts', 'up']);
const first = suite(argv);
if (only !== undefined) process.exit(first);
step('npx', ['tsx', 'harness/cli.ts', 'up', '--k8s']);
const keep = argv.filter((a) => a === '--quick' || a === '--runs' || /^\d+$/.test(a));
const second = suite([...keep, '--only', 'k8s', ...(argv.includes('--quick') ? [] : ['--into-latest'])]);
process.exit(first !== 0 ? first : second);
