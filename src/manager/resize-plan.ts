/**
 * In-place resizing while asleep (the original's behaviour, pure planning): a sleeping container's
 * CPU and memory requests go down to 1m / 1Ki through the pods/resize subresource, so the scheduler
 * can use what it does not use; the originals are kept on the pod in the annotations
 * zeropod.ctrox.dev/cpu-requests and zeropod.ctrox.dev/memory-requests (JSON, container -> quantity)
 * and put back on the wake. Containers without requests are left alone. Every plan is computed from
 * the pod as it is now, so running one twice (a manager restart in between) changes nothing more.
 */
export const CPU_ANNOTATION = 'zeropod.ctrox.dev/cpu-requests';
export const MEMORY_ANNOTATION = 'zeropod.ctrox.dev/memory-requests';
export const ASLEEP_REQUESTS = { cpu: '1m', memory: '1Ki' } as const;

export interface PodResources {
  annotations: Record<string, string>;
  /** Each container's requests as the pod's spec has them now. */
  requests: Map<string, { cpu?: string; memory?: string }>;
}

export interface ResizePlan {
  /** Annotations to merge first (null removes one); undefined: none. */
  annotations?: Record<string, string | null>;
  /** Requests for the resize subresource; undefined: no resize. */
  requests?: { cpu?: string; memory?: string };
}

function kept(annotations: Record<string, string>, key: string): Record<string, string> {
  try {
    const v = JSON.parse(annotations[key] ?? '{}') as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
    return Object.fromEntries(
      Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
  } catch {
    return {}; // not ours to repair: treated as empty, rewritten by the next sleep
  }
}

const encode = (m: Record<string, string>): string | null =>
  Object.keys(m).length === 0 ? null : JSON.stringify(m);

/** Going to sleep: keep the originals (unless kept already), then lower the requests. */
export function planShrink(pod: PodResources, container: string): ResizePlan {
  const now = pod.requests.get(container);
  if (!now || (now.cpu === undefined && now.memory === undefined)) return {};
  const cpu = kept(pod.annotations, CPU_ANNOTATION);
  const memory = kept(pod.annotations, MEMORY_ANNOTATION);
  const plan: ResizePlan = {};
  const annotations: Record<string, string | null> = {};
  const requests: { cpu?: string; memory?: string } = {};
  if (now.cpu !== undefined && now.cpu !== ASLEEP_REQUESTS.cpu) {
    if (cpu[container] === undefined) annotations[CPU_ANNOTATION] = encode({ ...cpu, [container]: now.cpu });
    requests.cpu = ASLEEP_REQUESTS.cpu;
  }
  if (now.memory !== undefined && now.memory !== ASLEEP_REQUESTS.memory) {
    if (memory[container] === undefined)
      annotations[MEMORY_ANNOTATION] = encode({ ...memory, [container]: now.memory });
    requests.memory = ASLEEP_REQUESTS.memory;
  }
  if (Object.keys(annotations).length > 0) plan.annotations = annotations;
  if (Object.keys(requests).length > 0) plan.requests = requests;
  return plan;
}

/** Awake again: the kept originals back, and the container's entries out of the annotations. */
export function planGrow(pod: PodResources, container: string): ResizePlan {
  const cpu = kept(pod.annotations, CPU_ANNOTATION);
  const memory = kept(pod.annotations, MEMORY_ANNOTATION);
  const requests: { cpu?: string; memory?: string } = {};
  const annotations: Record<string, string | null> = {};
  const c = cpu[container];
  const m = memory[container];
  if (c !== undefined) {
    requests.cpu = c;
    delete cpu[container];
    annotations[CPU_ANNOTATION] = encode(cpu);
  }
  if (m !== undefined) {
    requests.memory = m;
    delete memory[container];
    annotations[MEMORY_ANNOTATION] = encode(memory);
  }
  const plan: ResizePlan = {};
  if (Object.keys(requests).length > 0) {
    plan.requests = requests;
    plan.annotations = annotations;
  }
  return plan;
}
