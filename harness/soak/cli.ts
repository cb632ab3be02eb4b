/**
 * `npm run soak [-- --cycles N --restart-every M]`: validates the options here, builds the shim,
 * brings the node environment up and runs the soak inside it (harness/soak/inside.ts).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSoakArgs, SoakUsageError, SOAK_USAGE } from './options.ts';

const root = path.resolve(fileURLToPath(import.meta.url), '../../..');
const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(SOAK_USAGE);
  process.exit(0);
}
let o;
try {
  o = parseSoakArgs(argv);
} catch (err) {
  if (!(err instanceof SoakUsageError)) throw err;
  console.error(`soak: ${err.message}\n${SOAK_USAGE}`);
  process.exit(2);
}

function step(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`soak: \`${cmd} ${args.join(' ')}\` failed (${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
}
step('node', ['scripts/build.mjs']);
step('npx', ['tsx', 'harness/cli.ts', 'up']);
const inside = ['--cycles', String(o.cycles), '--restart-every', String(o.restartEvery)];
const r = spawnSync(
  'npx',
  ['tsx', 'harness/cli.ts', 'exec', '--', 'node', '--import', 'tsx', 'harness/soak/inside.ts', ...inside],
  { cwd: root, stdio: 'inherit' },
);
process.exit(r.status ?? 1);
