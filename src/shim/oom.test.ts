import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OomWatcher, parseOomKills, readOomKills } from './oom.ts';

const testdata = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata');
const V1_MEMORY = path.join(testdata, 'cgroup-v1/memory/pod1/c1');
const V2_DIR = path.join(testdata, 'cgroup-v2/pod1/c1');

test('the counter comes from memory.oom_control on v1 and memory.events on v2', () => {
  assert.equal(readOomKills(V1_MEMORY, 1), 2);
  assert.equal(readOomKills(V2_DIR, 2), 1);
  assert.equal(readOomKills(V2_DIR, 1), 0, 'a v2 directory has no memory.oom_control');
  assert.equal(readOomKills(undefined, 2), 0);
  assert.equal(parseOomKills('low 0\nhigh 0\nmax 3\noom 2\noom_kill 2\noom_group_kill 1\n'), 2);
  assert.equal(parseOomKills('oom_group_kill 5\n'), 0, 'only the oom_kill line counts');
});

for (const version of [1, 2] as const) {
  test(`v${version}: one TaskOOM per new kill, none for kills counted before the watch`, (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), `oom-v${version}-`));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    cpSync(version === 1 ? V1_MEMORY : V2_DIR, dir, { recursive: true });
    const file = path.join(dir, version === 1 ? 'memory.oom_control' : 'memory.events');
    const bump = (n: number) =>
      writeFileSync(file, readFileSync(file, 'utf8').replace(/^oom_kill \d+$/m, `oom_kill ${n}`));
    let ooms = 0;
    const w = new OomWatcher(dir, () => ooms++, version);
    w.check();
    assert.equal(ooms, 0, 'kills before the container was watched are not reported');
    const before = readOomKills(dir, version);
    bump(before + 1);
    w.check();
    w.check();
    assert.equal(ooms, 1);
    bump(before + 3);
    w.check();
    assert.equal(ooms, 2, 'several kills between two reads: one event, as the runc shim sends');
    bump(0);
    w.check();
    bump(1);
    w.check();
    assert.equal(ooms, 3, 'a fresh cgroup (after a restore) counts afresh');
  });
}
