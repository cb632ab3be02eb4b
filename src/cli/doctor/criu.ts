/** CRIU through its adapter: present, new enough (4.2 dumps TCP sockets on Linux >= 6.16), and `criu check` passes. */
import { describeError } from '../../base/index.ts';
import { criuAtLeast, criuCheck, criuVersion } from '../../criu/index.ts';
import { fail, ok, type Finding } from './finding.ts';

export interface CriuProbe {
  version(): Promise<{ major: number; minor: number; patch: number }>;
  check(): Promise<string>;
}

export const realCriu = (binary: string, signal: AbortSignal): CriuProbe => ({
  version: () => criuVersion({ binary, signal }),
  check: () => criuCheck({ binary, signal }),
});

export async function checkCriu(probe: CriuProbe, binary: string): Promise<Finding[]> {
  const install =
    'install CRIU 4.2 or newer (Debian sid/forky: criu), or let zeropod-installer put one in /opt/zeropod/bin';
  let v;
  try {
    v = await probe.version();
  } catch (err) {
    return [fail('criu', `${binary} --version failed: ${describeError(err)}`, install)];
  }
  const version = `${v.major}.${v.minor}.${v.patch}`;
  const out = [
    criuAtLeast({ ...v, text: '' }, 4, 2)
      ? ok('criu version', `${version} (${binary})`)
      : fail('criu version', `${version} is older than 4.2`, install),
  ];
  try {
    out.push(ok('criu check', await probe.check()));
  } catch (err) {
    out.push(
      fail(
        'criu check',
        describeError(err),
        'a kernel and CRIU that pass `criu check` (see the kernel checks above; run criu check --all for details)',
      ),
    );
  }
  return out;
}
