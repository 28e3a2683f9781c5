import { registrations } from '../../core/di/container.js';
import { mlpBackbone } from './mlp.js';
import { plainCnnBackbone } from './plain-cnn.js';
import { packagedBackbones } from './packaged.js';
import { pretrainedBackbone } from './pretrained.js';
import { residualCnnBackbone, resnet18Backbone } from './residual-cnn.js';
import { textEncoderBackbone } from './text-encoder.js';

export default registrations('Backbone', [
  residualCnnBackbone,
  resnet18Backbone,
  plainCnnBackbone,
  mlpBackbone,
  textEncoderBackbone,
  pretrainedBackbone,
  ...packagedBackbones,
]);
