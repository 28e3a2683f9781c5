/**
 * Inference plans: a LayersModel's graph run in inference mode with batch normalisation folded into the
 * convolution or dense layer before it, and the activation after it fused into the same kernel. Per folded
 * layer that is one fused convolution (or matmul) with bias and activation where tfjs-layers runs three or
 * four kernels (convolution, FusedBatchNorm, Relu; on the native engine the first is a oneDNN convolution with
 * the bias and activation as post-ops); a convolution whose batch norm feeds a residual add runs the add and
 * the activation after it in the same kernel too (SimkitFusedConv2DAdd). Every other layer runs its own `apply`
 * in inference mode. A graph with a layer called more than once (shared layers, nested models) has no plan.
 */
import * as tf from '@tensorflow/tfjs';
import { fusedConv2dAdd } from './native/inference-kernels.js';

/** tfjs-layers internals a plan reads: a layer's single call in the model's graph. */
interface GraphNode {
  readonly inputTensors: readonly tf.SymbolicTensor[];
  readonly outputTensors: readonly tf.SymbolicTensor[];
}
type GraphLayer = tf.layers.Layer & { readonly inboundNodes: readonly GraphNode[] };
type Weight = tf.LayerVariable | null | undefined;

/** Fused activations of tf.fused ops that a layer after a folded batch norm can become. */
type FusedActivation = 'linear' | 'relu' | 'relu6';

/** A kernel to fold a batch norm into: the layer, its weights, and how it runs with folded ones. */
interface Foldable {
  readonly kernel: tf.LayerVariable;
  readonly bias: Weight;
  /** Whether `run` takes an addend (added before the activation, in the same kernel on the native engine). */
  readonly addable: boolean;
  run(inputs: tf.Tensor[], kernel: tf.Tensor, bias: tf.Tensor, activation: FusedActivation): tf.Tensor;
}

const inputRank = (layer: tf.layers.Layer) => (layer as GraphLayer).inboundNodes[0]!.inputTensors[0]!.shape.length;
const config = (layer: tf.layers.Layer) => layer.getConfig() as Record<string, unknown>;
const pair = (value: unknown): [number, number] =>
  Array.isArray(value) ? [Number(value[0]), Number(value[1])] : [Number(value), Number(value)];

/** Conv2D, DepthwiseConv2D and Dense without an activation of their own (else the batch norm cannot fold). */
function foldable(layer: tf.layers.Layer): Foldable | undefined {
  const options = config(layer);
  if ((options.activation ?? 'linear') !== 'linear') return undefined;
  const weights = layer as unknown as Record<string, Weight>;
  const className = layer.getClassName();
  if (className === 'Dense' && weights.kernel && inputRank(layer) === 2) {
    return {
      kernel: weights.kernel,
      bias: weights.bias,
      addable: false,
      run: ([x], kernel, bias, activation) =>
        tf.fused.matMul({ a: x as tf.Tensor2D, b: kernel as tf.Tensor2D, bias, activation }),
    };
  }
  if ((className !== 'Conv2D' && className !== 'DepthwiseConv2D') || options.dataFormat !== 'channelsLast')
    return undefined;
  const kernel = className === 'Conv2D' ? weights.kernel : weights.depthwiseKernel;
  if (!kernel) return undefined;
  const geometry = {
    strides: pair(options.strides),
    pad: options.padding as 'same' | 'valid',
    dilations: pair(options.dilationRate),
  };
  const convolve = className === 'Conv2D' ? tf.fused.conv2d : tf.fused.depthwiseConv2d;
  return {
    kernel,
    bias: weights.bias,
    addable: className === 'Conv2D',
    run: ([x, addend], filter, bias, activation) => {
      const [input, weights4d] = [x as tf.Tensor4D, filter as tf.Tensor4D];
      return addend
        ? fusedConv2dAdd({ x: input, filter: weights4d, bias, addend: addend as tf.Tensor4D, activation, ...geometry })
        : convolve({ x: input, filter: weights4d, bias, activation, ...geometry });
    },
  };
}

/** The fused activation a ReLU or Activation layer is, if any. */
function fusedActivation(layer: tf.layers.Layer): FusedActivation | undefined {
  const options = config(layer);
  if (layer.getClassName() === 'Activation')
    return options.activation === 'relu' || options.activation === 'relu6' ? options.activation : undefined;
  if (layer.getClassName() !== 'ReLU') return undefined;
  if (options.maxValue === null || options.maxValue === undefined) return 'relu';
  return options.maxValue === 6 ? 'relu6' : undefined;
}

