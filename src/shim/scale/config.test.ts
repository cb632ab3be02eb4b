import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ZeropodError } from '../../base/index.ts';
import { Annotations, compileScaleConfig, scales } from './config.ts';
import { formatDuration, parseGoDuration } from './duration.ts';

test('Go durations parse as the original accepts them', () => {
  assert.equal(parseGoDuration('10s'), 10_000);
  assert.equal(parseGoDuration('1m30s'), 90_000);
  assert.equal(parseGoDuration('1.5h'), 5_400_000);
  assert.equal(parseGoDuration('500ms'), 500);
  assert.equal(parseGoDuration('0'), 0);
  assert.equal(parseGoDuration('2h45m0.5s'), 9_900_500);
  for (const bad of ['', '10', 's', '1x', '10 s', '1m-3s', 'ten seconds'])
    assert.equal(parseGoDuration(bad), undefined, bad);
  assert.equal(formatDuration(90_000), '1m30s');
});

test('defaults match the original', () => {
  const c = compileScaleConfig({});
  assert.equal(c.scaledownMs, 60_000);
  assert.deepEqual(c.containerNames, []);
  assert.equal(c.probeBufferSize, 1024);
  assert.equal(c.connectTimeoutMs, 5000);
  assert.equal(c.proxyTimeoutMs, 5000);
  assert.equal(c.disableCheckpointing, false);
});

test('the original annotations compile into a typed config', () => {
  const c = compileScaleConfig({
    [Annotations.scaledownDuration]: '10s',
    [Annotations.containerNames]: 'wordpress, mysql',
    [Annotations.portsMap]: 'wordpress=80,81;mysql=3306',
    [Annotations.disableCheckpointing]: 'true',
    [Annotations.probeBufferSize]: '2048',
    [Annotations.connectTimeout]: '1s',
  });
  assert.equal(c.scaledownMs, 10_000);
  assert.deepEqual(c.containerNames, ['wordpress', 'mysql']);
  assert.deepEqual(c.portsMap.get('wordpress'), [80, 81]);
  assert.deepEqual(c.portsMap.get('mysql'), [3306]);
  assert.equal(c.disableCheckpointing, true);
  assert.equal(c.probeBufferSize, 2048);
  assert.equal(c.connectTimeoutMs, 1000);
});

test('bad values are refused naming the annotation, the value and the expected form', () => {
  const cases: [string, string, RegExp][] = [
    [Annotations.scaledownDuration, '10', /scaledown-duration="10": expected a Go duration/],
    [Annotations.portsMap, 'web:80', /ports-map="web:80": expected container=port/],
    [Annotations.portsMap, 'web=99999', /ports 1-65535/],
    [Annotations.disableCheckpointing, 'yes', /disable-checkpointing="yes": expected true or false/],
    [Annotations.probeBufferSize, 'big', /probe-buffer-size="big"/],
    [Annotations.connectTimeout, '0', /connect-timeout="0": expected a Go duration .* greater than 0/],
    [Annotations.containerNames, 'Web_1', /container-names="Web_1"/],
  ];
  for (const [key, value, message] of cases) {
    assert.throws(
      () => compileScaleConfig({ [key]: value }),
      (err: unknown) =>
        err instanceof ZeropodError && err.code === 'InvalidArgument' && message.test(err.message),
      `${key}=${value}`,
    );
  }
});

test('an oversized bad value is quoted by a prefix and its length, never whole', () => {
  const value = `web:${'8'.repeat(200_000)}`;
  assert.throws(
    () => compileScaleConfig({ [Annotations.portsMap]: value }),
    (err: unknown) =>
      err instanceof ZeropodError &&
      err.code === 'InvalidArgument' &&
      err.message.includes('ports-map="web:888') &&
      err.message.includes('(200004 characters)') &&
      err.message.length < 400 &&
      JSON.stringify(err.details).length < 400,
  );
});

test('only named containers scale, never the sandbox, and 0 disables', () => {
  const c = compileScaleConfig({ [Annotations.containerNames]: 'web' });
  assert.equal(scales(c, { name: 'web', isSandbox: false }), true);
  assert.equal(scales(c, { name: 'sidecar', isSandbox: false }), false);
  assert.equal(scales(compileScaleConfig({}), { name: 'x', isSandbox: true }), false);
  assert.equal(
    scales(compileScaleConfig({ [Annotations.scaledownDuration]: '0' }), { name: 'x', isSandbox: false }),
    false,
  );
  assert.equal(scales(compileScaleConfig({}), { name: 'anything', isSandbox: false }), true);
});
