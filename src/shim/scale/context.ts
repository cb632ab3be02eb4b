/** What every step of the scale logic (checkpoint, stop, wake) works with, for one container. */
import path from 'node:path';
import type { Logger } from '../../base/index.ts';
import type { Container } from '../container.ts';
import type { ScaleConfig } from './config.ts';
import type { ScaleDeps, ScaleStats, ScaleTools, WakePreparation } from './scale-types.ts';
import { systemTools } from './tools.ts';

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

/** The context of one container: the real tools unless the deps bring fakes. */
export function makeContext(o: {
  container: Container;
  config: ScaleConfig;
  deps: ScaleDeps;
  log: Logger;
  stats: ScaleStats;
}): ScaleContext {
  const tools = { ...systemTools(o.container), ...o.deps.tools };
  const warned = new Set<string>();
  const warnOnce = (message: string) => {
    if (warned.has(message)) return;
    warned.add(message);
    o.log.warn(message);
  };
  const workPath = path.join(o.deps.workRoot, o.container.id);
  return {
    ...o,
    tools,
    imagePath: path.join(o.deps.imageRoot, o.container.id),
    workPath,
    next: tools.wakePreparation({ workPath, log: o.log, warnOnce }),
    warnOnce,
  };
}