/** tfjs-layers' BatchNormalization class (not exported by name); subclasses such as a frozen batch norm count too. */
const BatchNormalization = tf.serialization.SerializationMap.getMap().classNameMap['BatchNormalization']![0];

/** A batch norm over the last axis in inference mode: its four vectors and epsilon. */
function batchNormOf(layer: tf.layers.Layer) {
  if (!(layer instanceof BatchNormalization)) return undefined;
  const options = config(layer);
  if (options.axis !== -1 && options.axis !== inputRank(layer) - 1) return undefined;
  const weights = layer as unknown as Record<string, Weight>;
  if (!weights.movingMean || !weights.movingVariance) return undefined;
  return {
    gamma: weights.gamma,
    beta: weights.beta,
    mean: weights.movingMean,
    variance: weights.movingVariance,
    epsilon: Number(options.epsilon),
  };
}

/**
 * Folds an inference-mode batch norm, y = γ·(x − μ)/√(σ² + ε) + β, into the linear layer before it, whose
 * output channel is its kernel's last axis: kernel·s and (bias − μ)·s + β with s = γ/√(σ² + ε), computed
 * in float64 and rounded once. Returns the folded kernel and bias (float32, the kernel's shape).
 */
export function foldBatchNorm(
  kernel: Float32Array,
  bias: Float32Array | undefined,
  norm: { gamma?: Float32Array; beta?: Float32Array; mean: Float32Array; variance: Float32Array; epsilon: number },
): { kernel: Float32Array; bias: Float32Array } {
  const channels = norm.mean.length;
  if (kernel.length % channels !== 0)
    throw new Error(`a kernel of ${kernel.length} values does not end in ${channels} output channels`);
  const scale = new Float64Array(channels);
  const folded = { kernel: new Float32Array(kernel.length), bias: new Float32Array(channels) };
  for (let c = 0; c < channels; c++) {
    scale[c] = (norm.gamma ? norm.gamma[c]! : 1) / Math.sqrt(norm.variance[c]! + norm.epsilon);
    folded.bias[c] = ((bias ? bias[c]! : 0) - norm.mean[c]!) * scale[c]! + (norm.beta ? norm.beta[c]! : 0);
  }
  for (let i = 0; i < kernel.length; i++) folded.kernel[i] = kernel[i]! * scale[i % channels]!;
  return folded;
}

/**
 * `steps` in an order where each runs after the steps making its inputs, otherwise in the given order; undefined when
 * some step reads a tensor no step makes.
 */
function topologicalOrder(steps: readonly Step[], inputId: number): Step[] | undefined {
  const ready = new Set([inputId]);
  const pending = [...steps];
  const ordered: Step[] = [];
  while (pending.length > 0) {
    const next = pending.findIndex((step) => step.inputs.every((id) => ready.has(id)));
    if (next < 0) return undefined;
    const [step] = pending.splice(next, 1);
    ordered.push(step!);
    ready.add(step!.output);
  }
  return ordered;
}

/** One step of a plan: the symbolic tensors it reads, the one it makes, and how. */
interface Step {
  readonly inputs: readonly number[];
  readonly output: number;
  /** What the step runs (tests, profiles): a layer class, or `Folded<Class>+BatchNormalization[+Add][+act]`. */
  readonly label: string;
  run(inputs: tf.Tensor[]): tf.Tensor;
}

/** A folded layer: the kernel and bias tensors it runs with, made from the weights when they were last read. */
interface FoldedWeights {
  readonly sources: readonly tf.LayerVariable[];
  make(): { kernel: tf.Tensor; bias: tf.Tensor };
}

export interface InferencePlan {
  /** The model's output for `x` in inference mode (one input, one output); `x` stays the caller's. */
  predict(x: tf.Tensor): tf.Tensor;
  /** The steps' labels in order (a folded layer and the layers it absorbed count as one). */
  readonly steps: readonly string[];
  /** Releases the folded weights. */
  dispose(): void;
}

