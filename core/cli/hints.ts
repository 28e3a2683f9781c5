import type { UserError } from '../errors.js';
import { BadImageQuotaError, ShrinkingResumeError } from '../training/errors.js';

/**
 * The hint of a typed error as the command line gives it: the flags that fix it. The core names
 * options; only the command line knows its flags.
 */
export function commandLineHint(error: UserError): string | undefined {
  if (error instanceof BadImageQuotaError)
    return 'check the images (--verbose names each), or allow more with --max-bad-images';
  if (error instanceof ShrinkingResumeError)
    return `resume with --epochs ${error.trained} or more, or start afresh without --resume`;
  return error.hint;
}
