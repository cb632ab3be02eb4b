import { test } from 'node:test';
import assert from 'node:assert/strict';
import { managerOptions } from './options.ts';
import { parseChange, parseSnapshot } from './wire.ts';

test('options: defaults, and each bad value named with the form it needs', () => {
  assert.deepEqual(managerOptions({ NODE_NAME: 'n1' }), {
    statusDir: '/run/zeropod/status',
    nodeName: 'n1',
    metricsHost: '0.0.0.0',
    metricsPort: 8080,
    logLevel: 'info',
    wakeDeferMs: 300,
  });
  assert.equal(managerOptions({ NODE_NAME: 'n1', ZEROPOD_WAKE_DEFER_MS: '0' }).wakeDeferMs, 0);
  assert.throws(
    () => managerOptions({ NODE_NAME: 'n', ZEROPOD_WAKE_DEFER_MS: '1000' }),
    /ZEROPOD_WAKE_DEFER_MS must be milliseconds from 0 to 700/,
  );
  assert.equal(
    managerOptions({ NODE_NAME: 'n1', ZEROPOD_METRICS_ADDR: '127.0.0.1:9100' }).metricsHost,
    '127.0.0.1',
  );
  assert.throws(() => managerOptions({}), /NODE_NAME must name this node/);
  assert.throws(
    () => managerOptions({ NODE_NAME: 'n', ZEROPOD_METRICS_ADDR: '8080' }),
    /ZEROPOD_METRICS_ADDR must be \[host\]:port/,
  );
  assert.throws(
    () => managerOptions({ NODE_NAME: 'n', ZEROPOD_METRICS_ADDR: ':99999' }),
    /ZEROPOD_METRICS_ADDR/,
  );
  assert.throws(
    () => managerOptions({ NODE_NAME: 'n', ZEROPOD_STATUS_DIR: 'run/x' }),
    /ZEROPOD_STATUS_DIR must be an absolute path/,
  );
  assert.throws(
    () => managerOptions({ NODE_NAME: 'n', ZEROPOD_LOG_LEVEL: 'loud' }),
    /ZEROPOD_LOG_LEVEL must be/,
  );
});

test('status API input: a field of the wrong type is named', () => {
  assert.throws(() => parseSnapshot({}), /\(body\): expected an array/);
  assert.throws(
    () => parseSnapshot([{ container: 'c', name: 'n', phase: 'dozing' }]),
    /\[0\]\.phase: expected one of/,
  );
  assert.throws(
    () =>
      parseChange({
        seq: 1,
        at: 2,
        container: 'c',
        name: 'n',
        from: 'running',
        to: 'stopped',
        stats: { checkpoints: -1 },
      }),
    /event\.stats\.checkpoints: expected a number >= 0/,
  );
  const ok = parseSnapshot([
    { container: 'c', name: 'n', phase: 'running', pod: 'p', namespace: 'ns', podUid: 'u' },
  ]);
  assert.deepEqual(ok[0]?.pod, { name: 'p', namespace: 'ns', uid: 'u' });
  assert.deepEqual(ok[0]?.checkpointsMs, []);
});
