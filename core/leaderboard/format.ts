import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { stringify } from 'csv-stringify/sync';
import { REPORT_FILE } from '../report/report-data.js';
import type { RankedRecord } from './leaderboard.js';

export const LEADERBOARD_FORMATS = ['table', 'md', 'csv', 'json', 'html'] as const;
export type LeaderboardFormat = (typeof LEADERBOARD_FORMATS)[number];

const COLUMNS = [
  'rank',
  'competition',
  'metric',
  'score',
  'public',
  'private',
  'cv',
  'recorded',
  'commit',
  'run',
  'submission',
] as const;

function cells(record: RankedRecord, exact: boolean): string[] {
  const number = (value: number | null) => (value === null ? '' : exact ? String(value) : value.toFixed(6));
  return [
    record.rank === null ? '' : String(record.rank),
    record.competition,
    `${record.metric} (${record.higherIsBetter ? 'higher' : 'lower'} is better)`,
    number(record.score),
    number(record.public),
    number(record.private),
    number(record.cv),
    record.recordedAt,
    record.gitCommit === null ? '' : exact ? record.gitCommit : record.gitCommit.slice(0, 10),
    record.runId,
    record.submissionPath ?? '',
  ];
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

/**
 * The HTML report of the run that wrote a recorded submission, where it still exists: `simkit run`
 * writes `<out>/submission.csv` and `<out>/run/report.html`. A later run into the same folder
 * replaces both, so the link shows the folder's latest report (the page says so).
 */
export function runReportPath(record: RankedRecord): string | undefined {
  if (record.submissionPath === null) return undefined;
  const report = join(dirname(record.submissionPath), 'run', REPORT_FILE);
  return existsSync(report) ? report : undefined;
}

const PAGE_STYLE = `body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin-bottom: 2rem; } th, td { padding: 0.3rem 0.7rem; text-align: left; }
th { border-bottom: 2px solid #444; } td { border-bottom: 1px solid #ddd; } td.number { text-align: right; font-variant-numeric: tabular-nums; }
.meta { color: #666; } .missing { color: #999; }`;

/**
 * A self-contained page (no script, no external file): one table per competition with each run's
 * rank, score, public and private score, validation score, when and at which commit it was
 * recorded, and links to its report and submission.
 */
function leaderboardPage(records: readonly RankedRecord[]): string {
  const link = (path: string | undefined, text: string) =>
    path === undefined
      ? `<span class="missing">—</span>`
      : `<a href="${escapeHtml(pathToFileURL(path).href)}">${escapeHtml(text)}</a>`;
  const number = (value: number | null) =>
    `<td class="number">${value === null ? '<span class="missing">—</span>' : value.toFixed(6)}</td>`;
  const byCompetition = new Map<string, RankedRecord[]>();
  for (const record of records)
    byCompetition.set(record.competition, [...(byCompetition.get(record.competition) ?? []), record]);
  const sections = [...byCompetition].map(([competition, runs]) => {
    const first = runs[0]!;
    const rows = runs.map(
      (r) =>
        `<tr><td class="number">${r.rank ?? '—'}</td>${number(r.score)}${number(r.public)}${number(r.private)}${number(r.cv)}` +
        `<td>${escapeHtml(r.recordedAt)}</td><td>${escapeHtml(r.gitCommit?.slice(0, 10) ?? '')}</td>` +
        `<td>${link(runReportPath(r), 'report')}</td><td>${link(r.submissionPath ?? undefined, 'submission')}</td>` +
        `<td class="meta">${escapeHtml(r.runId)}</td></tr>`,
    );
    return (
      `<h2>${escapeHtml(competition)}</h2>\n<p class="meta">${escapeHtml(first.metric)}, ${first.higherIsBetter ? 'higher' : 'lower'} is better; ` +
      `${runs.length} run(s)</p>\n<table>\n<thead><tr><th>rank</th><th>score</th><th>public</th><th>private</th><th>cv</th>` +
      `<th>recorded</th><th>commit</th><th>report</th><th>submission</th><th>run</th></tr></thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n</table>`
    );
  });
  const body = sections.length > 0 ? sections.join('\n') : '<p class="missing">no runs recorded</p>';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>simkit leaderboard</title>
<style>
${PAGE_STYLE}
</style>
</head>
<body>
<h1>simkit leaderboard</h1>
<p class="meta">score: over every scored row of the solution; public and private: Kaggle's two subsets;
cv: the validation split. A report link opens the latest report written in that run's folder.</p>
${body}
</body>
</html>
`;
}

/** Renders ranked records; `json` and `csv` keep full precision, the others round to 6 decimals. */
export function formatLeaderboard(records: readonly RankedRecord[], format: LeaderboardFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(records)}\n`;
    case 'csv':
      return stringify([
        [...COLUMNS, 'sha256', 'config'],
        ...records.map((r) => [
          ...cells(r, true),
          r.submissionSha256 ?? '',
          r.config === null ? '' : JSON.stringify(r.config),
        ]),
      ]);
    case 'md': {
      const rows = [
        COLUMNS,
        COLUMNS.map(() => '---'),
        ...records.map((r) => cells(r, false).map((c) => c.replace(/\|/g, '\\|'))),
      ];
      return `${rows.map((row) => `| ${row.join(' | ')} |`).join('\n')}\n`;
    }
    case 'html':
      return leaderboardPage(records);
    case 'table': {
      const rows = [[...COLUMNS], ...records.map((r) => cells(r, false))];
      const widths = COLUMNS.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
      return `${rows
        .map((row) =>
          row
            .map((c, i) => c.padEnd(widths[i]!))
            .join('  ')
            .trimEnd(),
        )
        .join('\n')}\n`;
    }
  }
}
