import { registrations } from '../../core/di/container.js';
import { mlpBackbone } from './mlp.js';
import { plainCnnBackbone } from './plain-cnn.js';
import { pretrainedBackbone } from './pretrained.js';
import { residualCnnBackbone } from './residual-cnn.js';
import { textEncoderBackbone } from './text-encoder.js';

export default registrations('Backbone', [residualCnnBackbone, plainCnnBackbone, mlpBackbone, textEncoderBackbone, pretrainedBackbone]);
