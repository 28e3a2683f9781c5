/**
 * Service identifiers of the DI container. Every plugin binds a `Registration` (see
 * contracts/registration.ts) to one of these; the core looks components up by name through
 * `Registry`.
 */
export const TOKENS = {
  Loss: Symbol.for('simkit.Loss'),
  Head: Symbol.for('simkit.Head'),
  Miner: Symbol.for('simkit.Miner'),
  Sampler: Symbol.for('simkit.Sampler'),
  Backbone: Symbol.for('simkit.Backbone'),
  Indexer: Symbol.for('simkit.Indexer'),
  PostProcessor: Symbol.for('simkit.PostProcessor'),
  Metric: Symbol.for('simkit.Metric'),
  Competition: Symbol.for('simkit.Competition'),
  Distance: Symbol.for('simkit.Distance'),
  Reducer: Symbol.for('simkit.Reducer'),
  Regularizer: Symbol.for('simkit.Regularizer'),
  Task: Symbol.for('simkit.Task'),
} as const;

export type ComponentKind = keyof typeof TOKENS;

/** Plural names used on the command line (`simkit list losses`). */
export const KIND_NAMES: Record<string, ComponentKind> = {
  losses: 'Loss',
  heads: 'Head',
  miners: 'Miner',
  samplers: 'Sampler',
  backbones: 'Backbone',
  indexers: 'Indexer',
  postprocessors: 'PostProcessor',
  metrics: 'Metric',
  competitions: 'Competition',
  distances: 'Distance',
  reducers: 'Reducer',
  regularizers: 'Regularizer',
  tasks: 'Task',
};
