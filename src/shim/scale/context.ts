/** What every step of the scale logic (checkpoint, stop, wake) works with, for one container. */
import type { Logger } from '../../base/index.ts';
import type { Container } from '../container.ts';
import type { ScaleConfig } from './config.ts';
import type { ScaleDeps, ScaleStats, ScaleTools, WakePreparation } from './scale-types.ts';

export interface ScaleContext {
  readonly container: Container;
  readonly config: ScaleConfig;
  readonly deps: ScaleDeps;
  readonly tools: ScaleTools;
  readonly log: Logger;
  readonly stats: ScaleStats;
  readonly imagePath: string;
  readonly workPath: string;
  /** What the next wake needs, made ready around the checkpoint. */
  readonly next: WakePreparation;
  warnOnce(message: string): void;
}
