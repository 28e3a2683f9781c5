import { log } from '../log.js';
import type { TrainingCallback } from './callbacks.js';
import { BadImageQuotaError } from './errors.js';

/**
 * Unreadable training images are left out with a warning each epoch; more than `maxShare` of the
 * training samples in one epoch stops training (no limit without one).
 */
export function badImageQuota(maxShare: number | undefined): TrainingCallback {
  return {
    onBatchesDone: ({ epoch, skipped, samples }) => {
      if (!skipped) return;
      if (maxShare !== undefined && skipped > maxShare * samples)
        throw new BadImageQuotaError(epoch + 1, skipped, samples, maxShare);
      log.warn(
        `epoch ${epoch + 1}: ${skipped} unreadable image(s) left out (--verbose names each, --strict makes this an error)`,
      );
    },
  };
}
