/** CRIU works on this kernel inside the node environment (the precondition for scaling to zero). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

test('criu check passes inside the node environment', () => {
  const out = execFileSync('criu', ['check'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.match(out, /Looks good\./);
});

test('criu is a version that can dump TCP sockets on Linux >= 6.16 (4.2 or newer)', () => {
  const out = execFileSync('criu', ['--version'], { encoding: 'utf8' });
  const m = /Version: (\d+)\.(\d+)/.exec(out);
  assert.ok(m, `unexpected criu --version output: ${out}`);
  const [major, minor] = [Number(m[1]), Number(m[2])];
  assert.ok(major > 4 || (major === 4 && minor >= 2), `criu ${major}.${minor} is too old`);
});
