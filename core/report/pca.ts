/**
 * Principal component analysis by power iteration in float64, for 2-D views of embeddings.
 * Works on the centred data matrix X (n×d) without forming the d×d covariance: each iteration
 * computes v ← Xᵀ(X v) / (n − 1), orthogonalised against the components already found.
 */
export interface Pca {
  /** Column means that were subtracted. */
  readonly mean: Float64Array;
  /** Unit-length principal axes, largest variance first; each with its largest-magnitude entry positive. */
  readonly components: Float64Array[];
  /** Variance of the data along each component (the covariance eigenvalue). */
  readonly variances: number[];
  /** Sum of the variances of all coordinates (the covariance trace), to express `variances` as shares. */
  readonly totalVariance: number;
  /** n rows of `components.length` coordinates: the centred data projected on the components. */
  readonly projections: Float64Array[];
}

export interface PcaOptions {
  readonly components?: number;
  readonly maxIterations?: number;
  /** Stop when the axis moves less than this (Euclidean distance between successive unit vectors). */
  readonly tolerance?: number;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

function normalise(v: Float64Array): number {
  const norm = Math.sqrt(dot(v, v));
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i]! /= norm;
  return norm;
}

/** Removes from `v` its parts along the (unit, orthogonal) `axes`. */
function orthogonalise(v: Float64Array, axes: readonly Float64Array[]): void {
  for (const axis of axes) {
    const along = dot(v, axis);
    for (let i = 0; i < v.length; i++) v[i]! -= along * axis[i]!;
  }
}

/** Σ_i x_i (x_i · v) / (n − 1): the covariance matrix times v. */
function covarianceTimes(rows: readonly Float64Array[], v: Float64Array): Float64Array {
  const out = new Float64Array(v.length);
  for (const row of rows) {
    const along = dot(row, v);
    for (let j = 0; j < v.length; j++) out[j]! += along * row[j]!;
  }
  const scale = 1 / Math.max(1, rows.length - 1);
  for (let j = 0; j < out.length; j++) out[j]! *= scale;
  return out;
}

/** A fixed start vector that is unlikely to be orthogonal to any axis. */
function startVector(dim: number, component: number): Float64Array {
  return Float64Array.from({ length: dim }, (_, j) => 1 + Math.sin(1.7 * (j + 1) + 0.9 * component));
}

export function pca(data: readonly ArrayLike<number>[], options: PcaOptions = {}): Pca {
  const n = data.length;
  const dim = n === 0 ? 0 : data[0]!.length;
  const wanted = Math.min(options.components ?? 2, dim);
  const tolerance = options.tolerance ?? 1e-10;
  const maxIterations = options.maxIterations ?? 2000;
  const mean = new Float64Array(dim);
  for (const row of data) {
    if (row.length !== dim) throw new RangeError(`pca: rows of ${row.length} and ${dim} values`);
    for (let j = 0; j < dim; j++) mean[j]! += row[j]! / n;
  }
  const centred = data.map((row) => Float64Array.from({ length: dim }, (_, j) => row[j]! - mean[j]!));
  const components: Float64Array[] = [];
  const variances: number[] = [];
  for (let c = 0; c < wanted; c++) {
    let v = startVector(dim, c);
    orthogonalise(v, components);
    if (normalise(v) === 0) break;
    let variance = 0;
    for (let iteration = 0; iteration < maxIterations; iteration++) {
      const next = covarianceTimes(centred, v);
      orthogonalise(next, components);
      variance = normalise(next);
      if (variance === 0) break;
      let moved = 0;
      for (let j = 0; j < dim; j++) moved += (next[j]! - v[j]!) ** 2;
      v = next;
      if (Math.sqrt(moved) < tolerance) break;
    }
    if (variance === 0) break;
    let largest = 0;
    for (let j = 1; j < dim; j++) if (Math.abs(v[j]!) > Math.abs(v[largest]!)) largest = j;
    if (v[largest]! < 0) for (let j = 0; j < dim; j++) v[j] = -v[j]!;
    components.push(v);
    variances.push(variance);
  }
  const projections = centred.map((row) => Float64Array.from(components, (axis) => dot(row, axis)));
  const totalVariance = centred.reduce((sum, row) => sum + dot(row, row), 0) / Math.max(1, n - 1);
  return { mean, components, variances, totalVariance, projections };
}
