import { UserError } from '../errors.js';

/**
 * More training images unreadable in an epoch than the run allows. The hint names the option;
 * the command line replaces it with its flags.
 */
export class BadImageQuotaError extends UserError {
  constructor(
    readonly epoch: number,
    readonly skipped: number,
    readonly samples: number,
    readonly maxShare: number,
  ) {
    super(
      `epoch ${epoch}: ${skipped} of ${samples} training images could not be read, more than ${maxShare * 100} %`,
      'check the images, or allow a larger share of bad images (maxBadImages)',
      1,
    );
    this.name = 'BadImageQuotaError';
  }
}

/** A resume asked for fewer epochs than the checkpoint has trained; the command line's hint names its flags. */
export class ShrinkingResumeError extends UserError {
  constructor(
    readonly checkpoints: string,
    readonly epochs: number,
    readonly trained: number,
  ) {
    super(
      `cannot resume ${epochs} epoch(s): the checkpoint in ${checkpoints} has already trained ${trained}`,
      `resume with ${trained} epochs or more, or start afresh`,
    );
    this.name = 'ShrinkingResumeError';
  }
}
