import { stringify } from 'csv-stringify/sync';
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
    case 'html': {
      const row = (tag: string, values: readonly string[]) =>
        `<tr>${values.map((v) => `<${tag}>${escapeHtml(v)}</${tag}>`).join('')}</tr>`;
      return `<table>\n<thead>${row('th', COLUMNS)}</thead>\n<tbody>\n${records.map((r) => row('td', cells(r, false))).join('\n')}\n</tbody>\n</table>\n`;
    }
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
