import type { ContainerModule } from 'inversify';
import type { CompetitionAdapter, CompetitionRegistration, RegisteredCompetition } from '../contracts/competition.js';
import type { ScoringSpec } from '../contracts/metric.js';
import { combineModules, registrations } from '../di/container.js';
import { scoringRegistration } from '../scoring/registration.js';
import { withTaskTables } from './adapter.js';

/** A competition's scoring spec for one Kaggle slug: the submission's columns and the competition's metric. */
export function scoringSpecOf(
  competition: CompetitionAdapter,
  slug = competition.slug,
  aliases: readonly string[] = [],
): ScoringSpec {
  const { idColumn, labelColumn } = competition.submission;
  return {
    competition: slug,
    aliases,
    header: [idColumn, labelColumn],
    idColumn,
    predictionColumn: labelColumn,
    metric: competition.scoring,
  };
}

/**
 * The DI module of a competition folder: its registration under TOKENS.Competition and, under
 * TOKENS.Metric, a scoring spec for its own slug and every slug it serves, each derived from the
 * adapter that slug selects. The default edition's spec takes the registration's name and `aliases` as aliases.
 * The registered `create` completes the adapter with its task strategy's tables (withTaskTables).
 */
export function competitionModule(registration: CompetitionRegistration): ContainerModule {
  const main = registration.create({});
  const editions = new Map<string, CompetitionAdapter>([[main.slug, main]]);
  for (const [slug, options] of Object.entries(registration.slugs))
    if (!editions.has(slug)) editions.set(slug, registration.create(options));
  const mainAliases = [
    ...(registration.name !== main.slug ? [registration.name] : []),
    ...(registration.aliases ?? []),
  ];
  const specs = [...editions].map(([slug, competition]) =>
    scoringSpecOf(competition, slug, slug === main.slug ? mainAliases : []),
  );
  const registered: RegisteredCompetition = {
    ...registration,
    create: (options, components) => withTaskTables(registration.create(options, components), components),
  };
  return combineModules(
    registrations('Competition', [registered]),
    registrations<ScoringSpec>('Metric', specs.map(scoringRegistration)),
  );
}
