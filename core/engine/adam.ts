import * as tf from '@tensorflow/tfjs';

/** The kernel of one Adam update; the native backend registers it (core/engine/native/adam-kernel.ts). */
export const FUSED_ADAM = 'SimkitFusedAdam';

/** tf.AdamOptimizer's state, which its TypeScript declarations keep private. */
interface AdamState {
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly accBeta1: tf.Variable;
  readonly accBeta2: tf.Variable;
  readonly accumulatedFirstMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  readonly accumulatedSecondMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
}

/**
 * tf.AdamOptimizer whose per-variable update (about a dozen elementwise kernels) runs as one
 * FUSED_ADAM kernel where the active backend has it, with the same arithmetic in the same order
 * and the same state (moments `<name>/m`, `<name>/v`, β^t), so checkpoints and results match the
 * plain optimiser. Elsewhere it is tf.AdamOptimizer.
 */
export class FusedAdamOptimizer extends tf.AdamOptimizer {
  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    if (!tf.getKernel(FUSED_ADAM, tf.getBackend())) {
      super.applyGradients(variableGradients);
      return;
    }
    const state = this as unknown as AdamState;
    const names = Array.isArray(variableGradients)
      ? variableGradients.map((v) => v.name)
      : Object.keys(variableGradients);
    tf.tidy(() => {
      const round = Math.fround;
      const attrs = {
        negativeRate: round(-state.learningRate),
        beta1: round(state.beta1),
        keep1: round(1 - state.beta1),
        beta2: round(state.beta2),
        keep2: round(1 - state.beta2),
        epsilon: round(state.epsilon),
        correction1: round(1 - state.accBeta1.dataSync()[0]!),
        correction2: round(1 - state.accBeta2.dataSync()[0]!),
      };
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name]!;
        const moment = (slots: AdamState['accumulatedFirstMoment'], suffix: string) =>
          (slots[i] ??= {
            originalName: `${name}/${suffix}`,
            variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
          }).variable;
        const [first, second] = [moment(state.accumulatedFirstMoment, 'm'), moment(state.accumulatedSecondMoment, 'v')];
        const gradient = Array.isArray(variableGradients) ? variableGradients[i]!.tensor : variableGradients[name];
        if (gradient == null) return;
        const [newValue, newFirst, newSecond] = tf
          .engine()
          .runKernel(FUSED_ADAM, { value, gradient, first, second }, attrs) as tf.Tensor[];
        first.assign(newFirst!);
        second.assign(newSecond!);
        value.assign(newValue!);
      });
      state.accBeta1.assign(tf.mul(state.accBeta1, state.beta1));
      state.accBeta2.assign(tf.mul(state.accBeta2, state.beta2));
    });
    this.incrementIterations();
  }
}
