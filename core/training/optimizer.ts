import * as tf from '@tensorflow/tfjs';
import { FusedAdamOptimizer } from '../engine/adam.js';
import { UserError } from '../errors.js';
import type { NamedTensor } from './checkpoint.js';

export type OptimizerName = 'adam' | 'adamw' | 'sgd';

export interface OptimizerOptions {
  readonly name: OptimizerName;
  /** Momentum of `sgd`. */
  readonly momentum: number;
  /**
   * Decoupled weight decay of `adamw` (and `sgd`): after each update, kernels shrink by
   * lr·decay·w (Loshchilov & Hutter); biases, batch-norm parameters and class matrices are left alone.
   */
  readonly weightDecay: number;
}

export const OPTIMIZER_NAMES: readonly OptimizerName[] = ['adam', 'adamw', 'sgd'];

/** An optimiser whose learning rate the loop sets every step, with its state for checkpoints. */
export interface ScheduledOptimizer {
  setLearningRate(rate: number): void;
  apply(variables: readonly tf.Variable[], grads: tf.NamedTensorMap): void;
  getWeights(): Promise<NamedTensor[]>;
  setWeights(weights: NamedTensor[]): Promise<void>;
  dispose(): void;
}

/** Adam's running products β₁^t and β₂^t (private fields of tf.AdamOptimizer). */
const ADAM_POWERS = ['accBeta1', 'accBeta2'] as const;
type AdamPower = (typeof ADAM_POWERS)[number];

function isDecayed(variable: tf.Variable): boolean {
  return /kernel|embeddings/.test(variable.name);
}

export function createOptimizer(options: OptimizerOptions, initialRate: number): ScheduledOptimizer {
  if (!OPTIMIZER_NAMES.includes(options.name))
    throw new UserError(`unknown optimizer "${options.name}"`, `use one of ${OPTIMIZER_NAMES.join(', ')}`);
  const sgd = options.name === 'sgd' ? tf.train.momentum(initialRate, options.momentum) : undefined;
  const optimizer: tf.Optimizer = sgd ?? new FusedAdamOptimizer(initialRate, 0.9, 0.999);
  const decay = options.name === 'adam' ? 0 : options.weightDecay;
  const adam = sgd ? undefined : (optimizer as unknown as Record<AdamPower, tf.Variable>);
  let rate = initialRate;
  return {
    setLearningRate(next) {
      rate = next;
      // SGD keeps −lr as a tensor built by setLearningRate; Adam reads the field at each update.
      if (sgd) sgd.setLearningRate(next);
      else (optimizer as unknown as { learningRate: number }).learningRate = next;
    },
    apply(variables, grads) {
      if (variables.length === 0) return;
      optimizer.applyGradients(variables.map((v) => ({ name: v.name, tensor: grads[v.name]! })));
      if (decay > 0) {
        tf.tidy(() => {
          for (const variable of variables) if (isDecayed(variable)) variable.assign(variable.mul(1 - rate * decay));
        });
      }
    },
    async getWeights() {
      const weights = await optimizer.getWeights();
      return adam ? [...weights, ...ADAM_POWERS.map((name) => ({ name, tensor: adam[name] }))] : weights;
    },
    async setWeights(weights) {
      if (!adam) return optimizer.setWeights(weights);
      // Adam recomputes β^t from the step count on load; restoring the running products it had
      // keeps a resumed run bit-identical to an uninterrupted one.
      await optimizer.setWeights(weights.filter((w) => !ADAM_POWERS.includes(w.name as AdamPower)));
      for (const name of ADAM_POWERS) {
        const saved = weights.find((w) => w.name === name);
        if (saved) adam[name].assign(saved.tensor);
      }
    },
    dispose: () => optimizer.dispose(),
  };
}
