/**
 * Go's time.ParseDuration syntax, which the original's annotations use: a sequence of decimal
 * numbers with units (ns, us, µs, ms, s, m, h), e.g. `10s`, `1m30s`, `1.5h`; `0` alone is zero.
 * Returns milliseconds, or undefined when `text` is not a duration.
 */
const unitMs: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

export function parseGoDuration(text: string): number | undefined {
  let s = text.trim();
  if (s === '0' || s === '+0' || s === '-0') return 0;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '') return undefined;
  const part = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  let total = 0;
  while (s.length > 0) {
    const m = part.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * unitMs[m[2]!]!;
    s = s.slice(m[0].length);
  }
  return sign * total;
}

/** Formats milliseconds the way Go prints durations (for messages and status). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1) return `${Math.round(ms * 1000)}µs`;
  if (ms < 1000) return `${+ms.toFixed(3)}ms`;
  let rest = ms / 1000;
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  rest -= m * 60;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${+rest.toFixed(3)}s`;
}
