import { describe, expect, it } from 'vitest';
import { checkConfig } from '../../../core/pipeline/config-check.js';
import { completeConfig, trainingConfig } from '../../../core/pipeline/config.js';
import { IMAGE_CLASSIFICATION_CONFIG, IMAGE_MODEL } from '../../../core/pipeline/defaults.js';

const withTraining = (training: object) =>
  completeConfig({
    ...IMAGE_CLASSIFICATION_CONFIG,
    models: { image: { ...IMAGE_MODEL, training } },
  });

describe('training.precision', () => {
  it('is f32 by default and takes bf16', () => {
    expect(trainingConfig(completeConfig(IMAGE_CLASSIFICATION_CONFIG).models.image!).precision).toBe('f32');
    expect(() => checkConfig(withTraining({ precision: 'bf16' }), 'my.yaml')).not.toThrow();
  });

  it('refuses any other value, naming the key', () => {
    expect(() => checkConfig(withTraining({ precision: 'fp16' }), 'my.yaml')).toThrow(
      /models\.image\.training\.precision\): expected f32 or bf16, got "fp16"/,
    );
  });
});
