/** An SVG chart of wake latency against checkpoint image size, ours and raw runc (pure). */
export interface ChartPoint {
  label: string;
  series: 'ours' | 'raw' | 'raw lazy';
  /** Checkpoint image size, MiB. */
  x: number;
  min: number;
  median: number;
  max: number;
}

const W = 720;
const H = 420;
const M = { left: 70, right: 170, top: 40, bottom: 60 };
const COLORS = { ours: '#d9480f', raw: '#1c7ed6', 'raw lazy': '#2b8a3e' } as const;
const NAMES = {
  ours: 'ours (zeropod shim)',
  raw: 'raw runc restore',
  'raw lazy': 'raw, --lazy-pages',
} as const;

export function wakeChart(points: readonly ChartPoint[], title: string): string {
  const pts = points.filter((p) => p.x > 0 && Number.isFinite(p.median));
  const xs = pts.map((p) => p.x);
  const xMin = Math.max(0.05, Math.min(...xs, 1) / 2);
  const xMax = Math.max(...xs, 10) * 2;
  // Scaled to the medians: a stray max (another tenant's burst) is clipped, marked by an arrow.
  const yMax = niceCeil(Math.max(...pts.map((p) => p.median), 100) * 1.6);
  const lx = (v: number) =>
    M.left +
    ((Math.log10(v) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))) * (W - M.left - M.right);
  const ly = (v: number) => H - M.bottom - (v / yMax) * (H - M.top - M.bottom);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(
    `<text x="${W / 2 - M.right / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>`,
  );
  // Axes and grid.
  for (let d = Math.ceil(Math.log10(xMin)); d <= Math.floor(Math.log10(xMax)); d++) {
    const v = 10 ** d;
    out.push(`<line x1="${lx(v)}" y1="${M.top}" x2="${lx(v)}" y2="${H - M.bottom}" stroke="#eee"/>`);
    out.push(
      `<text x="${lx(v)}" y="${H - M.bottom + 18}" text-anchor="middle">${v >= 1 ? v : v.toFixed(1)}</text>`,
    );
  }
  const step = niceCeil(yMax / 6);
  for (let v = 0; v <= yMax; v += step) {
    out.push(`<line x1="${M.left}" y1="${ly(v)}" x2="${W - M.right}" y2="${ly(v)}" stroke="#eee"/>`);
    out.push(`<text x="${M.left - 8}" y="${ly(v) + 4}" text-anchor="end">${v}</text>`);
  }
  out.push(
    `<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" stroke="#333"/>`,
  );
  out.push(`<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${H - M.bottom}" stroke="#333"/>`);
  out.push(
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 15}" text-anchor="middle">checkpoint image size (MiB, log scale)</text>`,
  );
  out.push(
    `<text x="18" y="${(M.top + H - M.bottom) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(M.top + H - M.bottom) / 2})">wake → full response (ms): median, min–max</text>`,
  );
  const offsets = [-1, 1];
  (['raw', 'raw lazy', 'ours'] as const).forEach((series, si) => {
    const s = pts.filter((p) => p.series === series).sort((a, b) => a.x - b.x);
    const color = COLORS[series];
    const dx = (si - 1) * 4; // side by side where the sizes coincide
    if (s.length > 1)
      out.push(
        `<polyline fill="none" stroke="${color}" stroke-width="1.5" stroke-dasharray="4 3" points="${s.map((p) => `${lx(p.x) + dx},${ly(p.median)}`).join(' ')}"/>`,
      );
    s.forEach((p, i) => {
      const x = lx(p.x) + dx;
      const top = Math.min(p.max, yMax);
      out.push(`<line x1="${x}" y1="${ly(p.min)}" x2="${x}" y2="${ly(top)}" stroke="${color}"/>`);
      if (p.max > yMax)
        out.push(
          `<path d="M${x - 4},${ly(yMax) + 6} L${x},${ly(yMax)} L${x + 4},${ly(yMax) + 6}" fill="none" stroke="${color}"><title>max ${p.max.toFixed(0)} ms</title></path>`,
        );
      out.push(
        `<circle cx="${x}" cy="${ly(p.median)}" r="4" fill="${color}"><title>${esc(`${NAMES[series]}, ${p.label}: median ${p.median.toFixed(0)} ms, ${p.x.toFixed(1)} MiB`)}</title></circle>`,
      );
      if (series === 'ours') {
        const below = offsets[i % 2]! > 0 && ly(p.median) + 20 < H - M.bottom - 4;
        out.push(
          `<text x="${x}" y="${below ? ly(p.median) + 20 : ly(p.median) - 12}" text-anchor="middle" fill="#444" font-size="11">${esc(p.label)}</text>`,
        );
      }
    });
  });
  const legendX = W - M.right + 20;
  (['ours', 'raw', 'raw lazy'] as const).forEach((series, i) => {
    if (!pts.some((p) => p.series === series)) return;
    const y = M.top + 10 + i * 20;
    out.push(
      `<circle cx="${legendX}" cy="${y}" r="4" fill="${COLORS[series]}"/><text x="${legendX + 10}" y="${y + 4}">${NAMES[series]}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
