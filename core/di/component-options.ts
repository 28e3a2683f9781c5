import type { CompetitionConfig, ComponentChoice, ModelCommon } from '../contracts/competition.js';
import type { ComponentKind } from '../contracts/component-tokens.js';
import type { Simkit } from './container.js';

type Choice = readonly [ComponentKind, ComponentChoice | undefined];

function modelChoices(spec: ModelCommon): Choice[] {
  return [
    ['Backbone', spec.backbone],
    ['Head', spec.head],
    ['Loss', spec.loss],
    ['Miner', spec.miner],
    ['Sampler', spec.sampler],
  ];
}

/**
 * Every component option of a run's config (every model's) checked at once, before any
 * work: names each component has, values within the ranges it declares (Registry.checkOptions).
 * Choices that name no registered component (`none`) are left to the code that reads them.
 */
export function checkComponentOptions(app: Pick<Simkit, 'registry'>, config: CompetitionConfig): void {
  const choices: Choice[] = [
    ...Object.values(config.models).flatMap(modelChoices),
    ['Indexer', config.indexer],
    ...config.postProcessors.map((choice): Choice => ['PostProcessor', choice]),
  ];
  for (const [kind, choice] of choices) {
    if (!choice) continue;
    const registry = app.registry(kind);
    if (registry.has(choice.name)) registry.checkOptions(choice.name, choice.options);
  }
}
