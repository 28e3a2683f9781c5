/**
 * Float64 building blocks for the loss tests, written from the formulas (never from the code
 * under test): unit rows, similarity and distance matrices, label sets, log-sum-exp.
 */
export type Matrix = number[][];

export const unit = (v: number[]): number[] => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
export const dot = (u: number[], v: number[]): number => u.reduce((s, x, k) => s + x * v[k]!, 0);
export const cosine = (u: number[], v: number[]): number => dot(unit(u), unit(v));
/** ‖u − v‖² of the unit rows. */
export const squaredL2 = (u: number[], v: number[]): number => {
  const [a, b] = [unit(u), unit(v)];
  return a.reduce((s, x, k) => s + (x - b[k]!) ** 2, 0);
};
export const l2 = (u: number[], v: number[]): number => Math.sqrt(squaredL2(u, v) + 1e-12);
export const sum = (values: number[]): number => values.reduce((s, v) => s + v, 0);
export const mean = (values: number[]): number => (values.length ? sum(values) / values.length : 0);
export const meanNonZero = (values: number[]): number => mean(values.filter((v) => v > 1e-12));
export const relu = (x: number): number => Math.max(0, x);
export const softplus = (x: number): number => (x > 30 ? x : Math.log1p(Math.exp(x)));
export const logSumExp = (values: number[]): number => {
  const max = Math.max(...values);
  return max + Math.log(sum(values.map((v) => Math.exp(v - max))));
};
/** log(1 + Σ exp(v)). */
export const logOnePlusSumExp = (values: number[]): number => logSumExp([0, ...values]);
export const range = (n: number): number[] => [...Array(n).keys()];
export const positivesOf = (labels: readonly number[], i: number): number[] =>
  range(labels.length).filter((j) => j !== i && labels[j] === labels[i]);
export const negativesOf = (labels: readonly number[], i: number): number[] =>
  range(labels.length).filter((j) => labels[j] !== labels[i]);
/** −log softmax(logits)[target]. */
export const crossEntropy = (logits: number[], target: number): number => logSumExp(logits) - logits[target]!;

/**
 * A deterministic pseudo-random batch (xorshift), rows not normalised: losses must normalise through their distance.
 */
export function randomBatch(rows: number, dim: number, seed: number): Matrix {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
  return range(rows).map(() => range(dim).map(() => (next() - 0.5) * 3));
}
