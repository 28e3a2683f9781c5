/**
 * Inline SVG charts for the run report: no scripts, no fonts beyond the page's own, so the page
 * renders offline. Every string that reaches the markup goes through `escapeHtml`.
 */

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Colour of series or label i (ten well separated hues, then repeated). */
export function colour(i: number): string {
  const palette = [
    '#1f77b4',
    '#ff7f0e',
    '#2ca02c',
    '#d62728',
    '#9467bd',
    '#8c564b',
    '#e377c2',
    '#7f7f7f',
    '#bcbd22',
    '#17becf',
  ];
  return palette[i % palette.length]!;
}

/** About `count` round tick values (1, 2 or 5 × 10^k apart) covering [low, high]. */
export function niceTicks(low: number, high: number, count = 5): number[] {
  if (!(high > low)) return [low];
  const rough = (high - low) / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough)!;
  const ticks: number[] = [];
  for (let t = Math.ceil(low / step) * step; t <= high + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function formatTick(value: number): string {
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  return magnitude >= 1e4 || magnitude < 1e-3 ? value.toExponential(1) : String(Number(value.toPrecision(4)));
}

export interface Series {
  readonly name: string;
  readonly points: readonly (readonly [x: number, y: number])[];
}

interface Frame {
  readonly x: (value: number) => number;
  readonly y: (value: number) => number;
  readonly markup: string[];
}

const WIDTH = 560;
const HEIGHT = 300;
const MARGIN = { left: 64, right: 150, top: 28, bottom: 44 };

function extent(values: readonly number[]): [number, number] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return [0, 1];
  const low = Math.min(...finite);
  const high = Math.max(...finite);
  // A little room so that points on the extremes do not sit on the frame.
  const pad = low === high ? (low === 0 ? 1 : Math.abs(low) * 0.05) : (high - low) * 0.04;
  return [low - pad, high + pad];
}

/** Axes, ticks, grid and labels for the given data ranges. */
function frame(title: string, xLabel: string, yLabel: string, xs: readonly number[], ys: readonly number[]): Frame {
  const [x0, x1] = extent(xs);
  const [y0, y1] = extent(ys);
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (v: number) => MARGIN.left + ((v - x0) / (x1 - x0)) * plotWidth;
  const y = (v: number) => MARGIN.top + plotHeight - ((v - y0) / (y1 - y0)) * plotHeight;
  const markup = [
    `<text x="${WIDTH / 2}" y="16" text-anchor="middle" class="chart-title">${escapeHtml(title)}</text>`,
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#999"/>`,
  ];
  for (const tick of niceTicks(x0, x1)) {
    markup.push(
      `<line x1="${x(tick).toFixed(1)}" x2="${x(tick).toFixed(1)}" y1="${MARGIN.top}" y2="${MARGIN.top + plotHeight}" stroke="#eee"/>`,
    );
    markup.push(
      `<text x="${x(tick).toFixed(1)}" y="${MARGIN.top + plotHeight + 16}" text-anchor="middle">${formatTick(tick)}</text>`,
    );
  }
  for (const tick of niceTicks(y0, y1)) {
    markup.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}" stroke="#eee"/>`,
    );
    markup.push(
      `<text x="${MARGIN.left - 6}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end">${formatTick(tick)}</text>`,
    );
  }
  markup.push(
    `<text x="${MARGIN.left + plotWidth / 2}" y="${HEIGHT - 6}" text-anchor="middle">${escapeHtml(xLabel)}</text>`,
  );
  markup.push(
    `<text transform="translate(14 ${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(yLabel)}</text>`,
  );
  return { x, y, markup };
}

const OTHER_COLOUR = '#bbb';

function legend(entries: readonly { name: string; fill: string }[]): string[] {
  return entries.map(({ name, fill }, i) => {
    const top = MARGIN.top + 4 + i * 16;
    const left = WIDTH - MARGIN.right + 10;
    return `<rect x="${left}" y="${top}" width="10" height="10" fill="${fill}"/><text x="${left + 14}" y="${top + 9}">${escapeHtml(name)}</text>`;
  });
}

function svg(kind: string, content: readonly string[]): string {
  return (
    `<svg class="chart ${kind}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" ` +
    `width="${WIDTH}" height="${HEIGHT}" role="img">${content.join('')}</svg>`
  );
}

/** Lines with point markers, one colour per series; non-finite points are left out. */
export function lineChart(title: string, xLabel: string, yLabel: string, series: readonly Series[]): string {
  const finite = series.map((s) => ({
    name: s.name,
    points: s.points.filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py)),
  }));
  const all = finite.flatMap((s) => s.points);
  const { x, y, markup } = frame(
    title,
    xLabel,
    yLabel,
    all.map((p) => p[0]),
    all.map((p) => p[1]),
  );
  finite.forEach((s, i) => {
    const path = s.points.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(' ');
    markup.push(`<polyline class="series" fill="none" stroke="${colour(i)}" stroke-width="2" points="${path}"/>`);
    for (const [px, py] of s.points)
      markup.push(`<circle cx="${x(px).toFixed(1)}" cy="${y(py).toFixed(1)}" r="2.5" fill="${colour(i)}"/>`);
  });
  return svg('line-chart', [...markup, ...legend(finite.map((s, i) => ({ name: s.name, fill: colour(i) })))]);
}

/** Points coloured by label (the ten most frequent labels get colours, the rest are grey "other"). */
export function scatterChart(
  title: string,
  xLabel: string,
  yLabel: string,
  points: readonly { x: number; y: number; label: string }[],
): string {
  const counts = new Map<string, number>();
  for (const p of points) counts.set(p.label, (counts.get(p.label) ?? 0) + 1);
  const shown = [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 10)
    .map(([label]) => label)
    .sort();
  const index = new Map(shown.map((label, i) => [label, i]));
  const { x, y, markup } = frame(
    title,
    xLabel,
    yLabel,
    points.map((p) => p.x),
    points.map((p) => p.y),
  );
  for (const p of points) {
    const i = index.get(p.label);
    markup.push(
      `<circle class="point" cx="${x(p.x).toFixed(1)}" cy="${y(p.y).toFixed(1)}" r="2.5" ` +
        `fill="${i === undefined ? OTHER_COLOUR : colour(i)}" fill-opacity="0.75"/>`,
    );
  }
  const entries = shown.map((name, i) => ({ name, fill: colour(i) }));
  if (counts.size > shown.length) entries.push({ name: 'other', fill: OTHER_COLOUR });
  return svg('scatter-chart', [...markup, ...legend(entries)]);
}
