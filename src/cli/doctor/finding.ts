/** One result of `zeropod doctor`: what was checked, how it went, and for anything short of ok, the fix. */
export type Finding =
  | { check: string; status: 'ok'; detail: string }
  | { check: string; status: 'warn' | 'fail'; detail: string; fix: string };

export const ok = (check: string, detail: string): Finding => ({ check, status: 'ok', detail });
export const warn = (check: string, detail: string, fix: string): Finding => ({
  check,
  status: 'warn',
  detail,
  fix,
});
export const fail = (check: string, detail: string, fix: string): Finding => ({
  check,
  status: 'fail',
  detail,
  fix,
});

/** Text for a terminal: one line per check, its fix indented below it. */
export function renderFindings(findings: readonly Finding[]): string {
  const lines: string[] = [];
  for (const f of findings) {
    lines.push(`${f.status.toUpperCase().padEnd(4)}  ${f.check}: ${f.detail}`);
    if (f.status !== 'ok') lines.push(`      fix: ${f.fix}`);
  }
  const failed = findings.filter((f) => f.status === 'fail').length;
  const warned = findings.filter((f) => f.status === 'warn').length;
  lines.push(
    failed === 0
      ? `ready for zeropod (${warned} warning${warned === 1 ? '' : 's'})`
      : `${failed} check${failed === 1 ? '' : 's'} failed`,
  );
  return lines.join('\n') + '\n';
}
