/**
 * containerd's Checkpoint (CRI CheckpointContainer) of a task: `runc checkpoint` of its init into
 * `imagePath`, left running unless `exit`, with the options containerd's runc shim maps the same way.
 * A failed dump leaves CRIU's log in the bundle as criu-dump.log, as there.
 */
import { copyFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { failedPrecondition } from '../base/index.ts';
import type { ManageCgroupsMode } from '../runc/index.ts';
import type { Container } from './container.ts';

/** containerd.runc.v1.CheckpointOptions, the fields the runc shim uses. */
export interface CheckpointRequestOptions {
  exit: boolean;
  openTcp: boolean;
  externalUnixSockets: boolean;
  terminal: boolean;
  fileLocks: boolean;
  emptyNamespaces: readonly string[];
  cgroupsMode: string;
  workPath: string;
}

export async function checkpointTask(
  c: Container,
  imagePath: string,
  o: CheckpointRequestOptions,
): Promise<void> {
  if (!c.init.state.is('running', 'paused'))
    throw failedPrecondition(`task ${c.id} is ${c.init.state.phase}: nothing to checkpoint`);
  const workPath = o.workPath || path.join(c.bundle, 'work', 'criu-work');
  try {
    await c.runc.checkpoint(c.id, {
      imagePath,
      workPath,
      leaveRunning: !o.exit,
      tcpEstablished: o.openTcp,
      extUnixSk: o.externalUnixSockets,
      shellJob: o.terminal,
      fileLocks: o.fileLocks,
      emptyNs: o.emptyNamespaces,
      ...(o.cgroupsMode ? { manageCgroupsMode: o.cgroupsMode as ManageCgroupsMode } : {}),
    });
  } catch (err) {
    try {
      copyFileSync(path.join(workPath, 'dump.log'), path.join(c.bundle, 'criu-dump.log'));
    } catch {
      // no dump.log: runc failed before CRIU ran
    }
    throw err;
  } finally {
    if (!o.workPath) rmSync(workPath, { recursive: true, force: true });
  }
}
