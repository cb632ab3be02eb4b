/**
 * src/shim's cgroup code against the real kernel, whichever version it runs: v1 in the node
 * environment, v2 in the VM (harness/vm). Cgroups this test creates (and removes) next to its own,
 * with processes it starts in them: found from the process, frozen and thawed through their files,
 * and an emptied memory cgroup's page cache reclaimed. Needs root; skipped with a reason otherwise.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cgroupDirsOf, cgroupVersion } from '../../src/shim/cgroups.ts';
import { isFrozen, reclaimMemory, setFrozen } from '../../src/shim/cgroup-control.ts';

const skip = process.getuid?.() === 0 ? false : 'needs root: creates cgroups';
const version = cgroupVersion();
const name = `zpt-cgroup-${process.pid}`;
const own = skip === false ? cgroupDirsOf(process.pid) : new Map<string, string>();
/** v1: one directory per hierarchy used; v2: the one unified directory (its parent: ours). */
const dirs = {
  memory: path.join(own.get('memory') ?? '/nonexistent', name),
  freezer: path.join(own.get('freezer') ?? '/nonexistent', name),
};
const scratch = `/var/tmp/${name}`;
const children: ChildProcess[] = [];

if (skip === false) for (const d of new Set(Object.values(dirs))) mkdirSync(d, { recursive: true });
after(async () => {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await once(c, 'exit');
    }
  }
  rmSync(scratch, { force: true });
  for (const d of new Set(Object.values(dirs))) if (existsSync(d)) rmdirSync(d);
});

/** A shell that joins the test's cgroups first, then runs `script`. */
function inCgroups(script: string): ChildProcess {
  const join = [...new Set(Object.values(dirs))].map((d) => `echo $$ > ${d}/cgroup.procs`).join(' && ');
  const c = spawn('sh', ['-c', `${join} && ${script}`], { stdio: 'ignore' });
  children.push(c);
  return c;
}

async function until(what: string, probe: () => boolean): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (probe()) return;
    await sleep(50);
  }
  assert.fail(`not within 5 s: ${what}`);
}

test(
  `v${version}: a process is found in the cgroups it joined, then frozen and thawed by file`,
  { skip },
  async () => {
    const c = inCgroups('exec sleep 60');
    await until('the shell joined', () => cgroupDirsOf(c.pid!).get('memory') === dirs.memory);
    assert.equal(cgroupDirsOf(c.pid!).get('freezer'), dirs.freezer);
    assert.equal(isFrozen(dirs.freezer), false);

    setFrozen(dirs.freezer, true);
    await until('frozen', () => isFrozen(dirs.freezer));
    setFrozen(dirs.freezer, false);
    await until('thawed', () => !isFrozen(dirs.freezer));
    c.kill('SIGTERM');
    const [, signal] = (await once(c, 'exit', { signal: AbortSignal.timeout(5000) })) as [
      number | null,
      string | null,
    ];
    assert.equal(signal, 'SIGTERM', 'thawed: the signal was handled at once');
  },
);

test(`v${version}: an emptied memory cgroup's page cache is reclaimed`, { skip }, async () => {
  const usage = () =>
    Number(
      readFileSync(
        path.join(dirs.memory, version === 2 ? 'memory.current' : 'memory.usage_in_bytes'),
        'utf8',
      ),
    );
  const c = inCgroups(`head -c 8388608 /dev/urandom > ${scratch} && sync`);
  const [code] = (await once(c, 'exit', { signal: AbortSignal.timeout(30_000) })) as [number | null];
  assert.equal(code, 0);
  const before = usage();
  assert.ok(before >= 8 * 2 ** 20, `the written file's pages are charged: ${before} bytes`);
  reclaimMemory(dirs.memory);
  const afterReclaim = usage();
  assert.ok(afterReclaim < before / 2, `reclaimed: ${before} -> ${afterReclaim} bytes`);
  writeFileSync(scratch, ''); // its pages go; the file itself in after()
});
