import type { Registered, Registration } from '../contracts/registration.js';
import type { ScoringSpec } from '../contracts/metric.js';
import type { Simkit } from '../di/container.js';
import { UserError } from '../errors.js';

/** The `TOKENS.Metric` registration of a spec: named by its Kaggle slug, no options. */
export function scoringRegistration(spec: ScoringSpec): Registration<ScoringSpec, Record<string, never>> {
  const direction = spec.metric.higherIsBetter ? 'higher is better' : 'lower is better';
  const aliases = spec.aliases.length > 0 ? ` (alias ${spec.aliases.join(', ')})` : '';
  return {
    name: spec.competition,
    description: `${spec.metric.name}, ${direction}; submission ${spec.header.join(',')}${aliases}`,
    defaults: {},
    create: () => spec,
  };
}

/** Finds the scoring spec of a competition by Kaggle slug or alias among the container's registrations. */
export function resolveScoringSpec(app: Pick<Simkit, 'registry'>, slugOrAlias: string): ScoringSpec {
  const registry = app.registry<ScoringSpec>('Metric');
  if (registry.has(slugOrAlias)) return registry.create(slugOrAlias);
  const matches = registry
    .list()
    .filter((entry: Registered<ScoringSpec>) => registry.create(entry.name).aliases.includes(slugOrAlias));
  if (matches.length === 1) return registry.create(matches[0]!.name);
  if (matches.length > 1) {
    throw new UserError(
      `competition alias "${slugOrAlias}" is claimed by ${matches.map((m) => m.name).join(' and ')}`,
      'use the Kaggle slug',
    );
  }
  const known = registry.list().map((entry) => {
    const aliases = registry.create(entry.name).aliases;
    return aliases.length > 0 ? `${entry.name} (${aliases.join(', ')})` : entry.name;
  });
  throw new UserError(
    `no scoring spec for competition "${slugOrAlias}"`,
    `known: ${known.join(', ') || '(none registered)'}`,
  );
}
