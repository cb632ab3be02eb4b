/** Summaries of repeated measurements: what every figure in the table is made of. */

export interface Summary {
  n: number;
  min: number;
  median: number;
  max: number;
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { n: 0, min: NaN, median: NaN, max: NaN };
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, min: s[0]!, median: percentile(s, 50), max: s[s.length - 1]! };
}

/** Linear-interpolated percentile of already sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

export function round(v: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
