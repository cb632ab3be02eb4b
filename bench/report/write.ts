/**
 * Writes a run's outputs: the table on stdout, bench/results/<name>.json, the SVG chart and, for a
 * full run, docs/performance.md. A --quick or --only run writes quick.json / partial.json and
 * leaves docs/performance.md (the last full run) alone.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Results, type Detail, type FigureJson } from '../lib/results.ts';
import { sh } from '../lib/sh.ts';
import { summarize } from '../lib/stats.ts';
import { wakeChart, type ChartPoint } from './chart.ts';
import { DETAIL_HEADER, FIGURE_HEADER, detailRows, figureRows, markdownTable, textTable } from './format.ts';
import { performanceDoc } from './doc.ts';

const ROOT = path.resolve(fileURLToPath(import.meta.url), '../../..');

export interface RunInfo {
  quick: boolean;
  /** With --only: also replace these figures in latest.json (and the doc), keeping the others. */
  intoLatest?: boolean;
  runs: number;
  only?: string[];
  startedAt: Date;
  finishedAt: Date;
  log(line: string): void;
}

export interface Machine {
  kernel: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  versions: Record<string, string>;
  loadavg: number[];
}

async function version(cmd: string, args: string[], pattern: RegExp): Promise<string> {
  const r = await sh(cmd, args, { check: false }).catch(() => undefined);
  return pattern.exec(`${r?.stdout ?? ''}${r?.stderr ?? ''}`)?.[1] ?? 'unknown';
}

export async function machine(): Promise<Machine> {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  return {
    kernel: os.release(),
    cpu: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    versions: {
      runc: await version('runc', ['--version'], /runc version (\S+)/),
      criu: await version('criu', ['--version'], /Version: (\S+)/),
      containerd: await version('containerd', ['--version'], /containerd \S+ v?(\S+)/),
      node: process.versions.node,
    },
    loadavg: os.loadavg().map((v) => Math.round(v * 100) / 100),
  };
}

export function chartPoints(results: Results): ChartPoint[] {
  const points: ChartPoint[] = [];
  const image = (workload: string, who: 'ours' | 'raw') =>
    results.details.find((d) => d.workload === workload && d.metric === `${who}: checkpoint image`)
      ?.values[0] ?? 0;
  /** "node-app, 1 GiB heap" at 1050 MiB -> "node-app 1050 MiB": short enough to sit by its point. */
  const label = (workload: string, mib: number) =>
    `${workload.split(',')[0]} ${mib >= 10 ? mib.toFixed(0) : mib.toFixed(1)} MiB`;
  for (const f of results.figures.filter((f) => f.metric === 'wake → full response')) {
    const o = summarize(f.ours);
    const b = summarize(f.baseline);
    const lazy = f.baselineName.includes('lazy');
    if (o.n > 0 && !lazy)
      points.push({
        label: label(f.workload, image(f.workload, 'ours')),
        series: 'ours',
        x: image(f.workload, 'ours'),
        ...o,
      });
    if (b.n > 0)
      points.push({
        label: f.workload,
        series: lazy ? 'raw lazy' : 'raw',
        x: image(f.workload, 'raw'),
        ...b,
      });
  }
  return points;
}

/** What bench/results/latest.json holds (what the doc is made from). */
export interface RunJson {
  runs: number;
  startedAt: string;
  finishedAt: string;
  machine: Machine;
  figures: FigureJson[];
  details: (Detail & { n: number })[];
  notes: string[];
  failures: string[];
}

/** docs/performance.md from a run's JSON (also used by report/regen.ts after editing the prose). */
export function writeDoc(json: RunJson, chart: string | undefined): void {
  const figureNotes = json.figures.filter((f) => f.note).map((f) => `${f.workload}, ${f.metric}: ${f.note}`);
  const doc = performanceDoc({
    figures: markdownTable(FIGURE_HEADER, figureRows(json.figures)),
    details: markdownTable(DETAIL_HEADER, detailRows(json.details)),
    notes: [...figureNotes, ...json.notes],
    failures: json.failures,
    machine: json.machine,
    runs: json.runs,
    startedAt: new Date(json.startedAt),
    durationMin: (Date.parse(json.finishedAt) - Date.parse(json.startedAt)) / 60_000,
    chart,
  });
  mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
  writeFileSync(path.join(ROOT, 'docs/performance.md'), doc);
}

