/**
 * FNMR@FMR, the verification view of embeddings (open-metric-learning's fnmr@fmr): every (query, gallery item) pair is
 * genuine (same label) or impostor (different labels); a pair is accepted as a match when its similarity exceeds a
 * threshold t. For a false match rate f, t is the impostor similarity at 0-based rank ⌊f·n⌋ of the n impostor pairs
 * sorted from most to least similar, so at most ⌊f·n⌋ impostor pairs are accepted (fewer with ties at t); the false
 * non-match rate is the share of genuine pairs with similarity ≤ t. Without impostor or genuine pairs it is NaN.
 */
export function fnmrAtFmr(
  genuine: ArrayLike<number>,
  impostor: ArrayLike<number>,
  rates: readonly number[],
): Record<number, number> {
  for (const rate of rates)
    if (!(rate >= 0 && rate < 1)) throw new RangeError(`fnmrAtFmr: a false match rate is in [0, 1), got ${rate}`);
  const descending = Float64Array.from(impostor).sort().reverse();
  return Object.fromEntries(
    rates.map((rate) => {
      if (descending.length === 0 || genuine.length === 0) return [rate, Number.NaN];
      const threshold = descending[Math.floor(rate * descending.length)]!;
      let rejected = 0;
      for (let i = 0; i < genuine.length; i++) if (genuine[i]! <= threshold) rejected += 1;
      return [rate, rejected / genuine.length];
    }),
  );
}
