/** The manager's options, from its environment, checked once: code past here sees typed values. */
import { invalidArgument } from '../base/index.ts';
import { WAKE_DEFER_MS } from './wake-deferral.ts';

export interface ManagerOptions {
  /** Where the shims' status sockets are (the node's /run/zeropod/status, a hostPath in the pod). */
  statusDir: string;
  /** This node's name (the downward API's spec.nodeName): events name it as their source. */
  nodeName: string;
  metricsHost: string;
  metricsPort: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** How long the reaction to a wake waits (wake-deferral.ts); 0 reacts at once. */
  wakeDeferMs: number;
}

export const DEFAULTS = {
  statusDir: '/run/zeropod/status',
  metricsAddr: ':8080',
} as const;

export function managerOptions(env: Readonly<Record<string, string | undefined>>): ManagerOptions {
  const statusDir = env['ZEROPOD_STATUS_DIR'] || DEFAULTS.statusDir;
  if (!statusDir.startsWith('/'))
    throw invalidArgument('ZEROPOD_STATUS_DIR must be an absolute path', { details: { value: statusDir } });
  const nodeName = env['NODE_NAME'] ?? '';
  if (nodeName === '')
    throw invalidArgument('NODE_NAME must name this node (the downward API: fieldRef spec.nodeName)');
  const addr = env['ZEROPOD_METRICS_ADDR'] || DEFAULTS.metricsAddr;
  const m = /^(.*):(\d{1,5})$/.exec(addr);
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535)
    throw invalidArgument('ZEROPOD_METRICS_ADDR must be [host]:port, e.g. :8080', {
      details: { value: addr },
    });
  const level = env['ZEROPOD_LOG_LEVEL'] || 'info';
  if (level !== 'debug' && level !== 'info' && level !== 'warn' && level !== 'error')
    throw invalidArgument('ZEROPOD_LOG_LEVEL must be debug, info, warn or error', {
      details: { value: level },
    });
  const defer = env['ZEROPOD_WAKE_DEFER_MS'] || String(WAKE_DEFER_MS);
  const wakeDeferMs = Number(defer);
  // Labels must still follow within a second of the phase change.
  if (!/^\d+$/.test(defer) || wakeDeferMs > 700)
    throw invalidArgument('ZEROPOD_WAKE_DEFER_MS must be milliseconds from 0 to 700', {
      details: { value: defer },
    });
  return {
    statusDir,
    nodeName,
    metricsHost: m[1] || '0.0.0.0',
    metricsPort: port,
    logLevel: level,
    wakeDeferMs,
  };
}
