/** What every case gets: the CRI, the client namespace, the repetition count, the results. */
import type { Netns } from './netns.ts';
import type { BenchPods } from './pods.ts';
import type { Results } from './results.ts';

export interface Ctx {
  pods: BenchPods;
  /** Where every client runs (a remote address to the pods). */
  client: Netns;
  /** Repetitions per figure. */
  runs: number;
  quick: boolean;
  results: Results;
  log(line: string): void;
  /** A fresh /30 for a baseline container's namespace. */
  nextSlot(): number;
}
