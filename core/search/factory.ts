import { UserError } from '../errors.js';

/**
 * What simkit knows about a faiss factory string before handing it to faiss. faiss-node does not
 * catch C++ exceptions from `train`/`add`/`search`/`removeIds` (they abort the process), so every
 * component must be one whose failure modes are validated here; unknown components are refused.
 */
export interface FactorySpec {
  readonly factory: string;
  /** Fewest training vectors faiss accepts (k-means needs at least as many points as centroids). */
  readonly minTrainingVectors: number;
  /** The main component is a flat (uncompressed) store: exact, with a compacting removeIds. */
  readonly exact: boolean;
  /** faiss implements removeIds without renumbering hazards only for flat stores. */
  readonly supportsRemove: boolean;
  /**
   * Only sequential stores (Flat, PQ, SQ) merge correctly: faiss-node merges IVF indexes without an
   * id offset (the labels of the two collide) and HNSW/pre-transformed indexes not at all.
   */
  readonly supportsMerge: boolean;
}

interface Component {
  readonly pattern: RegExp;
  /** Checks against the vector dimension (after earlier transforms); returns the dimension after it. */
  check(match: RegExpMatchArray, dim: number): { dim: number; minTraining: number };
  readonly role: 'transform' | 'coarse' | 'store';
}

const pow2 = (bits: number): number => 2 ** bits;

function divisible(dim: number, m: number, what: string): void {
  if (m < 1 || dim % m !== 0)
    throw new UserError(
      `${what}: dimension ${dim} is not divisible by ${m}`,
      'choose a sub-quantizer count that divides the dimension',
    );
}

function pqBits(match: RegExpMatchArray, index: number): number {
  const bits = match[index] === undefined ? 8 : Number(match[index]);
  if (bits < 1 || bits > 16) throw new UserError(`PQ code size must be 1..16 bits, got ${bits}`);
  return bits;
}

const COMPONENTS: readonly Component[] = [
  {
    role: 'transform',
    pattern: /^PCAR?(\d+)$/,
    check: (m, dim) => ({ dim: boundedOutput(Number(m[1]), dim, 'PCA'), minTraining: 1 }),
  },
  {
    role: 'transform',
    pattern: /^OPQ(\d+)(?:_(\d+))?$/,
    check: (m, dim) => {
      const out = m[2] === undefined ? dim : boundedOutput(Number(m[2]), dim, 'OPQ');
      divisible(out, Number(m[1]), 'OPQ');
      return { dim: out, minTraining: pow2(8) };
    },
  },
  { role: 'transform', pattern: /^L2norm$/, check: (_m, dim) => ({ dim, minTraining: 0 }) },
  {
    role: 'coarse',
    pattern: /^IVF(\d+)(?:_HNSW\d+)?$/,
    check: (m, dim) => {
      const nlist = Number(m[1]);
      if (nlist < 1) throw new UserError('IVF needs at least one list');
      return { dim, minTraining: nlist };
    },
  },
  { role: 'store', pattern: /^Flat$/, check: (_m, dim) => ({ dim, minTraining: 0 }) },
  { role: 'store', pattern: /^HNSW(\d+)(?:_Flat)?$/, check: (_m, dim) => ({ dim, minTraining: 0 }) },
  {
    role: 'store',
    pattern: /^PQ(\d+)(?:x(\d+))?(np)?$/,
    check: (m, dim) => {
      divisible(dim, Number(m[1]), 'PQ');
      return { dim, minTraining: pow2(pqBits(m, 2)) };
    },
  },
  { role: 'store', pattern: /^SQ(4|6|8|fp16)$/, check: (_m, dim) => ({ dim, minTraining: 1 }) },
];

function boundedOutput(out: number, dim: number, what: string): number {
  if (out < 1 || out > dim) throw new UserError(`${what}${out}: output dimension must be 1..${dim}`);
  return out;
}

const KNOWN =
  'PCA<d>, PCAR<d>, OPQ<m>[_<d>], L2norm, IVF<n>[_HNSW<m>], Flat, HNSW<m>, PQ<m>[x<bits>], SQ4|SQ6|SQ8|SQfp16';

/** Parses and validates `factory` for vectors of `dim` dimensions; throws a UserError naming the problem. */
export function parseFactory(factory: string, dim: number): FactorySpec {
  if (!Number.isInteger(dim) || dim < 1) throw new UserError(`vector dimension must be a positive integer, got ${dim}`);
  const parts = factory.split(',').map((part) => part.trim());
  let current = dim;
  let minTraining = 0;
  let coarse = false;
  let store: string | undefined;
  let transformed = false;
  for (const [position, part] of parts.entries()) {
    const component = COMPONENTS.find((c) => c.pattern.test(part));
    if (!component)
      throw new UserError(
        `unsupported faiss factory component "${part}" in "${factory}"`,
        `simkit validates these components: ${KNOWN}`,
      );
    const isLast = position === parts.length - 1;
    if (component.role === 'store' && !isLast)
      throw new UserError(`"${part}" must be the last component of "${factory}"`);
    if (component.role === 'coarse' && (coarse || store))
      throw new UserError(
        `"${part}" is misplaced in "${factory}"`,
        'use at most one IVF<n> before the storage component',
      );
    if (component.role === 'transform' && (coarse || store))
      throw new UserError(`transform "${part}" must come first in "${factory}"`);
    if (component.role === 'coarse' && isLast)
      throw new UserError(`"${factory}" needs a storage component after "${part}"`, `e.g. "${part},Flat"`);
    if (coarse && part.startsWith('HNSW')) throw new UserError(`"${factory}": IVF with an HNSW store is not supported`);
    const result = component.check(part.match(component.pattern)!, current);
    current = result.dim;
    minTraining = Math.max(minTraining, result.minTraining);
    if (component.role === 'coarse') coarse = true;
    if (component.role === 'transform') transformed = true;
    if (component.role === 'store') store = part;
  }
  if (!store) throw new UserError(`"${factory}" has no storage component`, 'end it with Flat, HNSW<m>, PQ<m> or SQ8');
  const flatStore = store === 'Flat' && !coarse && parts.length === 1;
  return {
    factory: parts.join(','),
    minTrainingVectors: minTraining,
    exact: flatStore,
    supportsRemove: flatStore,
    supportsMerge: !store.startsWith('HNSW') && !transformed && !coarse,
  };
}
