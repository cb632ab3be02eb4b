/**
 * The wakes as the clients saw them: for every connection the activator held, the time from its
 * accept to the moment the app took it (dialed inside the pod), and how many connections are held
 * right now. The restore's own duration (ScaleStats.lastRestoreMs) leaves out what a client also
 * waits for: a checkpoint finishing first, the queue, the app's accept after CRIU returned.
 */

/** Latencies kept: enough for any histogram a scrape interval misses (as the status API's durations). */
const MAX_LATENCIES = 1000;

export class ClientWakes {
  /** The newest accept -> app reached latencies (ms), oldest first. */
  readonly latenciesMs: number[] = [];
  /** Connections that reached the app after a wake, since the container started. */
  count = 0;
  /** Connections the activator holds now: accepted, the app not reached yet. */
  holding = 0;

  /** A connection is held from now; the returned function ends the hold (once). */
  hold(): () => void {
    this.holding++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.holding--;
    };
  }

  /** A held connection reached the app `ms` after its accept. */
  reached(ms: number): void {
    this.count++;
    this.latenciesMs.push(Math.round(ms * 10) / 10);
    if (this.latenciesMs.length > MAX_LATENCIES)
      this.latenciesMs.splice(0, this.latenciesMs.length - MAX_LATENCIES);
  }
}
