import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REPORT_DATA_FILE,
  REPORT_DATA_FORMAT,
  readReportData,
  neighbourGallery,
  worstFirst,
  writeReportData,
} from '../../../core/report/report-data.js';
import { renderReportHtml, writeReport } from '../../../core/report/render.js';
import { readTrainingLog, curveKind } from '../../../core/report/training-log.js';
import { niceTicks } from '../../../core/report/svg.js';
import { EPOCHS, writeSyntheticRun } from './synthetic-run.js';

const CHROMIUM = '/usr/bin/chromium';
const dir = mkdtempSync(join(tmpdir(), 'simkit-report-'));
const runDir = join(dir, 'run');
const emptyRun = join(dir, 'empty');

function run(command: string, args: string[], cwd = dir): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, maxBuffer: 64 * 1024 * 1024, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function chromium(...args: string[]) {
  const profile = mkdtempSync(join(dir, 'profile-'));
  const flags = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--enable-logging=stderr',
    '--v=0',
    `--user-data-dir=${profile}`,
  ];
  return run(CHROMIUM, [...flags, ...args]);
}

beforeAll(async () => {
  await writeSyntheticRun(runDir);
  readdirSync(dir);
  rmSync(emptyRun, { recursive: true, force: true });
  await import('node:fs/promises').then((fs) => fs.mkdir(emptyRun));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('run report inputs', () => {
  it('reads the training log: epochs in order, nested fields flattened, summary kept, bad lines reported', async () => {
    const log = await readTrainingLog(runDir);
    expect(log.epochs.map((e) => e.epoch)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(log.epochs[3]!.values['validation.precisionAt1']).toBeCloseTo(0.71, 12);
    expect(log.summary).toMatchObject({ epochs: EPOCHS, bestEpoch: EPOCHS - 1 });
    expect(log.problems).toEqual(['line 3: not valid JSON']);
  });

  it('sorts curves into charts by field name', () => {
    expect(
      ['loss', 'validation.loss', 'learningRate', 'lr', 'validation.precisionAt1', 'seconds', 'dataWait'].map(
        curveKind,
      ),
    ).toEqual(['loss', 'loss', 'learning rate', 'learning rate', 'metric', 'other', 'other']);
  });

  it('round-trips report.json and refuses a file of another format without throwing', async () => {
    expect((await readReportData(runDir)).data?.competition).toBe('synthetic');
    const other = mkdtempSync(join(dir, 'other-'));
    writeFileSync(join(other, REPORT_DATA_FILE), '{"format":"x"}');
    expect(await readReportData(other)).toEqual({
      data: null,
      problem: `${join(other, REPORT_DATA_FILE)} is not a simkit-report/1 file`,
    });
  });

  it('orders the gallery worst first and builds it from neighbour rows without the query itself', () => {
    const item = (id: string, label: string) => ({ id, labels: [label], imagePath: `/img/${id}.png`, extra: {} });
    const queries = [item('a', '1'), item('b', '2'), item('c', '1')];
    const gallery = [item('a', '1'), item('x', '2'), item('y', '1'), item('z', '3')];
    const rows = [
      { indices: [0, 2, 1], similarities: [1, 0.9, 0.5] }, // self, then correct: AP 1
      { indices: [1, 3], similarities: [0.9, 0.8] }, // correct first: AP 1, first wrong at 0.8
      { indices: [3, 2], similarities: [0.95, 0.6] }, // wrong first, correct second: AP 1/2
    ];
    const result = neighbourGallery(queries, gallery, rows, { count: 2, k: 2 });
    expect(result.queries.map((q) => q.id)).toEqual(['c', 'b']);
    expect(result.queries[0]!.neighbours.map((n) => n.id)).toEqual(['z', 'y']);
    expect(result.queries[0]!.image).toBe('/img/c.png');
    const all = neighbourGallery(queries, gallery, rows, { k: 2 });
    expect(all.queries.map((q) => q.id)).toEqual(['c', 'b', 'a']); // a has no wrong neighbour: ties broken by it last
    expect(worstFirst(all.queries).map((q) => q.id)).toEqual(['c', 'b', 'a']);
  });

  it('chooses round tick values', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.83, 0.91)).toEqual([0.84, 0.86, 0.88, 0.9]);
  });
});

