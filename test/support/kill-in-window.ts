/**
 * Kills the shim's worker while a checkpoint or a restore of one container is being done, or while
 * it runs `runc create` of any container, and says whether the kill really landed inside that
 * window (a test that missed it must not pass).
 *
 *   node --import tsx test/support/kill-in-window.ts checkpoint|restore|create <container id or -> <worker pid file> <timeout ms>
 *
 * Runs as its own process so that it can poll /proc in a tight synchronous loop (the test's event
 * loop stays free to drive the clients that open the window). The window is a runc or criu process
 * naming the container (`runc checkpoint <id>` or `criu dump`, resp. `criu restore` or `runc restore
 * <id>`; a prepared restore's waiter turns into `criu restore` when woken; `runc create` whose parent
 * is the worker, for `create`, whatever the id). Prints one JSON line `{"ready":true}` when it
 * watches, then `{"hit":...}` (with `target`, the runc tool's last argument: the container id).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const [mode, id, workerPidFile, timeoutArg] = process.argv.slice(2);
if (
  (mode !== 'checkpoint' && mode !== 'restore' && mode !== 'create') ||
  !id ||
  !workerPidFile ||
  !/^\d+$/.test(timeoutArg ?? '')
) {
  process.stderr.write(
    'usage: kill-in-window.ts checkpoint|restore|create <container id or -> <worker pid file> <timeout ms>\n',
  );
  process.exit(2);
}
const words = mode === 'checkpoint' ? ['checkpoint', 'dump'] : mode === 'restore' ? ['restore'] : ['create'];

function argvOf(pid: string): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

function ppidOf(pid: string): number {
  try {
    // Field 4 of stat, after the parenthesised command (which may hold spaces).
    return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
  } catch {
    return 0;
  }
}

/** The tool doing the work: argv[0] is runc or criu, one of the mode's words and the id appear. */
function inWindow(argv: string[], pid: string): boolean {
  const tool = path.basename(argv[0] ?? '');
  if (tool !== 'runc' && tool !== 'criu') return false;
  if (!argv.some((a) => words.includes(a))) return false;
  return mode === 'create' ? tool === 'runc' && ppidOf(pid) === worker : argv.some((a) => a.includes(id!));
}

const worker = Number(readFileSync(workerPidFile, 'utf8').trim());
const t0 = Date.now();
const deadline = t0 + Number(timeoutArg);
process.stdout.write(`${JSON.stringify({ ready: true, worker })}\n`);
let found: { pid: string; argv: string[] } | undefined;
while (!found && Date.now() < deadline) {
  for (const d of readdirSync('/proc')) {
    if (d.charCodeAt(0) > 57) continue; // not a pid
    const argv = argvOf(d);
    if (inWindow(argv, d)) {
      found = { pid: d, argv };
      break;
    }
  }
}
if (!found) {
  process.stdout.write(`${JSON.stringify({ hit: false, reason: `no ${mode} seen in ${timeoutArg} ms` })}\n`);
  process.exit(0);
}
process.kill(worker, 'SIGKILL');
const killedAt = Date.now();
// The tool was running when the worker died if it still runs now (the kill came first). `runc
// create` has been re-parented to the keeper by now: its argv alone says it still runs.
const stillThere =
  mode === 'create' ? argvOf(found.pid).includes('create') : inWindow(argvOf(found.pid), found.pid);
process.stdout.write(
  `${JSON.stringify({
    hit: stillThere,
    worker,
    killedAt,
    waitedMs: killedAt - t0,
    tool: `${path.basename(found.argv[0]!)} ${found.argv.find((a) => words.includes(a))}`,
    toolPid: Number(found.pid),
    target: found.argv.at(-1),
  })}\n`,
);