/**
 * A plan for `model`, or undefined when its graph is not one a plan runs (several inputs or outputs, a layer
 * called more than once in it): then model.predict is the route. Folded weights are made on the first
 * `predict` and remade whenever any weight they come from has been assigned since (training, setWeights,
 * loading), so a plan held across training stays correct.
 */
export function inferencePlan(model: tf.LayersModel): InferencePlan | undefined {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return undefined;
  const layers = model.layers as GraphLayer[];
  if (layers.some((layer) => layer.inboundNodes.length !== 1)) return undefined;
  const consumers = new Map<number, GraphLayer[]>();
  for (const layer of layers)
    for (const input of layer.inboundNodes[0]!.inputTensors)
      consumers.set(input.id, [...(consumers.get(input.id) ?? []), layer]);
  const outputId = model.outputs[0]!.id;
  /** The only layer reading `layer`'s output, unless that output is also the model's. */
  const soleConsumer = (layer: GraphLayer): GraphLayer | undefined => {
    const id = layer.inboundNodes[0]!.outputTensors[0]!.id;
    const readers = consumers.get(id) ?? [];
    return readers.length === 1 && id !== outputId ? readers[0] : undefined;
  };

  const folds: FoldedWeights[] = [];
  const values: ({ kernel: tf.Tensor; bias: tf.Tensor } | undefined)[] = [];
  const steps: Step[] = [];
  const absorbed = new Set<GraphLayer>();
  for (const layer of layers) {
    if (absorbed.has(layer) || layer.getClassName() === 'InputLayer') continue;
    const node = layer.inboundNodes[0]!;
    const inputs = node.inputTensors.map((tensor) => tensor.id);
    const linear = node.outputTensors.length === 1 ? foldable(layer) : undefined;
    const normLayer = linear && soleConsumer(layer);
    const norm = normLayer && batchNormOf(normLayer);
    if (linear && normLayer && norm) {
      const normOutput = normLayer.inboundNodes[0]!.outputTensors[0]!.id;
      // A layer another fold has taken already (the other branch of an add) stays out.
      const unclaimed = (candidate: GraphLayer | undefined) =>
        candidate && !absorbed.has(candidate) ? candidate : undefined;
      let next = unclaimed(soleConsumer(normLayer));
      // A residual add after the batch norm (and the activation after it) joins the same kernel.
      const addInputs = next?.getClassName() === 'Add' ? next.inboundNodes[0]!.inputTensors.map((t) => t.id) : [];
      const addend = addInputs.length === 2 ? addInputs.find((id) => id !== normOutput) : undefined;
      const addLayer = linear.addable && addend !== undefined ? next : undefined;
      if (addLayer) {
        inputs.push(addend!);
        next = unclaimed(soleConsumer(addLayer));
      }
      const activation = (next && fusedActivation(next)) ?? 'linear';
      const last = activation === 'linear' ? (addLayer ?? normLayer) : next!;
      for (const absorbedLayer of [normLayer, addLayer, last]) if (absorbedLayer) absorbed.add(absorbedLayer);
      const index = folds.length;
      const read = (weight: Weight) => (weight ? (weight.read().dataSync() as Float32Array) : undefined);
      folds.push({
        sources: [linear.kernel, linear.bias, norm.gamma, norm.beta, norm.mean, norm.variance].filter(
          (weight): weight is tf.LayerVariable => Boolean(weight),
        ),
        make: () => {
          const folded = foldBatchNorm(read(linear.kernel)!, read(linear.bias), {
            gamma: read(norm.gamma),
            beta: read(norm.beta),
            mean: read(norm.mean)!,
            variance: read(norm.variance)!,
            epsilon: norm.epsilon,
          });
          return {
            kernel: tf.tensor(folded.kernel, linear.kernel.shape as number[]),
            bias: tf.tensor1d(folded.bias),
          };
        },
      });
      steps.push({
        inputs,
        output: last.inboundNodes[0]!.outputTensors[0]!.id,
        label: [
          `Folded${layer.getClassName()}`,
          'BatchNormalization',
          addLayer && 'Add',
          activation !== 'linear' && activation,
        ]
          .filter(Boolean)
          .join('+'),
        run: (tensors) => linear.run(tensors, values[index]!.kernel, values[index]!.bias, activation),
      });
      continue;
    }
    if (node.outputTensors.length !== 1) return undefined;
    steps.push({
      inputs,
      output: node.outputTensors[0]!.id,
      label: layer.getClassName(),
      run: (tensors) => layer.apply(tensors.length === 1 ? tensors[0]! : tensors, { training: false }) as tf.Tensor,
    });
  }

  const inputId = model.inputs[0]!.id;
  const ordered = topologicalOrder(steps, inputId);
  // A graph the steps do not cover (none makes the output, or one reads what none makes) runs model.predict.
  if (!ordered?.some((step) => step.output === outputId)) return undefined;
  // Each symbolic tensor's readers among the steps, to release intermediates as soon as they are read.
  const readers = new Map<number, number>();
  for (const step of ordered) for (const id of step.inputs) readers.set(id, (readers.get(id) ?? 0) + 1);
  let versions: tf.DataId[] = [];
  const sources = folds.flatMap((fold) => fold.sources);
  const release = () => {
    for (const value of values) if (value) tf.dispose([value.kernel, value.bias]);
    values.length = 0;
  };
  const refresh = () => {
    const current = sources.map((weight) => weight.read().dataId);
    if (values.length === folds.length && current.every((id, i) => id === versions[i])) return;
    release();
    // Kept: a plan is usually first run inside the caller's tf.tidy, which would release them with its scope.
    for (const fold of folds) {
      const { kernel, bias } = tf.tidy(() => fold.make());
      values.push({ kernel: tf.keep(kernel), bias: tf.keep(bias) });
    }
    versions = current;
  };

  return {
    steps: ordered.map((step) => step.label),
    predict(x) {
      refresh();
      const live = new Map<number, tf.Tensor>([[inputId, x]]);
      const left = new Map(readers);
      try {
        for (const step of ordered) {
          const output = tf.tidy(() => {
            const inputs = step.inputs.map((id) => live.get(id)!);
            const result = step.run(inputs);
            // A layer that passes its input through (Dropout in inference) gets its own handle, released on its own.
            return inputs.includes(result) ? result.clone() : result;
          });
          live.set(step.output, output);
          for (const id of step.inputs) {
            const remaining = left.get(id)! - 1;
            left.set(id, remaining);
            if (remaining === 0 && id !== inputId && id !== outputId) {
              live.get(id)!.dispose();
              live.delete(id);
            }
          }
        }
        const output = live.get(outputId)!;
        live.delete(outputId);
        return output;
      } finally {
        for (const [id, tensor] of live) if (id !== inputId) tensor.dispose();
      }
    },
    dispose: release,
  };
}

