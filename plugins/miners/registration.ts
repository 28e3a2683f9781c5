import type { Miner } from '../../core/contracts/loss.js';
import type { Registration } from '../../core/contracts/registration.js';

/** A miner registration of one kind; `build` takes its complete options. */
export function minerRegistration<M extends Miner, O extends object>(
  kind: M['kind'],
  name: string,
  description: string,
  defaults: O,
  build: (options: O) => M['select'],
): Registration<M, O> {
  return {
    name,
    description,
    defaults,
    // Registry.create hands over the complete options, checked against the defaults.
    create: (options) => ({ kind, select: build(options as O) }) as M,
  };
}
