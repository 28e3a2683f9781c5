import type { Miner } from '../../core/contracts/loss.js';
import type { Registration } from '../../core/contracts/registration.js';
import { checkOptionNames } from '../../core/losses/embedding-loss.js';

/** A miner registration of one kind whose options are checked against its defaults. */
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
    create: (options) => {
      const o = { ...defaults, ...options };
      checkOptionNames(`miner ${name}`, o, defaults);
      return { kind, select: build(o) } as M;
    },
  };
}
