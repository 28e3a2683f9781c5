import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../../../core/engine/backend.js';
import { FUSED_CONV_ADD, fusedConv2dAdd } from '../../../../core/engine/native/inference-kernels.js';
import { nativeKernelCalls } from '../../../../core/engine/native/kernels.js';
import { conv2dForward, geometry, randomArray, relativeError } from '../reference.js';

const callsOf = (kernel: string) => nativeKernelCalls().native[kernel] ?? 0;

beforeAll(async () => {
  expect((await initEngine('native')).name).toBe('native');
});

describe('fusedConv2dAdd', () => {
  const cases = [
    { shape: [2, 9, 7, 5], filter: [3, 3], outChannels: 6, stride: 1, pad: 'same', activation: 'relu' },
    { shape: [3, 8, 8, 4], filter: [3, 3], outChannels: 8, stride: 2, pad: 'valid', activation: 'relu6' },
    { shape: [1, 5, 6, 3], filter: [1, 1], outChannels: 4, stride: 2, pad: 'same', activation: 'linear' },
  ] as const;
  for (const { shape, filter, outChannels, stride, pad, activation } of cases) {
    it(`act(conv + bias + addend) in one native kernel, as float64: ${shape.join('×')} ${filter.join('×')}/${stride} ${pad} ${activation}`, async () => {
      const g = geometry([...shape], [...filter], stride, pad);
      const outShape = [g.batch, g.outHeight, g.outWidth, outChannels] as [number, number, number, number];
      const x = randomArray(
        shape.reduce((a: number, b) => a * b, 1),
        1,
      ).map((v) => v * 4);
      const kernel = randomArray(filter[0] * filter[1] * shape[3] * outChannels, 2);
      const bias = randomArray(outChannels, 3);
      const addend = randomArray(
        outShape.reduce((a, b) => a * b),
        4,
      ).map((v) => v * 3);
      const act = (v: number) =>
        activation === 'linear' ? v : Math.min(activation === 'relu6' ? 6 : Infinity, Math.max(0, v));
      const expected = conv2dForward(g, x, kernel, outChannels, bias).map((v, i) => act(v + addend[i]!));
      const compute = () =>
        tf.tidy(() =>
          fusedConv2dAdd({
            x: tf.tensor4d(x, [...shape] as [number, number, number, number]),
            filter: tf.tensor4d(kernel, [filter[0], filter[1], shape[3], outChannels]),
            bias: tf.tensor1d(bias),
            addend: tf.tensor4d(addend, outShape),
            strides: [stride, stride],
            pad,
            dilations: [1, 1],
            activation,
          }).dataSync(),
        );
      const [before, tensors] = [callsOf(FUSED_CONV_ADD), tf.memory().numTensors];
      expect(relativeError(compute(), expected)).toBeLessThanOrEqual(1e-4);
      expect(callsOf(FUSED_CONV_ADD)).toBe(before + 1);
      expect(tf.memory().numTensors).toBe(tensors);
      await tf.setBackend('cpu'); // the composed route elsewhere
      try {
        expect(relativeError(compute(), expected)).toBeLessThanOrEqual(1e-4);
      } finally {
        await tf.setBackend('native');
      }
      expect(callsOf(FUSED_CONV_ADD)).toBe(before + 1);
    });
  }
});
