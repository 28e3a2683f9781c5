import { combineModules, registrations } from '../../core/di/container.js';
import { DISTANCES } from '../../core/losses/distances.js';
import { REDUCERS } from '../../core/losses/reducers.js';
import { REGULARIZERS } from '../../core/losses/regularizers.js';

/** The distances, reducers and regularisers that losses name in their options. */
export default combineModules(
  registrations('Distance', DISTANCES),
  registrations('Reducer', REDUCERS),
  registrations('Regularizer', REGULARIZERS),
);
