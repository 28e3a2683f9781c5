import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../core/cli/main.js';
import { Simkit } from '../../../core/di/container.js';
import { externalModules } from '../../../core/plugin-loader/external.js';
import { REPO_ROOT } from '../../repo-root.js';

const inversify = pathToFileURL(join(REPO_ROOT, 'node_modules', 'inversify', 'lib', 'index.js')).href;
const tokens = pathToFileURL(join(REPO_ROOT, 'core', 'contracts', 'component-tokens.ts')).href;

function pluginFile(dir: string, name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `import { ContainerModule } from ${JSON.stringify(inversify)};\n${body}\n`);
  return file;
}

describe('external plugins', () => {
  afterEach(() => {
    delete process.env.SIMKIT_PLUGINS;
    vi.restoreAllMocks();
  });

  it('loads plugins from simkit.config.json, SIMKIT_PLUGINS and simkit-plugin-* packages, reporting a broken one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'simkit-plugins-'));
    const metricPlugin = pluginFile(
      dir,
      'metric.mjs',
      `
import { TOKENS } from ${JSON.stringify(tokens)};
const metric = {
  name: 'exact-match', higherIsBetter: true, predictionFormat: 'one label',
  parseTruth: (cell) => ({ ok: true, value: cell }),
  parsePrediction: (cell) => (cell.includes(' ') ? { ok: false, expected: 'one label' } : { ok: true, value: cell }),
  createAccumulator() { let hit = 0, n = 0; return { add(_id, t, p) { n++; if (t === p) hit++; }, result: () => (n ? hit / n : null) }; },
};
const spec = { competition: 'toy-metric', aliases: ['toy'], header: ['id', 'label'], idColumn: 'id', predictionColumn: 'label', metric };
const registration = { name: 'toy-metric', description: 'exact match', defaults: {}, create: () => spec };
export default new ContainerModule(({ bind }) => { bind(TOKENS.Metric).toConstantValue(registration); });`,
    );
    writeFileSync(join(dir, 'simkit.config.json'), JSON.stringify({ plugins: ['./metric.mjs'] }));
    const broken = pluginFile(dir, 'broken.mjs', 'throw new Error("plugin exploded");');
    const packageDir = join(dir, 'node_modules', 'simkit-plugin-empty');
    mkdirSync(packageDir, { recursive: true });
    writeFileSync(join(packageDir, 'package.json'), JSON.stringify({ name: 'simkit-plugin-empty', main: 'main.mjs' }));
    pluginFile(packageDir, 'main.mjs', 'export default new ContainerModule(() => {});');

    const sources = externalModules(dir, { SIMKIT_PLUGINS: broken });
    expect(sources.map((s) => s.origin.source)).toEqual(['simkit-plugin-empty', metricPlugin, broken]);
    const app = await Simkit.create({ extra: sources });
    expect(app.registry('Metric').get('toy-metric').origin?.source).toBe(metricPlugin);
    expect(app.failures.map((f) => [f.origin.source, f.error.message])).toEqual([[broken, 'plugin exploded']]);
    expect(app.registry('Metric').has('shopee-product-matching')).toBe(true);
  });

  it('a plugin metric scores through `simkit score` like a built-in one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'simkit-plugin-score-'));
    const plugin = pluginFile(
      dir,
      'metric.mjs',
      `
import { TOKENS } from ${JSON.stringify(tokens)};
const metric = { name: 'exact-match', higherIsBetter: true, predictionFormat: 'one label',
  parseTruth: (c) => ({ ok: true, value: c }), parsePrediction: (c) => ({ ok: true, value: c }),
  createAccumulator() { let h = 0, n = 0; return { add(_i, t, p) { n++; if (t === p) h++; }, result: () => (n ? h / n : null) }; } };
export default new ContainerModule(({ bind }) => { bind(TOKENS.Metric).toConstantValue({ name: 'toy-metric', description: 'x', defaults: {},
  create: () => ({ competition: 'toy-metric', aliases: ['toy'], header: ['id', 'label'], idColumn: 'id', predictionColumn: 'label', metric }) }); });`,
    );
    writeFileSync(join(dir, 'solution.csv'), 'id,label,Usage\na,1,Public\nb,2,Private\n');
    writeFileSync(join(dir, 'submission.csv'), 'id,label\na,1\nb,3\n');
    process.env.SIMKIT_PLUGINS = plugin;
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
    const code = await main([
      'score',
      '--competition',
      'toy',
      '--solution',
      join(dir, 'solution.csv'),
      '--submission',
      join(dir, 'submission.csv'),
      '--json',
    ]);
    vi.restoreAllMocks();
    expect(code).toBe(0);
    expect(JSON.parse(out.join(''))).toMatchObject({
      competition: 'toy-metric',
      metric: 'exact-match',
      score: 0.5,
      public: 1,
      private: 0,
    });
  });
});
