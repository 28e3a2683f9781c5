import type { PostProcessor } from '../../../core/contracts/postprocessor.js';
import type { Registration } from '../../../core/contracts/registration.js';
import { Registry } from '../../../core/di/registry.js';

/** A post-processor as the pipeline builds it: through a registry, its defaults merged with `options`. */
export function create<O extends object>(
  registration: Registration<PostProcessor, O>,
  options: Partial<O> = {},
): PostProcessor {
  return new Registry<PostProcessor>('post-processor', [registration]).create(registration.name, options);
}
