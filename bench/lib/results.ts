/** What a run produces: figures (ours next to a baseline), details (where the time goes), notes. */
import { summarize, type Summary } from './stats.ts';

export interface Figure {
  workload: string;
  metric: string;
  unit: string;
  /** 'lower' for times and memory, 'higher' for throughput: only for reading the ratio. */
  better: 'lower' | 'higher';
  ours: number[];
  baselineName: string;
  baseline: number[];
  note?: string;
}

export interface Detail {
  workload: string;
  metric: string;
  unit: string;
  values: number[];
}

export interface FigureJson {
  workload: string;
  metric: string;
  unit: string;
  better: 'lower' | 'higher';
  ours: Summary;
  baseline: { name: string } & Summary;
  /** median(ours) / median(baseline) */
  ratio: number | null;
  note?: string;
}

export class Results {
  readonly figures: Figure[] = [];
  readonly details: Detail[] = [];
  readonly notes: string[] = [];
  readonly failures: string[] = [];

  figure(f: Figure): void {
    this.figures.push(f);
  }

  detail(workload: string, metric: string, unit: string, values: number[]): void {
    if (values.length > 0) this.details.push({ workload, metric, unit, values });
  }

  note(line: string): void {
    this.notes.push(line);
  }

  figuresJson(): FigureJson[] {
    return this.figures.map((f) => {
      const ours = summarize(f.ours);
      const base = summarize(f.baseline);
      const ratio = base.median > 0 && Number.isFinite(ours.median) ? ours.median / base.median : null;
      return {
        workload: f.workload,
        metric: f.metric,
        unit: f.unit,
        better: f.better,
        ours,
        baseline: { name: f.baselineName, ...base },
        ratio,
        ...(f.note ? { note: f.note } : {}),
      };
    });
  }
}
