import { beforeAll, describe, expect, it } from 'vitest';
import {
  formatTable,
  mergeOverlays,
  parseSummary,
  planRow,
  secondImageSize,
  takesAnySize,
  TECHNIQUES,
  type MeasuredRow,
} from '../../bench/ablation.js';
import { formatSummary } from '../../core/cli/commands/run.js';
import { withComponentDefaults } from '../../core/cli/component-options.js';
import type { CompetitionConfig } from '../../core/contracts/competition.js';
import { Simkit } from '../../core/di/container.js';
import { effectiveConfig } from '../../core/pipeline/prepare.js';
import type { RunSummary } from '../../core/pipeline/run.js';

let app: Simkit;
const configs = new Map<string, CompetitionConfig>();
beforeAll(async () => {
  app = await Simkit.create();
  for (const competition of ['shopee', 'hotels', 'herbarium', 'fashion-mnist'])
    // What `simkit run --print-config` prints, which the runner reads.
    configs.set(competition, withComponentDefaults(app, await effectiveConfig(app, { competition })));
});

/** Which rows apply to the competition's defaults, with the reason of those that do not. */
function applicability(competition: string): Record<string, string> {
  return Object.fromEntries(
    TECHNIQUES.map(({ name }) => [name, planRow(name, configs.get(competition)!).notApplicable ?? 'applies']),
  );
}

describe('the ablation rows of a competition', () => {
  it('apply where the competition has what the technique needs, and say why not elsewhere', () => {
    expect(applicability('shopee')).toEqual({
      defaults: 'applies',
      ensemble: 'applies',
      'second-image': 'applies',
      'tta-flip': 'applies',
      progressive: "the image model's backbone (mobilenet-v2) needs a fixed image size",
      folds: 'applies',
      'pseudo-labels': 'applies',
      rerank: 'applies',
    });
    expect(applicability('hotels').ensemble).toBe('one model only (see the second image model)');
    expect(applicability('herbarium').progressive).toBe('applies');
    expect(applicability('fashion-mnist').progressive).toMatch(/plain-cnn\) needs a fixed image size/);
    expect(takesAnySize(configs.get('herbarium')!.models.image!)).toBe(true);
    expect(takesAnySize(configs.get('shopee')!.models.image!)).toBe(false);
  });

  it('are overlays that simkit run accepts, and each switches on what it names', async () => {
    for (const competition of ['shopee', 'herbarium']) {
      for (const { name } of TECHNIQUES) {
        const { overlay } = planRow(name, configs.get(competition)!);
        if (!overlay) continue;
        const folds = overlay.flags.length > 0 ? Number(overlay.flags[1]) : undefined;
        const config = await effectiveConfig(app, {
          competition,
          config: `${name}.json`,
          configOverrides: overlay.config,
          folds,
        });
        if (name === 'folds') expect(config.folds!.count).toBe(5);
        if (name === 'tta-flip')
          expect(config.models.image!.input === 'image' && config.models.image!.tta!.flip).toBe(true);
        if (name === 'pseudo-labels') expect(config.pseudoLabels!.enabled).toBe(true);
        if (name === 'rerank') {
          expect(config.postProcessors.map((step) => step.name)).toEqual([
            'rerank',
            ...configs.get(competition)!.postProcessors.map((step) => step.name),
          ]);
          // The defaults' tuned keys stay beside the re-ranker's weight.
          expect(Object.keys(config.tune)).toEqual([...Object.keys(configs.get(competition)!.tune), 'rerank.weight']);
        }
        if (name === 'second-image') {
          expect(config.search).toBe('ensemble');
          expect(config.ensemble!.models).toEqual(
            competition === 'shopee' ? { image: 1, text: 1, image48: 1 } : { image: 1, image40: 1 },
          );
        }
      }
    }
  });

  it('size the second image model three quarters of a large side, 8 px more of a small one', () => {
    expect([64, 48, 32, 28].map(secondImageSize)).toEqual([48, 40, 40, 36]);
  });

  it('combine techniques joined by +, and refuse an unknown one naming the known', () => {
    const combined = planRow('second-image+tta-flip', configs.get('shopee')!);
    const config = combined.overlay!.config as { models: Record<string, { tta?: unknown; imageSize?: number }> };
    expect(config.models.image48!.imageSize).toBe(48);
    expect(config.models.image!.tta).toEqual({ flip: true });
    expect(combined.label).toBe('ensemble with a second image model + TTA: flip');
    expect(planRow('folds+rerank', configs.get('hotels')!).overlay!.flags).toEqual(['--folds', '5']);
    expect(planRow('ensemble+folds', configs.get('hotels')!).notApplicable).toMatch(/one model only/);
    expect(() => planRow('bagging', configs.get('hotels')!)).toThrow(/unknown technique "bagging".*/);
    expect(mergeOverlays({ a: { b: 1, c: [1] } }, { a: { c: [2] }, d: 3 })).toEqual({ a: { b: 1, c: [2] }, d: 3 });
  });
});

