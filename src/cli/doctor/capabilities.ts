/**
 * Root's capabilities, as CRIU will have them. A sandbox may withhold some from root; the one zeropod
 * users meet is CAP_SYS_RESOURCE: without it CRIU cannot read the resource limits of a task of another
 * user, so apps that run as a non-root user (postgres, nginx's workers) cannot be checkpointed.
 */
import { ok, warn, type Finding } from './finding.ts';

const CAP_SYS_RESOURCE = 24n;

/** The `CapEff:` mask of a /proc/<pid>/status text; undefined when it has none. */
export function effectiveCapabilities(status: string): bigint | undefined {
  const hex = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(status)?.[1];
  return hex === undefined ? undefined : BigInt(`0x${hex}`);
}

export function checkCapabilities(capEff: bigint | undefined): Finding[] {
  const check = 'capabilities';
  if (capEff === undefined)
    return [ok(check, 'not known here (no CapEff in /proc/self/status): not checked')];
  if ((capEff & (1n << CAP_SYS_RESOURCE)) !== 0n)
    return [ok(check, 'root has CAP_SYS_RESOURCE: apps running as any user can be checkpointed')];
  return [
    warn(
      check,
      'root lacks CAP_SYS_RESOURCE (a sandbox withholds it): CRIU cannot checkpoint apps that run as a ' +
        'non-root user ("Can\'t get rlimit 0: Operation not permitted"); they keep running and never scale down',
      'run such apps as root, or run the node where root has the full capability set',
    ),
  ];
}
