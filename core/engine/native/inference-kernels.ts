import * as tf from '@tensorflow/tfjs';
import { convGeometry, oneDnnGeometry } from '../kernels/conv-geometry.js';
import type { NativeEngineAddon } from './addon.js';
import { ACTIVATIONS, NATIVE_BACKEND, runMultiOutput, type WasmHeapBackend } from './kernels.js';

/** act(conv2d(x, filter) + bias + addend) in one oneDNN convolution (native/engine/src/inference.cc). */
export const FUSED_CONV_ADD = 'SimkitFusedConv2DAdd';

export interface ConvAddArgs {
  readonly x: tf.Tensor4D;
  readonly filter: tf.Tensor4D;
  readonly bias: tf.Tensor;
  /** Of the convolution's output shape: a residual block's shortcut. */
  readonly addend: tf.Tensor4D;
  readonly strides: [number, number];
  readonly pad: 'same' | 'valid';
  readonly dilations: [number, number];
  readonly activation: 'linear' | 'relu' | 'relu6';
}

type ConvAddAttrs = Pick<ConvAddArgs, 'strides' | 'pad' | 'dilations' | 'activation'>;

/** The native geometry when the kernel covers these inputs: NHWC float32, an addend of the output's shape. */
function geometryOf(x: tf.TensorInfo, filter: tf.TensorInfo, addend: tf.TensorInfo, attrs: ConvAddAttrs) {
  if ([x, filter, addend].some((t) => t.dtype !== 'float32' || t.shape.length !== 4)) return undefined;
  const info = convGeometry(x.shape, filter.shape, attrs, false);
  const geometry = oneDnnGeometry(info);
  return geometry && info.outShape.every((dim, i) => dim === addend.shape[i]) ? geometry : undefined;
}

/** Registers FUSED_CONV_ADD on the native backend. */
export function registerInferenceKernels(addon: NativeEngineAddon): void {
  tf.registerKernel({
    kernelName: FUSED_CONV_ADD,
    backendName: NATIVE_BACKEND,
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, filter, bias, addend } = inputs as Record<string, tf.TensorInfo>;
      const convAttrs = attrs as unknown as ConvAddAttrs;
      const geometry = geometryOf(x!, filter!, addend!, convAttrs);
      if (!geometry) throw new Error(`native ${FUSED_CONV_ADD} kernel does not cover these shapes`);
      const heapBackend = backend as unknown as WasmHeapBackend;
      const offset = (t: tf.TensorInfo) => heapBackend.dataIdMap.get(t.dataId).memoryOffset;
      const [xAt, filterAt, biasAt, addendAt] = [x!, filter!, bias!, addend!].map(offset);
      return runMultiOutput(FUSED_CONV_ADD, heapBackend, [addend!.shape], (heap, [out]) =>
        addon.conv2dAdd(
          heap,
          xAt!,
          filterAt!,
          biasAt!,
          addendAt!,
          out!,
          ...geometry,
          ACTIVATIONS[convAttrs.activation]!,
          0,
        ),
      )[0]!;
    },
  });
}

/**
 * act(conv2d(x, filter) + bias + addend): one native kernel while the native backend is active and covers the
 * shapes, else tfjs's fused convolution, an add and the activation.
 */
export function fusedConv2dAdd({ x, filter, bias, addend, ...attrs }: ConvAddArgs): tf.Tensor4D {
  if (tf.getBackend() === NATIVE_BACKEND && geometryOf(x, filter, addend, attrs))
    return tf.engine().runKernel(FUSED_CONV_ADD, { x, filter, bias, addend }, attrs) as tf.Tensor4D;
  const { strides, pad, dilations, activation } = attrs;
  const sum = tf.add<tf.Tensor4D>(tf.fused.conv2d({ x, filter, bias, strides, pad, dilations }), addend);
  return activation === 'linear' ? sum : activation === 'relu' ? tf.relu(sum) : tf.relu6(sum);
}
