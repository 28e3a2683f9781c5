import { registrations } from '../../core/di/container.js';
import { mlpBackbone } from './mlp.js';
import { plainCnnBackbone } from './plain-cnn.js';
import { residualCnnBackbone } from './residual-cnn.js';

export default registrations('Backbone', [residualCnnBackbone, plainCnnBackbone, mlpBackbone]);