describe('run report page', () => {
  it('holds every section, nothing fetched from outside, thumbnails as data URIs', async () => {
    const { html, problems } = await renderReportHtml(runDir);
    expect(problems).toEqual(['log.jsonl line 3: not valid JSON']);
    expect(html).not.toContain('not recorded');
    expect(html.match(/<svg class="chart line-chart"/g)).toHaveLength(4); // losses, metrics, learning rate, tuning
    expect(html.match(/<svg class="chart scatter-chart"/g)).toHaveLength(1);
    expect(html.match(/<circle class="point"/g)).toHaveLength(90);
    for (const [, value] of html.matchAll(/\s(?:src|href)="([^"]*)"/g))
      expect(value).toMatch(/^data:image\/png;base64,/);
    expect(html).not.toMatch(/<script|<link|@import|url\(/);
    // Worst query (q-bad: wrong neighbour first) comes before q-good; the missing image is a placeholder.
    expect(html.indexOf('q-bad')).toBeLessThan(html.indexOf('q-good'));
    expect(html.match(/<figure class="match correct">/g)).toHaveLength(4);
    expect(html.match(/<figure class="match wrong">/g)).toHaveLength(2);
    expect(html.match(/<div class="no-image"/g)).toHaveLength(1);
  });

  it("draws a many-option tuning as one sweep per option through the kept setting; a second model's log gets its own section", async () => {
    const tuned = join(dir, 'tuned');
    await import('node:fs/promises').then((fs) => fs.mkdir(tuned));
    const values = [0.5, 0.7, 0.9];
    const points = values.flatMap((a) =>
      values.flatMap((b) => values.map((c) => ({ overrides: { a, b, c }, score: a + b - c }))),
    );
    await writeReportData(tuned, {
      format: REPORT_DATA_FORMAT,
      competition: 'x',
      title: 'x',
      createdAt: '2026-01-01T00:00:00.000Z',
      metric: { name: 'F1', higherIsBetter: true },
      tuning: { points, best: { a: 0.9, b: 0.9, c: 0.5 } },
    });
    const { html } = await renderReportHtml(tuned);
    expect(html).toContain('27 settings tried; each chart varies one option');
    for (const option of ['a', 'b', 'c']) expect(html).toContain(`Validation F1 vs ${option}`);
    // Each sweep holds the three settings that differ from the kept one in its option only.
    expect(html.match(/<svg class="chart line-chart"/g)).toHaveLength(3);
    expect(html.match(/<polyline/g)).toHaveLength(3);

    // A second model's log in a subdirectory gets its own training section; its bad lines are named.
    await import('node:fs/promises').then((fs) => fs.mkdir(join(tuned, 'text-model')));
    const epoch = (n: number) =>
      JSON.stringify({ type: 'epoch', epoch: n, loss: 2 / n, learningRate: 0.01, validation: { 'MAP@R': n / 4 } });
    writeFileSync(join(tuned, 'text-model', 'log.jsonl'), `${epoch(1)}\n${epoch(2)}\n{oops\n`);
    const withText = await renderReportHtml(tuned);
    expect(withText.html).toContain('<h2>Training: text-model</h2>');
    expect(withText.html.match(/<svg class="chart line-chart"/g)).toHaveLength(6);
    expect(withText.problems).toEqual(['text-model/log.jsonl line 3: not valid JSON']);
  });

  it('names a tuned option still at the edge of its values, below the tuning chart', async () => {
    const walled = join(dir, 'walled');
    await import('node:fs/promises').then((fs) => fs.mkdir(walled));
    const warning = 'tuning: the best t=5 is the top of the values tried (1, 2, 3, 4, 5); widen tune["t"] <config>';
    await writeReportData(walled, {
      format: REPORT_DATA_FORMAT,
      metric: { name: 'MAP@5', higherIsBetter: true },
      tuning: {
        points: [1, 2, 3, 4, 5].map((t) => ({ overrides: { t }, score: t / 10 })),
        best: { t: 5 },
        warnings: [warning],
      },
    });
    const { html } = await renderReportHtml(walled);
    const escaped = warning.replace('<config>', '&lt;config&gt;').replace(/"/g, '&quot;');
    expect(html).toContain(`<p class="problem">${escaped}</p>`);
  });

  it('shows "not recorded" for every missing piece of an empty run directory', async () => {
    const { html, problems } = await renderReportHtml(emptyRun);
    expect(problems).toEqual([]);
    expect(html.match(/not recorded/g)).toHaveLength(6);
  });

  it('simkit report writes the page and says where; a missing directory is a one-line error', async () => {
    const tsx = fileURLToPath(import.meta.resolve('tsx'));
    const entry = fileURLToPath(new URL('../cli/entry.ts', import.meta.url));
    const ok = await run(process.execPath, ['--import', tsx, entry, 'report', runDir]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe(`${join(runDir, 'report.html')}\n`);
    expect(ok.stderr).toContain('warning: log.jsonl line 3: not valid JSON');
    expect(existsSync(join(runDir, 'report.html'))).toBe(true);
    const missing = await run(process.execPath, ['--import', tsx, entry, 'report', join(dir, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^simkit: run directory .*nope does not exist\n {2}fix: /);
  });

  it.skipIf(!existsSync(CHROMIUM))(
    'renders in headless Chromium with its charts and gallery, without errors (needs /usr/bin/chromium)',
    async () => {
      const { path } = await writeReport(runDir);
      const dom = await chromium('--dump-dom', `file://${path}`);
      expect(dom.code).toBe(0);
      expect(dom.stdout.match(/<svg class="chart line-chart"/g)).toHaveLength(4);
      expect(dom.stdout.match(/<svg class="chart scatter-chart"/g)).toHaveLength(1);
      expect(dom.stdout.match(/<img src="data:image\/png;base64,/g)).toHaveLength(7); // eight figures, one image missing
      expect(dom.stderr).not.toMatch(/CONSOLE|Failed to load|ERR_FILE_NOT_FOUND|Uncaught/);

      const screenshot = join(dir, 'report.png');
      const shot = await chromium(`--screenshot=${screenshot}`, '--window-size=1200,3600', `file://${path}`);
      expect(shot.code).toBe(0);
      const { data, info } = await sharp(screenshot).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      let inked = 0;
      let green = 0;
      let red = 0;
      for (let p = 0; p < data.length; p += info.channels) {
        const [r, g, b] = [data[p]!, data[p + 1]!, data[p + 2]!];
        if (r + g + b < 600) inked += 1;
        if (Math.abs(r - 0x2e) < 12 && Math.abs(g - 0x7d) < 12 && Math.abs(b - 0x32) < 12) green += 1;
        if (Math.abs(r - 0xc6) < 12 && Math.abs(g - 0x28) < 12 && Math.abs(b - 0x28) < 12) red += 1;
      }
      expect(inked / (info.width * info.height)).toBeGreaterThan(0.01);
      expect(green).toBeGreaterThan(4 * 4 * 72); // four green outlines, 4 px wide
      expect(red).toBeGreaterThan(2 * 4 * 72);
    },
  );
});
