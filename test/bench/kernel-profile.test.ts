import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { startKernelProfile } from '../../bench/kernel-profile.js';
import { initEngine } from '../../core/engine/backend.js';

describe('kernel profile (bench-profile)', () => {
  beforeAll(async () => {
    await initEngine('wasm');
  });

  it('totals the kernels called between start and stop, leaving out those run inside other kernels', async () => {
    const x = tf.randomUniform([2, 6, 6, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const filter = tf.randomUniform([3, 3, 3, 4], 0, 1, 'float32', 2) as tf.Tensor4D;
    const dy = tf.randomUniform([2, 6, 6, 4], 0, 1, 'float32', 3) as tf.Tensor4D;
    tf.conv2d(x, filter, 1, 'same').dispose(); // outside the profile
    const before = tf.memory().numTensors;
    const profiling = startKernelProfile();
    const outputs = [
      tf.conv2d(x, filter, 1, 'same'),
      tf.conv2d(x, filter, 1, 'same'),
      // simkit's wasm Conv2DBackpropFilter runs a Conv2D inside itself.
      tf
        .engine()
        .runKernel(
          'Conv2DBackpropFilter',
          { x, dy },
          { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 3, 4] },
        ) as tf.Tensor,
      tf.add(x, x),
    ];
    const profile = await profiling.stop();
    tf.dispose(outputs);
    const calls = Object.fromEntries(profile.kernels.map((kernel) => [kernel.name, kernel.calls]));
    expect(calls).toEqual({ Conv2D: 2, Conv2DBackpropFilter: 1, Add: 1 });
    expect(profile.untimed).toBe(0);
    for (const kernel of profile.kernels) expect(kernel.ms).toBeGreaterThanOrEqual(0);
    expect(profile.kernels.map((kernel) => kernel.ms)).toEqual(
      [...profile.kernels.map((kernel) => kernel.ms)].sort((a, b) => b - a),
    );
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, filter, dy]);
  });

  it('records nothing once stopped', async () => {
    const profile = await startKernelProfile().stop();
    expect(profile.kernels).toEqual([]);
    const y = tf.add(tf.scalar(1), tf.scalar(2));
    expect(tf.engine().state.profiling).toBe(false);
    y.dispose();
  });
});
