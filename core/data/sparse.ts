import type { NeighbourRow } from '../contracts/postprocessor.js';

/** A sparse matrix in compressed sparse row form; row i's entries are indptr[i]..indptr[i + 1]. */
export interface CsrMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly indptr: Int32Array;
  /** Column of each entry, ascending within a row. */
  readonly indices: Int32Array;
  readonly values: Float32Array;
}

/** One sparse row: column indices (ascending) and their values. */
export interface SparseRow {
  readonly indices: Int32Array;
  readonly values: Float32Array;
}

/** Rows (for instance built one by one) as one CSR matrix with `cols` columns (default: the largest index + 1). */
export function csrFromRows(rows: readonly SparseRow[], cols?: number): CsrMatrix {
  const indptr = new Int32Array(rows.length + 1);
  rows.forEach((row, i) => (indptr[i + 1] = indptr[i]! + row.indices.length));
  const indices = new Int32Array(indptr[rows.length]!);
  const values = new Float32Array(indices.length);
  let width = 0;
  rows.forEach((row, i) => {
    indices.set(row.indices, indptr[i]);
    values.set(row.values, indptr[i]);
    for (const index of row.indices) width = Math.max(width, index + 1);
  });
  return { rows: rows.length, cols: cols ?? width, indptr, indices, values };
}

/** Columns → (row, value) lists: the transpose of a CSR matrix, used as an inverted index. */
function invertedIndex(matrix: CsrMatrix): { start: Int32Array; rows: Int32Array; values: Float32Array } {
  const start = new Int32Array(matrix.cols + 1);
  for (const column of matrix.indices) start[column + 1]!++;
  for (let c = 0; c < matrix.cols; c++) start[c + 1]! += start[c]!;
  const fill = start.slice(0, matrix.cols);
  const rows = new Int32Array(matrix.indices.length);
  const values = new Float32Array(matrix.indices.length);
  for (let r = 0; r < matrix.rows; r++) {
    for (let e = matrix.indptr[r]!; e < matrix.indptr[r + 1]!; e++) {
      const at = fill[matrix.indices[e]!]!++;
      rows[at] = r;
      values[at] = matrix.values[e]!;
    }
  }
  return { start, rows, values };
}

/** Whether candidate a ranks before b: higher score, then lower index. */
const before = (scoreA: number, a: number, scoreB: number, b: number) =>
  scoreA > scoreB || (scoreA === scoreB && a < b);

/**
 * The k most similar gallery rows of each query row by sparse dot product (the cosine for
 * L2-normalised rows), at least `minSimilarity`, best first (ties: lower index). An inverted index
 * over the gallery means only rows sharing a column are touched; memory is one score per gallery
 * row, never a query × gallery matrix. Rows may be given as CSR or as a list.
 */
export function sparseTopK(
  queries: CsrMatrix | readonly SparseRow[],
  gallery: CsrMatrix | readonly SparseRow[],
  k: number,
  minSimilarity = 0,
): NeighbourRow[] {
  const q = 'indptr' in queries ? queries : csrFromRows(queries);
  const g = 'indptr' in gallery ? gallery : csrFromRows(gallery);
  const index = invertedIndex({ ...g, cols: Math.max(g.cols, q.cols) });
  const scores = new Float64Array(g.rows);
  const touched = new Int32Array(g.rows);
  const touchedBy = new Int32Array(g.rows).fill(-1);
  const heap: number[] = [];
  const result: NeighbourRow[] = [];
  for (let r = 0; r < q.rows; r++) {
    let count = 0;
    for (let e = q.indptr[r]!; e < q.indptr[r + 1]!; e++) {
      const column = q.indices[e]!;
      const weight = q.values[e]!;
      for (let p = index.start[column]!; p < index.start[column + 1]!; p++) {
        const row = index.rows[p]!;
        if (touchedBy[row] !== r) {
          touchedBy[row] = r;
          touched[count++] = row;
        }
        scores[row]! += weight * index.values[p]!;
      }
    }
    // A min-heap (by rank) of the best k so far: the root is the worst kept candidate.
    heap.length = 0;
    const worse = (i: number, j: number) => before(scores[heap[j]!]!, heap[j]!, scores[heap[i]!]!, heap[i]!);
    const swap = (i: number, j: number) => ([heap[i], heap[j]] = [heap[j]!, heap[i]!]);
    const siftDown = (i: number) => {
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let worst = i;
        if (left < heap.length && worse(left, worst)) worst = left;
        if (right < heap.length && worse(right, worst)) worst = right;
        if (worst === i) return;
        swap(i, worst);
        i = worst;
      }
    };
    for (let t = 0; t < count; t++) {
      const row = touched[t]!;
      if (scores[row]! < minSimilarity || k <= 0) continue;
      if (heap.length < k) {
        heap.push(row);
        for (let i = heap.length - 1; i > 0 && worse(i, (i - 1) >> 1); i = (i - 1) >> 1) swap(i, (i - 1) >> 1);
      } else if (before(scores[row]!, row, scores[heap[0]!]!, heap[0]!)) {
        heap[0] = row;
        siftDown(0);
      }
    }
    const ranked = [...heap].sort((a, b) => (before(scores[a]!, a, scores[b]!, b) ? -1 : 1));
    result.push({ indices: ranked, similarities: ranked.map((row) => scores[row]!) });
    for (let t = 0; t < count; t++) scores[touched[t]!] = 0;
  }
  return result;
}