function summary(extra: Partial<RunSummary>): RunSummary {
  return {
    competition: 'hotel-id-2021-fgvc8',
    metric: 'MAP@5',
    higherIsBetter: true,
    validation: 0.2495,
    tuned: { 'knn-vote.k': 3 },
    searched: 'image',
    baselines: { 'without trained models': 0.1 },
    test: null,
    testBaselines: {},
    submission: '/tmp/x/submission.csv',
    runDir: '/tmp/x/run',
    seconds: 71.94,
    runId: null,
    report: '/tmp/x/run/report.html',
    phases: [],
    ...extra,
  };
}

describe('the ablation table', () => {
  it('reads the scores from simkit run’s own summary', () => {
    const plain = parseSummary(formatSummary(summary({})));
    expect(plain).toEqual({
      metric: 'MAP@5',
      validation: 0.2495,
      outOfFold: null,
      test: null,
      tuned: 'knn-vote.k=3',
      seconds: 71.9,
    });
    const folds = parseSummary(
      formatSummary(
        summary({
          validation: null,
          test: { score: 0.4044, public: 0.4, private: 0.41 } as RunSummary['test'],
          outOfFold: {
            folds: 5,
            final: 'folds',
            items: 173,
            score: 0.40371,
            perFold: [0.3495, 0.3948, 0.4848, 0.4422, 0.3466],
            tuned: { 'knn-vote.k': 3 },
          },
        }),
      ),
    );
    expect(folds.validation).toBeNull();
    expect(folds.outOfFold).toEqual({ items: 173, score: 0.4037, folds: '0.3495 0.3948 0.4848 0.4422 0.3466' });
    expect(folds.test).toBe(0.4044);
    expect(() => parseSummary('backend: native\nsimkit: no such competition')).toThrow(/not a simkit run summary/);
  });

  it('prints measured, refused and not-applicable rows, one line each', () => {
    const defaults = planRow('defaults', configs.get('hotels')!);
    const rows: MeasuredRow[] = [
      { ...defaults, load: 3.25, result: parseSummary(formatSummary(summary({}))) },
      planRow('progressive', configs.get('hotels')!),
      { ...planRow('folds', configs.get('hotels')!), load: 1, failure: 'refused (exit 1): unknown label' },
    ];
    expect(formatTable(rows).split('\n')).toEqual([
      '| technique | validation | sample test | time (s, load) | cost | config |',
      '|---|---|---|---|---|---|',
      '| none: the defaults | 0.2495 | — | 71.9 (3.3) | the defaults | `{}` (tuned knn-vote.k=3) |',
      "| progressive sizes | not applicable: the image model's backbone (mobilenet-v2) needs a fixed image size | | | | |",
      '| k-fold: `--folds 5`, `final: folds` | refused (exit 1): unknown label | | | 5 models per model, the chain tuned out of fold | `--folds 5` |',
    ]);
  });
});
