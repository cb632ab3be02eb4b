/** Text and Markdown tables of a run's figures and details (pure). */
import type { Detail, FigureJson } from '../lib/results.ts';
import { summarize } from '../lib/stats.ts';

export function num(v: number): string {
  if (!Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

const triple = (s: { min: number; median: number; max: number }) =>
  `${num(s.min)} / ${num(s.median)} / ${num(s.max)}`;

export function figureRows(figures: readonly FigureJson[]): string[][] {
  return figures.map((f) => [
    f.workload,
    `${f.metric} (${f.unit})`,
    triple(f.ours),
    f.baseline.name,
    f.baseline.n > 0 ? triple(f.baseline) : '–',
    f.ratio === null ? '–' : `${f.ratio.toFixed(2)}×`,
    f.baseline.n > 0 ? `${f.ours.n}/${f.baseline.n}` : `${f.ours.n}`,
  ]);
}

export const FIGURE_HEADER = [
  'workload',
  'figure',
  'ours min / median / max',
  'baseline',
  'baseline min / median / max',
  'ratio of medians',
  'n',
];

export function detailRows(details: readonly Detail[]): string[][] {
  return details.map((d) => {
    const s = summarize(d.values);
    return [d.workload, `${d.metric} (${d.unit})`, s.n === 1 ? num(s.median) : triple(s), String(s.n)];
  });
}

export const DETAIL_HEADER = ['workload', 'measure', 'min / median / max', 'n'];

export function textTable(header: readonly string[], rows: readonly string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function markdownTable(header: readonly string[], rows: readonly string[][]): string {
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}