/**
 * Input values per inference batch: a chunk of small inputs runs as one batch (model.predict's default of 32
 * rows cut a 256-row chunk into eight small matmuls and convolutions, then concatenated them), large images
 * in slices whose activations stay a few tens of MB.
 */
export const INFERENCE_BATCH_VALUES = 1 << 22;

/** Rows of `x` to run at once: the batch, or as many as `maxValues` input values allow (at least one). */
export function inferenceRows(shape: readonly number[], maxValues = INFERENCE_BATCH_VALUES): number {
  const perRow = shape.slice(1).reduce((product, dim) => product * dim, 1);
  return Math.max(1, Math.min(shape[0]!, Math.floor(maxValues / Math.max(1, perRow))));
}

/**
 * Runs `model` in inference mode, through its plan when it has one (else model.predict), in batches of
 * inferenceRows rows (of at most `maxValues` input values). `predict` leaves `x` to the caller; `dispose`
 * releases the plan's folded weights.
 */
export function inferenceRunner(
  model: tf.LayersModel,
  maxValues = INFERENCE_BATCH_VALUES,
): {
  predict(x: tf.Tensor): tf.Tensor;
  readonly plan: InferencePlan | undefined;
  dispose(): void;
} {
  const plan = inferencePlan(model);
  const once = (x: tf.Tensor) => (plan ? plan.predict(x) : (model.predict(x, { batchSize: x.shape[0] }) as tf.Tensor));
  return {
    plan,
    predict(x) {
      const rows = inferenceRows(x.shape, maxValues);
      if (rows >= x.shape[0]) return once(x);
      return tf.tidy(() => {
        const parts: tf.Tensor[] = [];
        for (let start = 0; start < x.shape[0]; start += rows)
          parts.push(once(x.slice(start, Math.min(rows, x.shape[0] - start))));
        return tf.concat(parts);
      });
    },
    dispose: () => plan?.dispose(),
  };
}
