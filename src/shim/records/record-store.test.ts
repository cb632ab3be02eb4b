import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { silentLogger, ZeropodError } from '../../base/index.ts';
import { parseRecord, RECORD_VERSION, RecordStore, type ContainerRecord } from './index.ts';

function record(id: string, extra: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    version: RECORD_VERSION,
    id,
    namespace: 'k8s.io',
    bundle: `/run/containerd/io.containerd.runtime.v2.task/k8s.io/${id}`,
    init: { pid: 4242, startTime: 123456 },
    stdio: { stdin: '', stdout: '/run/fifo/1', stderr: '/run/fifo/2' },
    terminal: false,
    updatedAt: '',
    ...extra,
  };
}

function store(t: { after(fn: () => void): void }): RecordStore {
  const root = mkdtempSync(path.join(tmpdir(), 'zp-records-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  return new RecordStore(path.join(root, 'records'), silentLogger);
}

void test('records are written root-only and read back as written', async (t) => {
  const s = store(t);
  const r = record('abc', {
    scale: {
      phase: 'scaled-down',
      ports: [6379],
      activatorPorts: [41000],
      imagePath: '/var/lib/zeropod-ts/images/k8s.io/abc',
      workPath: '/run/zeropod/work/abc',
      heldConnections: 0,
    },
    execs: [
      {
        id: 'exec-1',
        phase: 'running',
        pid: 4300,
        startTime: 123999,
        stdio: { stdin: '', stdout: '/run/fifo/e1', stderr: '' },
        terminal: true,
      },
      {
        id: 'exec-2',
        phase: 'created',
        pid: 0,
        startTime: 0,
        stdio: { stdin: '', stdout: '', stderr: '' },
        terminal: false,
      },
    ],
  });
  await s.write(r);
  assert.equal(statSync(s.dir).mode & 0o777, 0o700);
  assert.equal(statSync(s.fileOf('abc')).mode & 0o777, 0o600);
  const { records, errors } = await s.load();
  assert.deepEqual(errors, []);
  assert.equal(records.length, 1);
  assert.deepEqual({ ...records[0], updatedAt: '' }, r);
  assert.ok(!Number.isNaN(Date.parse(records[0]!.updatedAt)));
});

void test('writes of one container coalesce: the last one wins, none is torn', async (t) => {
  const s = store(t);
  const writes = [];
  for (let pid = 1; pid <= 50; pid++) writes.push(s.write(record('abc', { init: { pid, startTime: 1 } })));
  await Promise.all(writes);
  const { records } = await s.load();
  assert.equal(records[0]!.init?.pid, 50);
  assert.deepEqual(readdirSync(s.dir), ['abc.json'], 'no temp file is left');
  await s.remove('abc');
  assert.deepEqual(readdirSync(s.dir), []);
});

void test('load skips a cut-short temp file and reports a bad record by its field, leaving it', async (t) => {
  const s = store(t);
  await s.write(record('good'));
  writeFileSync(path.join(s.dir, 'half.json.tmp'), '{"version":1,"id":"ha');
  writeFileSync(s.fileOf('bad'), JSON.stringify({ ...record('bad'), init: { pid: -1, startTime: 0 } }));
  writeFileSync(s.fileOf('other'), JSON.stringify(record('elsewhere')));
  const { records, errors } = await s.load();
  assert.deepEqual(
    records.map((r) => r.id),
    ['good'],
  );
  assert.equal(errors.length, 2);
  assert.match(errors[0]!.error, /init\.pid must be an integer >= 1/);
  assert.match(errors[1]!.error, /names container elsewhere, not other\.json/);
  assert.ok(readFileSync(s.fileOf('bad'), 'utf8').length > 0, 'a bad record stays for a person to read');
});

void test('parseRecord refuses what a re-adoption cannot trust, naming the field', () => {
  const bad = (patch: Record<string, unknown>) => JSON.stringify({ ...record('abc'), ...patch });
  const cases: [string, RegExp][] = [
    ['not json', /not JSON: "not json"/],
    [bad({ version: 2 }), /version must be 1, got "2"/],
    [bad({ id: '../etc' }), /id "..\/etc" is not a containerd identifier/],
    [bad({ stdio: { stdin: '', stdout: 1, stderr: '' } }), /stdio\.stdout must be a string/],
    [bad({ scale: { phase: 'dozing' } }), /scale\.phase "dozing" must be one of/],
    [bad({ execs: {} }), /execs must be a list/],
    [
      bad({ execs: [{ id: 'e', phase: 'gone', pid: 1, startTime: 1, stdio: {}, terminal: false }] }),
      /execs\[0\]\.phase must be created or running/,
    ],
    [
      bad({ execs: [{ id: 'e', pid: 0, startTime: 1, stdio: {}, terminal: false }] }),
      /execs\[0\]\.pid must be/,
    ],
    [
      bad({ execs: [{ id: 'e', pid: 9, startTime: 1, stdio: { stdin: '' }, terminal: false }] }),
      /execs\[0\]\.stdio\.stdout is missing/,
    ],
    [
      bad({
        execs: [{ id: 'e', pid: 9, startTime: 1, stdio: { stdin: '', stdout: '', stderr: '' }, terminal: 1 }],
      }),
      /execs\[0\]\.terminal must be a boolean/,
    ],
    [
      bad({
        scale: {
          phase: 'running',
          ports: [70000],
          activatorPorts: [],
          imagePath: '',
          workPath: '',
          heldConnections: 0,
        },
      }),
      /scale\.ports must be a list of ports/,
    ],
  ];
  for (const [text, message] of cases)
    assert.throws(
      () => parseRecord(text),
      (e: unknown) => e instanceof ZeropodError && e.code === 'InvalidArgument' && message.test(e.message),
      text,
    );
});
