/**
 * What a new worker does with a scaling container it finds a record of (docs/restart-safety.md),
 * decided from what is on disk and in /proc, never from the phase alone: the record may predate the
 * last step the dead worker took.
 */
import type { ScaleRecord } from '../records/index.ts';

export type AdoptionPlan =
  /** The app runs and nothing was under way: scale it as from its start. */
  | 'running'
  /** The app runs but a checkpoint (or wake) was under way: thaw it, drop the partial image, then as running. */
  | 'running-after-checkpoint'
  /** The app is gone and a whole image is there: listen, redirect, wake from the image. */
  | 'asleep'
  /** The app is gone with nothing to bring it back from: report it exited (kubelet restarts it). */
  | 'exited';

export function adoptionPlan(o: {
  /** The recorded init still runs (pid and start time match). */
  alive: boolean;
  record: ScaleRecord | undefined;
  /** The image directory holds inventory.img (CRIU writes it last). */
  imageComplete: boolean;
}): AdoptionPlan {
  if (o.alive) {
    const phase = o.record?.phase ?? 'running';
    return phase === 'running' || phase === 'starting' ? 'running' : 'running-after-checkpoint';
  }
  return o.record !== undefined && o.imageComplete ? 'asleep' : 'exited';
}
