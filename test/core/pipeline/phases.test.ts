import { describe, expect, it } from 'vitest';
import { phase, recordPhases } from '../../../core/pipeline/phases.js';

const pause = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe('run phases', () => {
  it('records nested phases in the order they start, with their time, items and peak memory', async () => {
    const { result, phases } = await recordPhases(async () => {
      await phase('prepare', () => pause(20));
      return phase(
        'train',
        async () => {
          await phase('embed', () => pause(30), 7);
          // Two different phases of one name under one parent stay two records.
          await phase('embed', () => pause(10), 3);
          return 'trained';
        },
        (value) => value.length,
      );
    });
    expect(result).toBe('trained');
    expect(phases.map((p) => [p.name, p.depth, p.items])).toEqual([
      ['prepare', 0, null],
      ['train', 0, 7],
      ['train/embed', 1, 7],
      ['train/embed', 1, 3],
    ]);
    const [prepare, train, first, second] = phases;
    expect(prepare!.seconds).toBeGreaterThanOrEqual(0.015);
    expect(train!.start).toBeGreaterThanOrEqual(prepare!.start + prepare!.seconds);
    expect(train!.seconds).toBeGreaterThanOrEqual(first!.seconds + second!.seconds);
    expect(first!.seconds).toBeGreaterThanOrEqual(0.025);
    for (const p of phases) expect(p.peakRssMb).toBeGreaterThan(10);
  });

  it("counts memory a phase allocates in its own peak and its parent's", async () => {
    let kept: Buffer | undefined;
    const { phases } = await recordPhases(() =>
      phase('outer', async () => {
        await phase('small', async () => {});
        await phase('large', async () => {
          kept = Buffer.alloc(256 * 1024 * 1024, 1);
        });
      }),
    );
    const peak = (name: string) => phases.find((p) => p.name === name)!.peakRssMb;
    expect(kept!.length).toBe(256 * 1024 * 1024);
    expect(peak('outer/large') - peak('outer/small')).toBeGreaterThan(200);
    expect(peak('outer')).toBeGreaterThanOrEqual(peak('outer/large'));
  });

  it('runs the work unrecorded outside a recording', async () => {
    await expect(phase('alone', async () => 42)).resolves.toBe(42);
  });
});
