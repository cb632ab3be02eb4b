/**
 * `npm run bench [-- --quick | --only a,b | --runs N]`: makes sure everything is set up (host
 * packages and npm dependencies, the shim bundle, the node environment with its images), then runs
 * bench/suite.ts inside the environment, which prints the table and writes the results.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(fileURLToPath(import.meta.url), '../..');

function step(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`bench: \`${cmd} ${args.join(' ')}\` failed (${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
}

step('bash', ['scripts/setup.sh']);
step('node', ['scripts/build.mjs']);
step('npx', ['tsx', 'harness/cli.ts', 'up']);
const r = spawnSync(
  'npx',
  [
    'tsx',
    'harness/cli.ts',
    'exec',
    '--',
    'node',
    '--import',
    'tsx',
    'bench/suite.ts',
    ...process.argv.slice(2),
  ],
  { cwd: root, stdio: 'inherit' },
);
process.exit(r.status ?? 1);
