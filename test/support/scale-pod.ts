/** Shared set-up for scale-to-zero e2e tests: CRI connection, a client host, pods removed after. */
import { Cri, type PodSpec, type RunningPod } from '../../harness/cri/index.ts';
import { createClientHost, type ClientHost } from '../../harness/net/index.ts';

export class ScaleFixture {
  cri!: Cri;
  client!: ClientHost;
  readonly #pods: RunningPod[] = [];

  async setUp(): Promise<void> {
    this.cri = await Cri.connect();
    this.client = createClientHost();
  }

  async runPod(spec: PodSpec): Promise<RunningPod> {
    const pod = await this.cri.runPod(spec);
    this.#pods.push(pod);
    return pod;
  }

  async remove(pod: RunningPod): Promise<void> {
    const i = this.#pods.indexOf(pod);
    if (i >= 0) this.#pods.splice(i, 1);
    await this.cri.removePod(pod, 2);
  }

  async tearDown(): Promise<void> {
    for (const pod of this.#pods.splice(0)) {
      await this.cri
        .removePod(pod, 2)
        .catch((err: unknown) => console.error(`removing ${pod.id}: ${String(err)}`));
    }
    this.client?.remove();
    this.cri?.close();
  }
}

export const scaleAnnotations = (duration: string, extra: Record<string, string> = {}) => ({
  'zeropod.ctrox.dev/scaledown-duration': duration,
  ...extra,
});
