/**
 * The scale-to-zero configuration of a container, compiled once from the pod's annotations (the
 * original's keys, formats and defaults). Code past this point never sees annotation strings.
 */
import { invalidArgument, quoteValue } from '../../base/index.ts';
import { parseGoDuration } from './duration.ts';

export const ANNOTATION_PREFIX = 'zeropod.ctrox.dev/';

export const Annotations = {
  scaledownDuration: 'zeropod.ctrox.dev/scaledown-duration',
  containerNames: 'zeropod.ctrox.dev/container-names',
  portsMap: 'zeropod.ctrox.dev/ports-map',
  disableCheckpointing: 'zeropod.ctrox.dev/disable-checkpointing',
  preDump: 'zeropod.ctrox.dev/pre-dump',
  disableProbeDetection: 'zeropod.ctrox.dev/disable-probe-detection',
  probeBufferSize: 'zeropod.ctrox.dev/probe-buffer-size',
  connectTimeout: 'zeropod.ctrox.dev/connect-timeout',
  proxyTimeout: 'zeropod.ctrox.dev/proxy-timeout',
  /** Ours: count traffic from inside the pod (localhost) as activity. Default false. */
  countLocalhost: 'zeropod.ctrox.dev/count-localhost-traffic',
} as const;

const CRI_CONTAINER_NAME = 'io.kubernetes.cri.container-name';
const CRI_CONTAINER_TYPE = 'io.kubernetes.cri.container-type';

export interface ScaleConfig {
  /** 0 = never scale down. */
  scaledownMs: number;
  /** Empty = every container of the pod. */
  containerNames: readonly string[];
  /** container name -> ports; a container absent here has its ports discovered. */
  portsMap: ReadonlyMap<string, readonly number[]>;
  disableCheckpointing: boolean;
  preDump: boolean;
  disableProbeDetection: boolean;
  probeBufferSize: number;
  connectTimeoutMs: number;
  proxyTimeoutMs: number;
  countLocalhost: boolean;
}

export const DEFAULTS: ScaleConfig = {
  scaledownMs: 60_000,
  containerNames: [],
  portsMap: new Map(),
  disableCheckpointing: false,
  preDump: false,
  disableProbeDetection: false,
  probeBufferSize: 1024,
  connectTimeoutMs: 5000,
  proxyTimeoutMs: 5000,
  countLocalhost: false,
};

function bad(key: string, value: string, expected: string): never {
  throw invalidArgument(`invalid annotation ${key}=${quoteValue(value)}: expected ${expected}`, {
    details: { annotation: key, value: quoteValue(value), length: value.length, expected },
  });
}

function duration(a: Record<string, string>, key: string, dflt: number, allowZero: boolean): number {
  const v = a[key];
  if (v === undefined) return dflt;
  const ms = parseGoDuration(v);
  if (ms === undefined || ms < 0 || (!allowZero && ms === 0)) {
    bad(
      key,
      v,
      `a Go duration such as 10s, 1m30s or 500ms${allowZero ? ' (0 disables)' : ' greater than 0'}`,
    );
  }
  return ms;
}

function bool(a: Record<string, string>, key: string): boolean {
  const v = a[key];
  if (v === undefined) return false;
  if (/^(true|1|t|TRUE|True)$/.test(v)) return true;
  if (/^(false|0|f|FALSE|False)$/.test(v)) return false;
  return bad(key, v, 'true or false');
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function portsMap(a: Record<string, string>): Map<string, number[]> {
  const key = Annotations.portsMap;
  const v = a[key];
  const out = new Map<string, number[]>();
  if (v === undefined || v.trim() === '') return out;
  const form = 'container=port[,port...] entries separated by ";", e.g. web=80,81;api=8080';
  for (const entry of v.split(';')) {
    if (entry.trim() === '') continue;
    const [name, ports, extra] = entry.split('=');
    if (!name || !ports || extra !== undefined || !NAME.test(name.trim())) bad(key, v, form);
    const list = ports.split(',').map((p) => p.trim());
    const nums = list.map(Number);
    if (list.some((p) => !/^\d+$/.test(p)) || nums.some((n) => n < 1 || n > 65535))
      bad(key, v, `${form}; ports 1-65535`);
    out.set(name.trim(), [...(out.get(name.trim()) ?? []), ...nums]);
  }
  return out;
}

/** Compiles annotations; throws InvalidArgument naming the annotation, value and expected form. */
export function compileScaleConfig(annotations: Record<string, string>): ScaleConfig {
  const names = (annotations[Annotations.containerNames] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names) {
    if (!NAME.test(n))
      bad(
        Annotations.containerNames,
        annotations[Annotations.containerNames]!,
        'container names separated by commas, e.g. web,api',
      );
  }
  const bufRaw = annotations[Annotations.probeBufferSize];
  let probeBufferSize = DEFAULTS.probeBufferSize;
  if (bufRaw !== undefined) {
    probeBufferSize = Number(bufRaw);
    if (!/^\d+$/.test(bufRaw) || probeBufferSize < 64 || probeBufferSize > 1 << 20) {
      bad(Annotations.probeBufferSize, bufRaw, 'a number of bytes between 64 and 1048576');
    }
  }
  return {
    scaledownMs: duration(annotations, Annotations.scaledownDuration, DEFAULTS.scaledownMs, true),
    containerNames: names,
    portsMap: portsMap(annotations),
    disableCheckpointing: bool(annotations, Annotations.disableCheckpointing),
    preDump: bool(annotations, Annotations.preDump),
    disableProbeDetection: bool(annotations, Annotations.disableProbeDetection),
    probeBufferSize,
    connectTimeoutMs: duration(annotations, Annotations.connectTimeout, DEFAULTS.connectTimeoutMs, false),
    proxyTimeoutMs: duration(annotations, Annotations.proxyTimeout, DEFAULTS.proxyTimeoutMs, false),
    countLocalhost: bool(annotations, Annotations.countLocalhost),
  };
}

export interface ContainerIdentity {
  name: string;
  isSandbox: boolean;
}

export function identityOf(annotations: Record<string, string>): ContainerIdentity {
  return {
    name: annotations[CRI_CONTAINER_NAME] ?? '',
    isSandbox: annotations[CRI_CONTAINER_TYPE] === 'sandbox',
  };
}

/** Whether this container scales: not the sandbox, enabled, and named (or no names given). */
export function scales(config: ScaleConfig, who: ContainerIdentity): boolean {
  if (who.isSandbox || config.scaledownMs === 0) return false;
  return config.containerNames.length === 0 || config.containerNames.includes(who.name);
}
