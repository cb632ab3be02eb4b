import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CPU_ANNOTATION, MEMORY_ANNOTATION, planGrow, planShrink, type PodResources } from './resize-plan.ts';

const pod = (
  annotations: Record<string, string>,
  requests: [string, { cpu?: string; memory?: string }][],
): PodResources => ({
  annotations,
  requests: new Map(requests),
});

test('asleep: originals kept in the annotations, requests lowered to 1m / 1Ki', () => {
  const p = pod({}, [
    ['nginx', { cpu: '100m', memory: '64Mi' }],
    ['side', { cpu: '50m' }],
  ]);
  assert.deepEqual(planShrink(p, 'nginx'), {
    annotations: { [CPU_ANNOTATION]: '{"nginx":"100m"}', [MEMORY_ANNOTATION]: '{"nginx":"64Mi"}' },
    requests: { cpu: '1m', memory: '1Ki' },
  });
});

test('a second container joins the annotations; only what it requests is lowered', () => {
  const p = pod({ [CPU_ANNOTATION]: '{"nginx":"100m"}' }, [['side', { cpu: '50m' }]]);
  assert.deepEqual(planShrink(p, 'side'), {
    annotations: { [CPU_ANNOTATION]: '{"nginx":"100m","side":"50m"}' },
    requests: { cpu: '1m' },
  });
});

test('no requests: untouched; already asleep: nothing more', () => {
  assert.deepEqual(planShrink(pod({}, [['nginx', {}]]), 'nginx'), {});
  const asleep = pod({ [CPU_ANNOTATION]: '{"nginx":"100m"}' }, [['nginx', { cpu: '1m' }]]);
  assert.deepEqual(planShrink(asleep, 'nginx'), {});
});

test('a resize that did not happen is tried again without overwriting the kept original', () => {
  const p = pod({ [CPU_ANNOTATION]: '{"nginx":"100m"}' }, [['nginx', { cpu: '100m' }]]);
  assert.deepEqual(planShrink(p, 'nginx'), { requests: { cpu: '1m' } });
});

test('awake: the originals back and the entries removed (the annotation too when empty)', () => {
  const p = pod(
    { [CPU_ANNOTATION]: '{"nginx":"100m","side":"50m"}', [MEMORY_ANNOTATION]: '{"nginx":"64Mi"}' },
    [['nginx', { cpu: '1m', memory: '1Ki' }]],
  );
  assert.deepEqual(planGrow(p, 'nginx'), {
    requests: { cpu: '100m', memory: '64Mi' },
    annotations: { [CPU_ANNOTATION]: '{"side":"50m"}', [MEMORY_ANNOTATION]: null },
  });
  assert.deepEqual(planGrow(pod({}, []), 'nginx'), {});
  assert.deepEqual(planGrow(pod({ [CPU_ANNOTATION]: 'not json' }, []), 'nginx'), {});
});
