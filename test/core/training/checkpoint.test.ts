import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { Checkpoints } from '../../../core/training/checkpoint.js';
import { createOptimizer } from '../../../core/training/optimizer.js';
import { trainTiny } from './tiny-problem.js';
import { loggedEpochs, readJsonFile } from '../../json-files.js';

const TSX = fileURLToPath(import.meta.resolve('tsx'));
const CHILD = fileURLToPath(new URL('./train-child.ts', import.meta.url));

const runDir = () => mkdtempSync(join(tmpdir(), 'simkit-ckpt-'));

function latestEpoch(dir: string): number {
  try {
    return readJsonFile<{ epoch: number }>(join(dir, 'checkpoints', 'latest.json')).epoch;
  } catch {
    return 0;
  }
}

describe('checkpoints and resume', () => {
  let app: Simkit;
  beforeAll(async () => {
    await initEngine('native');
    app = await Simkit.create();
  });

  it('a run stopped after epoch 2 and resumed ends with the weights of an uninterrupted run', async () => {
    const validate = (calls: { n: number }, failAt?: number) => async () => {
      calls.n += 1;
      if (calls.n === failAt) throw new Error('interrupted');
      return { 'MAP@R': 0.5 };
    };
    const straight = await trainTiny(app, 64, { epochs: 4, runDir: runDir(), validate: validate({ n: 0 }) });

    const dir = runDir();
    await expect(trainTiny(app, 64, { epochs: 4, runDir: dir, validate: validate({ n: 0 }, 3) })).rejects.toThrow(
      'interrupted',
    );
    expect(latestEpoch(dir)).toBe(2);
    const resumed = await trainTiny(app, 64, { epochs: 4, runDir: dir, resume: true, validate: validate({ n: 0 }) });

    expect(resumed.result.resumedFrom).toBe(2);
    expect(resumed.weights).toEqual(straight.weights);
    expect(resumed.head).toEqual(straight.head);
    expect(resumed.result.history.map((r) => r.loss)).toEqual(straight.result.history.map((r) => r.loss));
    expect(resumed.tensorsAfter).toBe(resumed.tensorsBefore);
    // The log has each epoch once from the first run (1–2) and once from the resumed one (3–4).
    const logged = loggedEpochs(dir).map((record) => record.epoch);
    expect(logged).toEqual([1, 2, 3, 4]);
  });

  it("a resumed run restores the cross-batch memory queue: its contents equal the uninterrupted run's", async () => {
    const xbm = { loss: 'cross-batch-memory', lossOptions: { loss: 'contrastive', memorySize: 40 } };
    let calls = 0;
    const interruptAtThird = () => {
      calls += 1;
      if (calls === 3) throw new Error('interrupted');
      return Promise.resolve({ 'MAP@R': 0.5 });
    };
    const straight = await trainTiny(app, 64, { epochs: 3, runDir: runDir() }, xbm);
    const dir = runDir();
    await expect(trainTiny(app, 64, { epochs: 3, runDir: dir, validate: interruptAtThird }, xbm)).rejects.toThrow(
      'interrupted',
    );
    const resumed = await trainTiny(app, 64, { epochs: 3, runDir: dir, resume: true }, xbm);

    expect(resumed.result.resumedFrom).toBe(2);
    expect(Object.keys(straight.state).sort()).toEqual(['loss/filled', 'loss/memory', 'loss/memoryLabels']);
    expect(straight.state['loss/filled']).toEqual([40]);
    // The queue holds real embeddings (unit rows), not the zeros it starts with.
    expect(straight.state['loss/memory']!.some((value) => value !== 0)).toBe(true);
    expect(resumed.state).toEqual(straight.state);
    expect(resumed.weights).toEqual(straight.weights);
    expect(resumed.result.history.map((r) => r.loss)).toEqual(straight.result.history.map((r) => r.loss));
    expect(resumed.tensorsAfter).toBe(resumed.tensorsBefore);
  });

  it(
    'survives kill -9 at an arbitrary moment: the latest checkpoint loads and the resumed run matches',
    { timeout: 120_000 },
    async () => {
      const count = 1024;
      const epochs = 6;
      const straight = await trainTiny(app, count, { epochs, runDir: runDir() });
      const dir = runDir();
      const child: ChildProcess = execFile(process.execPath, [
        '--import',
        TSX,
        CHILD,
        dir,
        String(count),
        String(epochs),
      ]);
      const exited = new Promise<void>((done) => child.on('exit', () => done()));
      // Kill while epoch 3 or later is being trained or written (a moment the child does not choose).
      while (latestEpoch(dir) < 2 && child.exitCode === null) await new Promise((wait) => setTimeout(wait, 5));
      await new Promise((wait) => setTimeout(wait, 37));
      child.kill('SIGKILL');
      await exited;
      const killedAfter = latestEpoch(dir);
      expect(killedAfter).toBeGreaterThanOrEqual(2);
      expect(killedAfter).toBeLessThan(epochs);
      const resumed = await trainTiny(app, count, { epochs, runDir: dir, resume: true });
      expect(resumed.result.resumedFrom).toBe(killedAfter);
      expect(resumed.weights).toEqual(straight.weights);
    },
  );

  it('early stopping stops after `patience` epochs without improvement and restores the best epoch', async () => {
    const scores = [0.5, 0.7, 0.65, 0.6, 0.9, 0.95];
    let call = 0;
    const dir = runDir();
    const stopped = await trainTiny(app, 64, {
      epochs: 6,
      runDir: dir,
      validate: async () => ({ 'MAP@R': scores[call++]! }),
      earlyStopping: { patience: 2 },
    });
    expect(stopped.result.stoppedEarly).toBe(true);
    expect(stopped.result.history).toHaveLength(4);
    expect(stopped.result.epoch).toBe(2);
    // The best epoch's checkpoint survives pruning and holds the weights the model ends with.
    const best = await new Checkpoints(dir).read(join(dir, 'checkpoints', 'epoch-0002'));
    expect(best.groups.model!.map((t) => Array.from(t.tensor.dataSync()))).toEqual(stopped.weights);
    tf.dispose(Object.values(best.groups).flatMap((group) => group.map((t) => t.tensor)));
    expect(readdirSync(join(dir, 'checkpoints')).sort()).toEqual([
      'epoch-0002',
      'epoch-0003',
      'epoch-0004',
      'latest.json',
    ]);
    expect(stopped.tensorsAfter).toBe(stopped.tensorsBefore);
  });

  it('a fresh run replaces earlier checkpoints only once its own first one is written', async () => {
    const dir = runDir();
    await trainTiny(app, 64, { epochs: 3, runDir: dir });
    expect(readdirSync(join(dir, 'checkpoints')).filter((name) => name.startsWith('epoch-'))).toEqual([
      'epoch-0002',
      'epoch-0003',
    ]);
    await trainTiny(app, 64, { epochs: 1, runDir: dir });
    expect(readdirSync(join(dir, 'checkpoints')).filter((name) => name.startsWith('epoch-'))).toEqual(['epoch-0001']);
    expect(latestEpoch(dir)).toBe(1);
  });

  it('refuses to resume a checkpoint of another model, and ignores half-written temporaries', async () => {
    const dir = runDir();
    await trainTiny(app, 64, { epochs: 1, runDir: dir });
    // A checkpoint directory left half-written by a killed process is not what latest.json names.
    mkdirSync(join(dir, 'checkpoints', '.epoch-0002.tmp-999'));
    writeFileSync(join(dir, 'checkpoints', '.epoch-0002.tmp-999', 'tensors.bin'), 'partial');
    const state = readJsonFile<object>(join(dir, 'checkpoints', 'epoch-0001', 'state.json'));
    writeFileSync(
      join(dir, 'checkpoints', 'epoch-0001', 'state.json'),
      JSON.stringify({ ...state, fingerprint: 'model[3×3] head[]' }),
    );
    await expect(trainTiny(app, 64, { epochs: 2, runDir: dir, resume: true })).rejects.toThrow(
      /written for another model/,
    );
    writeFileSync(join(dir, 'checkpoints', 'epoch-0001', 'state.json'), JSON.stringify(state));
    const resumed = await trainTiny(app, 64, { epochs: 2, runDir: dir, resume: true });
    expect(resumed.result.resumedFrom).toBe(1);
    expect(existsSync(join(dir, 'checkpoints', '.epoch-0002.tmp-999'))).toBe(false);
  });

  it('SGD follows the scheduled learning rate and AdamW decays kernels by lr·decay after the Adam step', () => {
    const kernel = tf.variable(tf.tensor2d([[1, -2]]), true, 'sgd_test/kernel');
    const sgd = createOptimizer({ name: 'sgd', momentum: 0, weightDecay: 0 }, 1);
    sgd.setLearningRate(0.1);
    sgd.apply([kernel], { [kernel.name]: tf.tensor2d([[0.5, 1]]) });
    expect(Array.from(kernel.dataSync())).toEqual([expect.closeTo(0.95, 6), expect.closeTo(-2.1, 6)]);

    const grads = (v: tf.Variable) => ({ [v.name]: tf.tensor2d([[0.3, -0.4]]) });
    const adamKernel = tf.variable(tf.tensor2d([[1, -2]]), true, 'adam_test/kernel');
    const adamwKernel = tf.variable(tf.tensor2d([[1, -2]]), true, 'adamw_test/kernel');
    const adamwBias = tf.variable(tf.tensor1d([1, -2]), true, 'adamw_test/bias');
    const adam = createOptimizer({ name: 'adam', momentum: 0, weightDecay: 0.5 }, 0.1);
    const adamw = createOptimizer({ name: 'adamw', momentum: 0, weightDecay: 0.5 }, 0.1);
    adam.apply([adamKernel], grads(adamKernel));
    adamw.apply([adamwKernel, adamwBias], { ...grads(adamwKernel), [adamwBias.name]: tf.tensor1d([0.3, -0.4]) });
    const adamValues = Array.from(adamKernel.dataSync());
    expect(Array.from(adamwKernel.dataSync())).toEqual(adamValues.map((v) => expect.closeTo(v * (1 - 0.1 * 0.5), 6)));
    expect(Array.from(adamwBias.dataSync())).toEqual(adamValues.map((v) => expect.closeTo(v, 6)));
    for (const optimizer of [sgd, adam, adamw]) optimizer.dispose();
    tf.dispose([kernel, adamKernel, adamwKernel, adamwBias]);
  });
});
