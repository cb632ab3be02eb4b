import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveExecutable } from './executable.ts';

void test('finds the first executable file of that name on the path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zp-exe-'));
  try {
    for (const d of ['a', 'b', 'c']) mkdirSync(join(dir, d));
    writeFileSync(join(dir, 'a', 'tool'), '#!/bin/sh\n'); // not executable: skipped
    mkdirSync(join(dir, 'b', 'tool')); // a directory: skipped
    writeFileSync(join(dir, 'c', 'tool'), '#!/bin/sh\n');
    chmodSync(join(dir, 'c', 'tool'), 0o755);
    const search = ['', join(dir, 'a'), join(dir, 'b'), join(dir, 'c')].join(':');
    assert.equal(resolveExecutable('tool', search), join(dir, 'c', 'tool'));
    assert.equal(resolveExecutable('absent', search), 'absent');
    assert.equal(resolveExecutable('/x/tool', search), '/x/tool');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
