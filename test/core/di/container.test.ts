import { describe, expect, it } from 'vitest';
import { ContainerModule } from 'inversify';
import type { Competition, CompetitionRegistration } from '../../../core/contracts/competition.js';
import type { Indexer } from '../../../core/contracts/indexer.js';
import type { Registered } from '../../../core/contracts/registration.js';
import {
  Simkit,
  builtinModules,
  componentToken,
  decorateComponent,
  registrations,
  type ModuleSource,
} from '../../../core/di/container.js';
import { InputError, UserError } from '../../../core/errors.js';
import { initialState } from '../../../core/pipeline/knn.js';
import { findCompetition } from '../../../core/pipeline/prepare.js';
import { faissIndexer } from '../../../plugins/indexers/di.config.js';

const entry = (name: string) => ({
  name,
  description: `the ${name}`,
  defaults: { k: 1 },
  create: (o?: { k?: number }) => ({ name, k: o?.k ?? 1 }),
});

describe('Simkit container', () => {
  it('looks registrations up by name, tags their origin and reports unknown names', async () => {
    const app = await Simkit.create({
      sources: [
        {
          origin: { source: 'builtin', module: 'plugins/demo' },
          load: async () => registrations('Loss', [entry('b'), entry('a')]),
        },
      ],
    });
    const losses = app.registry<{ name: string; k: number }>('Loss');
    expect(losses.names()).toEqual(['a', 'b']);
    expect(losses.create('a', { k: 3 })).toEqual({ name: 'a', k: 3 });
    expect(losses.get('b').origin).toEqual({ source: 'builtin', module: 'plugins/demo' });
    expect(() => losses.get('zzz')).toThrow(UserError);
    expect(app.registry('Metric').names()).toEqual([]);
  });

  it('keeps working when one plugin fails to load', async () => {
    const app = await Simkit.create({
      sources: [
        {
          origin: { source: '/tmp/broken', module: 'x' },
          load: async () => {
            throw new Error('boom');
          },
        },
        { origin: { source: 'builtin', module: 'ok' }, load: async () => registrations('Metric', [entry('m')]) },
        {
          origin: { source: 'builtin', module: 'bad-bind' },
          load: async () =>
            new ContainerModule(() => {
              throw new Error('bind failed');
            }),
        },
      ],
    });
    expect(app.registry('Metric').names()).toEqual(['m']);
    expect(app.failures.map((f) => f.error.message)).toEqual(['boom', 'bind failed']);
  });

  it('refuses two registrations with one name', async () => {
    const app = await Simkit.create({
      sources: [
        {
          origin: { source: 'builtin', module: 'dup' },
          load: async () => registrations('Loss', [entry('a'), entry('a')]),
        },
      ],
    });
    expect(() => app.registry('Loss')).toThrow(/registered twice/);
  });

  it('discovers the built-in feature modules', async () => {
    const app = await Simkit.create();
    expect(app.failures).toEqual([]);
  });
});

describe('registry options', () => {
  it('hands a factory its defaults merged with the options given, and rejects an option the defaults do not name', async () => {
    const app = await Simkit.create({
      sources: [
        {
          origin: { source: 'builtin', module: 'plugins/demo' },
          load: async () => registrations('Loss', [entry('a')]),
        },
      ],
    });
    const losses = app.registry<{ k: number }>('Loss');
    expect(losses.create('a').k).toBe(1);
    expect(losses.create('a', { k: 4 }).k).toBe(4);
    expect(() => losses.create('a', { k: 2, kk: 3 })).toThrow('loss "a" has no option "kk"; its options: k');
  });
});

const plugin = (module: string, load: () => ContainerModule): ModuleSource => ({
  origin: { source: '/tmp/plugin.mjs', module },
  load: async () => load(),
});

describe('rebinding and decorating built-in components by token', () => {
  it('a plugin rebinds the flat indexer: the pipeline builds its index', async () => {
    const built: number[] = [];
    const counting: Registered<Indexer> = {
      name: 'flat',
      description: 'flat, counting the indexes it builds',
      defaults: {},
      create: () => {
        const flat = faissIndexer('Flat', 0);
        return { ...flat, build: (dim, training) => (built.push(dim), flat.build(dim, training)) };
      },
    };
    const rebinding = plugin(
      'rebind-flat',
      () =>
        new ContainerModule(({ rebind }) => {
          rebind(componentToken('Indexer', 'flat')).toConstantValue(counting);
        }),
    );
    const app = await Simkit.create({ sources: [...(await builtinModules()), rebinding] });
    expect(app.registry('Indexer').get('flat').description).toBe('flat, counting the indexes it builds');
    const set = {
      items: [
        { id: 'a', labels: [], extra: {} },
        { id: 'b', labels: [], extra: {} },
      ],
      vectors: new Float32Array([1, 0, 0, 1]),
    };
    const state = initialState(app, { name: 'flat', options: {} }, 2, set, set, 2, { excludeSelf: false });
    expect(built).toEqual([2]);
    expect(state.neighbours[0]!.indices).toEqual([0, 1]);
  });

  it("a plugin decorates a competition's reader; the rest of the adapter stays the built-in one", async () => {
    const read: string[] = [];
    const decorating = plugin('read-log', () =>
      decorateComponent<Competition>('Competition', 'hotels', (builtin) => ({
        ...builtin,
        create: (options, components) => {
          const competition = builtin.create(options, components);
          return { ...competition, readTrain: (dir: string) => (read.push(dir), competition.readTrain(dir)) };
        },
      })),
    );
    const app = await Simkit.create({ sources: [...(await builtinModules()), decorating] });
    const { competition } = findCompetition(app, 'hotels');
    expect(competition.slug).toBe('hotel-id-2021-fgvc8');
    await expect(competition.readTrain('/nonexistent')).rejects.toThrow(InputError);
    expect(read).toEqual(['/nonexistent']);
    expect(competition.submissionTable([{ id: 'a.jpg', labels: ['h1', 'h2'] }]).rows).toEqual([['a.jpg', 'h1 h2']]);
    // Without the plugin the reader is the built-in one.
    const plain = findCompetition(await Simkit.create(), 'hotels').competition;
    await expect(plain.readTrain('/nonexistent')).rejects.toThrow(InputError);
    expect(read).toHaveLength(1);
    expect((app.registry('Competition').get('hotels') as CompetitionRegistration).slugs).toHaveProperty(
      'hotel-id-2021-fgvc8',
    );
  });
});
