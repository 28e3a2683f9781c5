import { describe, expect, it } from 'vitest';
import type { Competition, CompetitionRegistration } from '../../../core/contracts/competition.js';
import type { TaskStrategy } from '../../../core/contracts/task.js';
import { decorateComponent, Simkit } from '../../../core/di/container.js';
import { UserError } from '../../../core/errors.js';
import { findCompetition } from '../../../core/pipeline/prepare.js';

const PREDICTION = { id: 'p1', labels: ['p1', 'p7'] };

describe("a competition's tables come from the task strategy the container holds", () => {
  it("writes the built-in strategy's cells", async () => {
    const { competition } = findCompetition(await Simkit.create(), 'shopee');
    expect(competition.submissionTable([PREDICTION]).rows).toEqual([['p1', 'p1 p7']]);
  });

  it('follows a plugin that replaces the strategy of its task', async () => {
    const plugin = decorateComponent<TaskStrategy>('Task', 'match', (builtin) => ({
      ...builtin,
      create: (...args) => ({
        ...builtin.create(...args),
        submissionCell: (prediction) => prediction.labels.join('|'),
      }),
    }));
    const app = await Simkit.create({
      extra: [{ origin: { source: 'test', module: 'match-cells' }, load: () => Promise.resolve(plugin) }],
    });
    expect(findCompetition(app, 'shopee').competition.submissionTable([PREDICTION]).rows).toEqual([['p1', 'p1|p7']]);
    const registered = app.registry<Competition>('Competition').create('shopee');
    expect(registered.submissionTable([PREDICTION]).rows).toEqual([['p1', 'p1|p7']]);
  });

  it("names the container when an adapter's registration is called outside it", async () => {
    const entry = (await Simkit.create()).registry<Competition>('Competition').get('shopee') as CompetitionRegistration;
    const outside = entry.create({}) as Competition;
    expect(outside.slug).toBe('shopee-product-matching');
    expect(() => outside.submissionTable([PREDICTION])).toThrow(UserError);
    expect(() => outside.submissionTable([PREDICTION])).toThrow(/found through the container/);
  });
});
