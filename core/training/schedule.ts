/** Linear warm-up from 0 to `peak` over `warmupSteps`, then cosine decay to `floor`·peak at `totalSteps`. */
export function warmupCosine(step: number, totalSteps: number, warmupSteps: number, peak: number, floor = 0): number {
  if (warmupSteps > 0 && step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
  const span = Math.max(1, totalSteps - warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / span);
  return peak * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}