export async function writeReports(results: Results, run: RunInfo): Promise<void> {
  const figures = results.figuresJson();
  const m = await machine();
  const kind = run.only ? 'partial' : run.quick ? 'quick' : 'latest';
  const out = path.join(ROOT, 'bench/results');
  mkdirSync(out, { recursive: true });

  const header = `zeropod-ts benchmark (${kind}): ${run.runs} runs per figure${run.quick ? ' (--quick: fewer runs and cases than the full suite)' : ''}`;
  run.log(`\n${header}\n`);
  run.log(textTable(FIGURE_HEADER, figureRows(figures)));
  const figureNotes = figures.filter((f) => f.note).map((f) => `${f.workload}, ${f.metric}: ${f.note}`);
  for (const n of figureNotes) run.log(`  ${n}`);
  if (results.details.length > 0)
    run.log(`\nwhere the time goes\n${textTable(DETAIL_HEADER, detailRows(results.details))}`);
  for (const n of results.notes) run.log(`note: ${n}`);
  for (const f of results.failures) run.log(`FAILED: ${f}`);

  const json: RunJson & Record<string, unknown> = {
    kind,
    runs: run.runs,
    quick: run.quick,
    ...(run.only ? { only: run.only } : {}),
    startedAt: run.startedAt.toISOString(),
    finishedAt: run.finishedAt.toISOString(),
    machine: m,
    figures,
    details: results.details.map((d) => ({
      workload: d.workload,
      metric: d.metric,
      unit: d.unit,
      ...summarize(d.values),
      values: d.values,
    })),
    raw: results.figures.map((f) => ({
      workload: f.workload,
      metric: f.metric,
      ours: f.ours,
      baseline: f.baseline,
    })),
    notes: results.notes,
    failures: results.failures,
  };
  const jsonPath = path.join(out, `${kind}.json`);
  writeFileSync(jsonPath, JSON.stringify(json, null, 1) + '\n');
  const points = chartPoints(results);
  const svg = points.length > 0 ? wakeChart(points, 'Wake latency against memory size') : undefined;
  const svgPath = path.join(out, `${kind === 'latest' ? 'wake-vs-memory' : `wake-vs-memory-${kind}`}.svg`);
  if (svg) writeFileSync(svgPath, svg);
  run.log(`\nwrote ${path.relative(ROOT, jsonPath)}${svg ? ` and ${path.relative(ROOT, svgPath)}` : ''}`);
  if (kind === 'latest') {
    writeDoc(json, svg ? 'bench/results/wake-vs-memory.svg' : undefined);
    run.log('wrote docs/performance.md');
  } else if (run.intoLatest && run.only && results.figures.length === 0) {
    run.log('nothing measured: latest.json and docs/performance.md left as they are');
  } else if (run.intoLatest && run.only) {
    mergeIntoLatest(json, run.only);
    run.log('merged into bench/results/latest.json and rewrote docs/performance.md');
  }
}

export type StoredJson = RunJson & {
  raw: { workload: string; metric: string; ours: number[]; baseline: number[] }[];
};

/**
 * Replaces latest.json's figures and details for the workloads this partial run measured (each
 * figure still pairs ours and its baseline from one run) and says so in the notes.
 */
function mergeIntoLatest(part: RunJson & Record<string, unknown>, only: string[]): void {
  const file = path.join(ROOT, 'bench/results/latest.json');
  const latest = JSON.parse(readFileSync(file, 'utf8')) as StoredJson;
  const fresh = part as unknown as StoredJson;
  const workloads = new Set([
    ...fresh.figures.map((f) => f.workload),
    ...fresh.details.map((d) => d.workload),
  ]);
  const keep = latest.figures.map((f) => !workloads.has(f.workload));
  latest.figures = [...latest.figures.filter((_, i) => keep[i]), ...fresh.figures];
  latest.raw = [...latest.raw.filter((_, i) => keep[i]), ...fresh.raw];
  latest.details = [...latest.details.filter((d) => !workloads.has(d.workload)), ...fresh.details];
  latest.notes = [
    ...latest.notes.filter((n) => ![...workloads].some((w) => n.startsWith(`${w}:`))),
    ...[...workloads].map(
      (w) =>
        `${w}: figures from a later run (--only ${only.join(',')}, ${fresh.startedAt.slice(0, 16).replace('T', ' ')} UTC)`,
    ),
    ...fresh.notes,
  ];
  latest.failures = [
    ...latest.failures.filter((f) => !only.some((c) => f.startsWith(`${c}:`) || f.startsWith(`${c} `))),
    ...fresh.failures,
  ];
  writeFileSync(file, JSON.stringify(latest, null, 1) + '\n');
  const points = chartPoints(resultsFromJson(latest));
  if (points.length > 0)
    writeFileSync(
      path.join(ROOT, 'bench/results/wake-vs-memory.svg'),
      wakeChart(points, 'Wake latency against memory size'),
    );
  writeDoc(latest, points.length > 0 ? 'bench/results/wake-vs-memory.svg' : undefined);
}

/** The figures and details of a stored run, back as Results (to draw its chart again). */
export function resultsFromJson(json: StoredJson): Results {
  const results = new Results();
  json.figures.forEach((f, i) => {
    const raw = json.raw[i];
    if (!raw) return;
    results.figure({
      workload: f.workload,
      metric: f.metric,
      unit: f.unit,
      better: f.better,
      ours: raw.ours,
      baselineName: f.baseline.name,
      baseline: raw.baseline,
    });
  });
  for (const d of json.details) results.detail(d.workload, d.metric, d.unit, d.values);
  return results;
}
