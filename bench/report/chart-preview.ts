/** Renders the chart of a results file again (after changing chart.ts): tsx bench/report/chart-preview.ts [quick|latest|partial] */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Results } from '../lib/results.ts';
import { wakeChart } from './chart.ts';
import { chartPoints } from './write.ts';

const root = path.resolve(fileURLToPath(import.meta.url), '../../..');
const kind = process.argv[2] ?? 'latest';
const json = JSON.parse(readFileSync(path.join(root, `bench/results/${kind}.json`), 'utf8')) as {
  raw: { workload: string; metric: string; ours: number[]; baseline: number[] }[];
  figures: { workload: string; metric: string; unit: string; better: 'lower' | 'higher'; baseline: { name: string } }[];
  details: { workload: string; metric: string; unit: string; values: number[] }[];
};
const results = new Results();
json.figures.forEach((f, i) => {
  const raw = json.raw[i]!;
  results.figure({ workload: f.workload, metric: f.metric, unit: f.unit, better: f.better, ours: raw.ours, baselineName: f.baseline.name, baseline: raw.baseline });
});
for (const d of json.details) results.detail(d.workload, d.metric, d.unit, d.values);
const out = path.join(root, `bench/results/${kind === 'latest' ? 'wake-vs-memory' : `wake-vs-memory-${kind}`}.svg`);
writeFileSync(out, wakeChart(chartPoints(results), 'Wake latency against memory size'));
console.log(`wrote ${path.relative(root, out)}`);
