/**
 * A container a dead worker was creating (its record has no pid: the worker died inside Create,
 * which containerd saw fail). What `runc create` made is no one's, and its `runc init` would wait
 * forever. That `runc create` may still be running (re-parented to the keeper): deleting before it
 * ends would race it, so wait for it first (bounded), then force-delete, then drop the record.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { describeError, type Logger } from '../base/index.ts';
import type { Runc } from '../runc/index.ts';
import { processesNaming } from '../sys/index.ts';
import type { ContainerRecord, RecordStore } from './records/index.ts';

const CREATE_WAIT_MS = 30_000;

const isRuncCreate = (argv: string[]) => path.basename(argv[0] ?? '') === 'runc' && argv.includes('create');

export async function removeHalfCreated(
  r: ContainerRecord,
  o: { runc: Runc; records: RecordStore | undefined; log: Logger },
): Promise<void> {
  const deadline = performance.now() + CREATE_WAIT_MS;
  while (processesNaming(r.bundle, isRuncCreate).length > 0 && performance.now() < deadline) await sleep(50);
  await o.runc.delete(r.id, { force: true }).then(
    () => o.log.info('removed a container a dead worker was creating', { container: r.id }),
    (err: unknown) =>
      o.log.debug('no container left by a dead Create', { container: r.id, error: describeError(err) }),
  );
  await o.records?.remove(r.id);
}
