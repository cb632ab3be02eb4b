/** Draws a results file's chart again (after changing chart.ts): tsx bench/report/chart-preview.ts [latest|quick|partial] */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { wakeChart } from './chart.ts';
import { chartPoints, resultsFromJson, type StoredJson } from './write.ts';

const root = path.resolve(fileURLToPath(import.meta.url), '../../..');
const kind = process.argv[2] ?? 'latest';
const json = JSON.parse(readFileSync(path.join(root, `bench/results/${kind}.json`), 'utf8')) as StoredJson;
const out = path.join(
  root,
  `bench/results/${kind === 'latest' ? 'wake-vs-memory' : `wake-vs-memory-${kind}`}.svg`,
);
writeFileSync(out, wakeChart(chartPoints(resultsFromJson(json)), 'Wake latency against memory size'));
console.log(`wrote ${path.relative(root, out)}`);
