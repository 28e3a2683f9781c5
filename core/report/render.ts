import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { pca } from './pca.js';
import {
  readReportData,
  REPORT_DATA_FILE,
  REPORT_FILE,
  worstFirst,
  type ReportData,
  type TuningCurve,
} from './report-data.js';
import { escapeHtml, lineChart, scatterChart, type Series } from './svg.js';
import { thumbnailDataUri } from './thumbnails.js';
import { curveKind, readTrainingLog, TRAINING_LOG_FILE, type TrainingLog } from './training-log.js';

export { REPORT_FILE };

const NOT_RECORDED = '<p class="missing">not recorded</p>';

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1180px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; }
.meta { color: #666; } .missing { color: #999; font-style: italic; } .problem { color: #b26a00; }
table { border-collapse: collapse; } td, th { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; } .chart { font-size: 11px; background: #fff; }
.chart-title { font-size: 13px; font-weight: 600; }
.query-row { display: flex; gap: 8px; align-items: flex-start; margin: 10px 0; }
figure { margin: 0; width: 100px; font-size: 11px; text-align: center; word-break: break-all; }
figure img, figure .no-image { width: 72px; height: 72px; display: block; margin: 0 auto; border: 4px solid #ccc; image-rendering: pixelated; }
figure .no-image { line-height: 72px; color: #999; background: #f6f6f6; }
figure.query img, figure.query .no-image { border-color: #555; }
figure.correct img, figure.correct .no-image { border-color: #2e7d32; }
figure.wrong img, figure.wrong .no-image { border-color: #c62828; }
.arrow { align-self: center; color: #999; }
`;

function formatValue(value: number | string | null | undefined): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'string') return escapeHtml(value);
  return Number.isInteger(value) ? String(value) : value.toFixed(4);
}

function keyValueTable(rows: readonly [string, number | string | null][]): string {
  const body = rows
    .map(([key, value]) => `<tr><th>${escapeHtml(key)}</th><td class="number">${formatValue(value)}</td></tr>`)
    .join('');
  return `<table class="summary">${body}</table>`;
}

function comparisonSection(data: ReportData | null): string {
  if (!data?.comparison || data.comparison.length === 0) return NOT_RECORDED;
  const rows = data.comparison
    .map(
      (row) =>
        `<tr><td>${escapeHtml(row.name)}</td><td>${escapeHtml(row.metric)}</td><td ` +
        `class="number">${formatValue(row.value)}</td><td>${row.source}</td><td>${escapeHtml(row.note ?? '')}</td></tr>`,
    )
    .join('');
  return `<table class="comparison"><tr><th>method</th><th>metric</th><th>value</th><th>source</th><th>note</th></tr>${rows}</table>`;
}

function trainingSection(log: TrainingLog): string {
  if (!log.found) return NOT_RECORDED;
  const parts: string[] = [];
  const groups: [title: string, kind: ReturnType<typeof curveKind>, yLabel: string][] = [
    ['Losses', 'loss', 'loss'],
    ['Metrics', 'metric', 'value'],
    ['Learning rate', 'learning rate', 'learning rate'],
  ];
  const charts = groups.map(([title, kind, yLabel]) => {
    const fields = [...new Set(log.epochs.flatMap((e) => Object.keys(e.values)))]
      .filter((field) => curveKind(field) === kind)
      .sort();
    const series: Series[] = fields.map((field) => ({
      name: field,
      points: log.epochs.filter((e) => field in e.values).map((e) => [e.epoch, e.values[field]!] as const),
    }));
    if (series.length === 0) return `<div><strong>${title}</strong>${NOT_RECORDED}</div>`;
    return lineChart(title, 'epoch', yLabel, series);
  });
  parts.push(`<div class="charts">${charts.join('')}</div>`);
  if (log.summary) parts.push(`<h3>Training summary</h3>${keyValueTable(Object.entries(log.summary))}`);
  for (const problem of log.problems)
    parts.push(`<p class="problem">${TRAINING_LOG_FILE} ${escapeHtml(problem)} (skipped)</p>`);
  return parts.join('');
}

/** Series for more lines than this are drawn as one sweep per option through the kept setting. */
const MAX_TUNING_LINES = 8;

/**
 * Score against the first tuned option, one line per combination of the other options; when that
 * makes too many lines (a large grid, coordinate ascent), one chart per option of the settings
 * that differ from the kept one in that option only. One point (nothing tuned) is a sentence.
 */
function tuningSection(tuning: TuningCurve | undefined, metric: string): string {
  if (!tuning || tuning.points.length === 0) return NOT_RECORDED;
  const options = [...new Set(tuning.points.flatMap((p) => Object.keys(p.overrides)))];
  const best = tuning.best
    ? Object.entries(tuning.best)
        .map(([key, value]) => `${key} = ${value}`)
        .join(', ')
    : '';
  const warnings = (tuning.warnings ?? []).map((warning) => `<p class="problem">${escapeHtml(warning)}</p>`).join('');
  const kept = (best ? `<p>kept: ${escapeHtml(best)}</p>` : '') + warnings;
  if (options.length === 0)
    return `<p>one setting, nothing tuned: ${metric} ${formatValue(tuning.points[0]!.score)}</p>${kept}`;
  const scored = tuning.points.filter((point) => point.score !== null);
  const lineOf = (points: readonly [number, number][]) => [...points].sort((a, b) => a[0] - b[0]);
  const [xOption, ...rest] = options as [string, ...string[]];
  const lines = new Map<string, [number, number][]>();
  for (const point of scored) {
    if (point.overrides[xOption] === undefined) continue;
    const name = rest.map((option) => `${option}=${point.overrides[option]}`).join(' ') || metric;
    lines.set(name, [...(lines.get(name) ?? []), [point.overrides[xOption], point.score!]]);
  }
  if (lines.size === 0) return `<p class="missing">no scored setting</p>${kept}`;
  if (lines.size <= MAX_TUNING_LINES || !tuning.best) {
    const series = [...lines].map(([name, points]) => ({ name, points: lineOf(points) }));
    return `<div class="charts">${lineChart(`Validation ${metric} vs ${xOption}`, xOption, metric, series)}</div>${kept}`;
  }
  const keptSetting = tuning.best;
  const charts = options.map((option) => {
    const sweep = scored.filter((point) =>
      options.every((other) => other === option || point.overrides[other] === keptSetting[other]),
    );
    const points = lineOf(sweep.map((point) => [point.overrides[option]!, point.score!]));
    return lineChart(`Validation ${metric} vs ${option}`, option, metric, [{ name: 'others as kept', points }]);
  });
  return `<p>${tuning.points.length} settings tried; each chart varies one option, the others as kept.</p><div class="charts">${charts.join('')}</div>${kept}`;
}

function embeddingSection(data: ReportData | null): string {
  const sample = data?.embeddings;
  if (!sample || sample.vectors.length < 2) return NOT_RECORDED;
  const result = pca(sample.vectors, { components: 2 });
  if (result.components.length < 2) return '<p class="missing">the embeddings vary along fewer than two directions</p>';
  const share = (variance: number) => `${((100 * variance) / result.totalVariance).toFixed(1)}%`;
  const points = result.projections.map((p, i) => ({ x: p[0]!, y: p[1]!, label: sample.labels[i] ?? '' }));
  const chart = scatterChart(
    `PCA of ${sample.vectors.length} embeddings`,
    `PC1 (${share(result.variances[0]!)} of variance)`,
    `PC2 (${share(result.variances[1]!)})`,
    points,
  );
  return `<div class="charts">${chart}</div>`;
}

async function figure(
  kind: string,
  entry: { id: string; labels: readonly string[]; image?: string },
  caption: string,
  thumbnails: Map<string, Promise<string | null>>,
): Promise<string> {
  let uri: string | null = null;
  if (entry.image) {
    if (!thumbnails.has(entry.image)) thumbnails.set(entry.image, thumbnailDataUri(entry.image));
    uri = await thumbnails.get(entry.image)!;
  }
  const title = escapeHtml(`${entry.id} (${entry.labels.join(' ') || 'no label'})`);
  const picture = uri
    ? `<img src="${uri}" alt="${title}" title="${title}">`
    : `<div class="no-image" title="${title}">no image</div>`;
  return `<figure class="${kind}">${picture}<figcaption>${escapeHtml(caption)}</figcaption></figure>`;
}

async function gallerySection(data: ReportData | null): Promise<string> {
  const queries = data?.gallery?.queries;
  if (!queries || queries.length === 0) return NOT_RECORDED;
  const thumbnails = new Map<string, Promise<string | null>>();
  const rows: string[] = [];
  for (const query of worstFirst(queries)) {
    const cells = [
      await figure('query', query, `query ${query.labels.join(' ')}`, thumbnails),
      '<span class="arrow">→</span>',
    ];
    for (const neighbour of query.neighbours) {
      const correct = neighbour.labels.some((label) => query.labels.includes(label));
      cells.push(
        await figure(
          `match ${correct ? 'correct' : 'wrong'}`,
          neighbour,
          `${neighbour.labels.join(' ')} ${neighbour.similarity.toFixed(3)}`,
          thumbnails,
        ),
      );
    }
    rows.push(`<div class="query-row">${cells.join('')}</div>`);
  }
  return `<p>Worst queries first. Outline: green = shares the query's label, red = does not. Caption: label and similarity.</p>${rows.join('')}`;
}

/** The report page of a run directory, as one self-contained HTML string. */
export async function renderReportHtml(runDir: string): Promise<{ html: string; problems: string[] }> {
  const { data, problem } = await readReportData(runDir);
  const log = await readTrainingLog(runDir);
  // A run keeps each model's log in its folder (run/<name>/log.jsonl).
  const subdirectories = (existsSync(runDir) ? readdirSync(runDir, { withFileTypes: true }) : []).filter(
    (entry) => entry.isDirectory() && existsSync(join(runDir, entry.name, TRAINING_LOG_FILE)),
  );
  const otherLogs = await Promise.all(
    subdirectories.map(async (entry) => ({ name: entry.name, log: await readTrainingLog(join(runDir, entry.name)) })),
  );
  const problems = [
    ...(problem ? [problem] : []),
    ...log.problems.map((p) => `${TRAINING_LOG_FILE} ${p}`),
    ...otherLogs.flatMap((other) => other.log.problems.map((p) => `${other.name}/${TRAINING_LOG_FILE} ${p}`)),
  ];
  const metric = data?.metric?.name ?? 'score';
  const title = data?.title ?? data?.competition ?? runDir;
  const meta = [
    data?.competition && `competition ${data.competition}`,
    data?.metric && `metric ${data.metric.name} (${data.metric.higherIsBetter ? 'higher' : 'lower'} is better)`,
    data?.createdAt && `finished ${data.createdAt}`,
    `run ${resolve(runDir)}`,
  ].filter(Boolean);
  const sections = [
    `<h1>${escapeHtml(title)}</h1><p class="meta">${meta.map((m) => escapeHtml(m as string)).join(' · ')}</p>`,
    ...(problem ? [`<p class="problem">${escapeHtml(problem)}</p>`] : []),
    `<h2>Summary</h2>${data?.summary ? keyValueTable(Object.entries(data.summary)) : NOT_RECORDED}`,
    `<h2>Comparison</h2>${comparisonSection(data)}`,
    // A run keeps each model's log in the model's folder; a bare training directory has its own.
    ...(otherLogs.length === 0 || log.found ? [`<h2>Training</h2>${trainingSection(log)}`] : []),
    ...otherLogs.map((other) => `<h2>Training: ${escapeHtml(other.name)}</h2>${trainingSection(other.log)}`),
    `<h2>Threshold tuning</h2>${tuningSection(data?.tuning, metric)}`,
    `<h2>Embeddings</h2>${embeddingSection(data)}`,
    `<h2>Nearest neighbours</h2>${await gallerySection(data)}`,
  ];
  const html =
    `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} — simkit ` +
    `report</title><style>${STYLE}</style></head><body>${sections.join('\n')}</body></html>\n`;
  return { html, problems };
}

/** Writes `<runDir>/report.html` (or `out`) atomically; returns its path and what could not be read. */
export async function writeReport(
  runDir: string,
  out = join(runDir, REPORT_FILE),
): Promise<{ path: string; problems: string[] }> {
  if (!existsSync(runDir) || !statSync(runDir).isDirectory()) {
    throw new UserError(
      `run directory ${runDir} does not exist`,
      `pass the directory holding ${REPORT_DATA_FILE} and ${TRAINING_LOG_FILE} (output/<slug>/run)`,
    );
  }
  if (![REPORT_DATA_FILE, TRAINING_LOG_FILE].some((file) => existsSync(join(runDir, file)))) {
    const nested = join(runDir, 'run');
    throw new UserError(
      `${runDir} is not a run directory: it holds neither ${REPORT_DATA_FILE} nor ${TRAINING_LOG_FILE}`,
      existsSync(join(nested, REPORT_DATA_FILE)) || existsSync(join(nested, TRAINING_LOG_FILE))
        ? `pass ${nested}`
        : `pass the directory a run or training wrote them to (output/<slug>/run)`,
    );
  }
  const { html, problems } = await renderReportHtml(runDir);
  await writeFileAtomic(out, html);
  return { path: out, problems };
}
