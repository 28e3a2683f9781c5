import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BackboneBuilder } from '../../../core/contracts/backbone.js';
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { DEFAULT_CONFIG } from '../competition.js';

let app: Simkit;

beforeAll(async () => {
  await initEngine('cpu');
  app = await Simkit.create();
});

function build(seed: number): tf.LayersModel {
  const { name, options } = DEFAULT_CONFIG.models.image!.backbone;
  return app.registry<BackboneBuilder>('Backbone').create(name, options)(
    { height: 28, width: 28, channels: 1 },
    DEFAULT_CONFIG.models.image!.embeddingSize,
    seed,
  );
}

describe('fashion-mnist default backbone (plain-cnn)', () => {
  it('is the benchmark CNN: conv 16 → pool → conv 32 → pool → dense 128 → 64-d embedding', () => {
    const model = build(3);
    try {
      expect(DEFAULT_CONFIG.models.image!.backbone.name).toBe('plain-cnn');
      expect(model.outputs[0]!.shape).toEqual([null, 64]);
      const kernels = model.layers.map((layer) => layer.getClassName());
      expect(kernels).toEqual([
        'InputLayer',
        'Conv2D',
        'MaxPooling2D',
        'Conv2D',
        'MaxPooling2D',
        'Flatten',
        'Dense',
        'Dense',
      ]);
      // 1·9·16+16, 16·9·32+32, 7·7·32·128+128, 128·64+64
      expect(model.countParams()).toBe(160 + 4640 + 200832 + 8256);
    } finally {
      model.dispose();
    }
  });

  it('is reproduced exactly by its seed', () => {
    const [a, b, c] = [build(5), build(5), build(6)];
    try {
      const x = tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 1);
      const [ya, yb, yc] = [a, b, c].map((model) => Array.from((model.predict(x) as tf.Tensor).dataSync()));
      expect(ya).toEqual(yb);
      expect(ya).not.toEqual(yc);
      x.dispose();
    } finally {
      [a, b, c].forEach((model) => model.dispose());
    }
  });
});
