import type { CompetitionConfig, ComponentChoice, ModelCommon, ModelConfig } from '../contracts/competition.js';
import type { Registered } from '../contracts/registration.js';
import type { Simkit } from '../di/container.js';
import type { ComponentKind } from '../contracts/component-tokens.js';
import OPTION_DOCS from './option-docs.json' with { type: 'json' };

interface OptionDocs {
  /** Option type name → each of its options → its doc comment ('' where it has none). */
  readonly types: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Registration name → the option types registrations of that name declare. */
  readonly registrations: Readonly<Record<string, readonly string[]>>;
}

const DOCS: OptionDocs = OPTION_DOCS;

/**
 * What each option of a registration means: its own `optionDescriptions`, else the doc comments of
 * the option type it declares, else those of the smallest option type that has every one of its
 * options (registrations built by a function, such as the ArcFace variants).
 */
export function optionDescriptions(entry: Registered<unknown>): Readonly<Record<string, string>> {
  if (entry.optionDescriptions) return entry.optionDescriptions;
  const keys = Object.keys(entry.defaults);
  if (keys.length === 0) return {};
  const declared = (DOCS.registrations[entry.name] ?? [])
    .map((type) => DOCS.types[type])
    .find((docs) => docs !== undefined && keys.every((key) => key in docs));
  if (declared) return declared;
  const covering = Object.values(DOCS.types)
    .filter((docs) => keys.every((key) => key in docs))
    .sort((a, b) => Object.keys(a).length - Object.keys(b).length);
  return covering[0] ?? {};
}

/** Every option of a registration: name, default (as JSON) and what it means ('' where undocumented). */
export function describeOptions(entry: Registered<unknown>): { name: string; value: string; description: string }[] {
  const descriptions = optionDescriptions(entry);
  return Object.entries(entry.defaults as Record<string, unknown>).map(([name, value]) => ({
    name,
    value: JSON.stringify(value) ?? 'undefined',
    description: descriptions[name] ?? '',
  }));
}

const COMPONENTS: readonly [keyof ModelCommon, ComponentKind][] = [
  ['backbone', 'Backbone'],
  ['head', 'Head'],
  ['loss', 'Loss'],
  ['miner', 'Miner'],
  ['sampler', 'Sampler'],
];

/**
 * The config as the run uses it: each component's options are its registered defaults merged with
 * the options the config gives (what `Registry.create` hands the component), so a switched
 * component shows every option it runs with. A name the registry does not know is left as it is
 * (the run refuses it with the known names).
 */
export function withComponentDefaults(app: Simkit, config: CompetitionConfig): CompetitionConfig {
  const filled = (kind: ComponentKind, choice: ComponentChoice): ComponentChoice => {
    const registry = app.registry(kind);
    if (!registry.has(choice.name)) return choice;
    return { name: choice.name, options: { ...registry.get(choice.name).defaults, ...choice.options } };
  };
  const withDefaults = (model: ModelConfig): ModelConfig => {
    const result: Record<string, unknown> = { ...model };
    for (const [field, kind] of COMPONENTS) {
      const choice = model[field] as ComponentChoice | undefined;
      if (choice) result[field] = filled(kind, choice);
    }
    return result as unknown as ModelConfig;
  };
  return {
    ...config,
    models: Object.fromEntries(Object.entries(config.models).map(([name, model]) => [name, withDefaults(model)])),
    indexer: filled('Indexer', config.indexer),
    postProcessors: config.postProcessors.map((choice) => filled('PostProcessor', choice)),
  };
}
