import { describe, expect, it } from 'vitest';
import { ContainerModule } from 'inversify';
import { Simkit, registrations } from '../core/di/container.js';
import { UserError } from '../core/errors.js';

const entry = (name: string) => ({ name, description: `the ${name}`, defaults: { k: 1 }, create: (o?: { k?: number }) => ({ name, k: o?.k ?? 1 }) });

describe('Simkit container', () => {
  it('looks registrations up by name, tags their origin and reports unknown names', async () => {
    const app = await Simkit.create({
      sources: [{ origin: { source: 'builtin', module: 'plugins/demo' }, load: async () => registrations('Loss', [entry('b'), entry('a')]) }],
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
        { origin: { source: '/tmp/broken', module: 'x' }, load: async () => { throw new Error('boom'); } },
        { origin: { source: 'builtin', module: 'ok' }, load: async () => registrations('Metric', [entry('m')]) },
        { origin: { source: 'builtin', module: 'bad-bind' }, load: async () => new ContainerModule(() => { throw new Error('bind failed'); }) },
      ],
    });
    expect(app.registry('Metric').names()).toEqual(['m']);
    expect(app.failures.map((f) => f.error.message)).toEqual(['boom', 'bind failed']);
  });

  it('refuses two registrations with one name', async () => {
    const app = await Simkit.create({ sources: [{ origin: { source: 'builtin', module: 'dup' }, load: async () => registrations('Loss', [entry('a'), entry('a')]) }] });
    expect(() => app.registry('Loss')).toThrow(/registered twice/);
  });

  it('discovers the built-in feature modules', async () => {
    const app = await Simkit.create();
    expect(app.failures).toEqual([]);
  });
});
