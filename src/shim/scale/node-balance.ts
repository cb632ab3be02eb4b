/**
 * Node traffic minus kubelet's, from two cumulative packet counters read one after the other: the
 * pod's count of packets from the node's addresses (`node`), then the node's count of kubelet's
 * packets to the pod (`kubelet`). Their difference rises only with the node's other clients.
 *
 * Read in that order, a kubelet packet in flight (counted on the node when it left, not yet in the
 * pod) makes the difference dip for one sample, never rise: so only a rise above the highest
 * difference seen is activity. A packet kubelet sent that never arrived lowers the difference for
 * good; when it sits at the same lower value twice in a row, that is the new level (a dip in flight
 * does not stay).
 */
export class NodeBalance {
  #high: number | undefined;
  #prev: number | undefined;
  #excess = 0;

  /** Returns the cumulative count of node packets that were not kubelet's. */
  sample(node: number, kubelet: number): number {
    const diff = node - kubelet;
    if (this.#high === undefined) this.#high = diff;
    else if (diff > this.#high) {
      this.#excess += diff - this.#high;
      this.#high = diff;
    } else if (diff < this.#high && diff === this.#prev) this.#high = diff;
    this.#prev = diff;
    return this.#excess;
  }
}
