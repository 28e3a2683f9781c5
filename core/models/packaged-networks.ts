import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { runInNewContext } from 'node:vm';
import type * as tf from '@tensorflow/tfjs';
import { layersModelFrom, type LoadLayersOptions, type ModelDirectory } from './pretrained.js';
import { writeFileAtomicSync } from '../io/atomic-write.js';
import { sha256OfBytes, sha256OfFile } from '../io/checksum.js';
import { UserError } from '../errors.js';
import { log } from '../log.js';

/**
 * ImageNet networks that install offline: the npm package nsfwjs (MIT) ships MobileNetV2 and
 * InceptionV3 as TF.js LayersModels (Keras 2.2.4) inside JavaScript files. `model.min.js` exports
 * model.json as an object, each `group1-shardKofN.min.js` one weight shard as a base64 string, and
 * the weights are 8-bit quantised. They are decoded here without running the package's loader (the
 * files are evaluated in an empty VM context, with no require and no network), expanded to float32
 * and cached once, with SHA-256 digests checked on every load. The package's authors retrained
 * only the top of each network for a 5-class task (MobileNetV2 from block 11 on, InceptionV3 from
 * inside mixed6); the layers below are ImageNet weights, up to the 8-bit storage.
 */

export interface PackagedNetwork {
  /** The backbone's name in simkit. */
  readonly name: string;
  /** Folder under the package's dist/models. */
  readonly folder: string;
  /** Input side the network was trained at. */
  readonly nativeSize: number;
  /** Layer the backbone is cut at by default: the best frozen features measured on unseen classes. */
  readonly defaultLayer: string;
  /** Layers (in order) below which the weights are ImageNet's; from here on the package's authors retrained. */
  readonly retrainedFrom: string;
  readonly description: string;
}

export const PACKAGED_NETWORKS: readonly PackagedNetwork[] = [
  {
    name: 'mobilenet-v2',
    folder: 'mobilenet_v2',
    nativeSize: 224,
    defaultLayer: 'block_10_project_BN',
    retrainedFrom: 'block_11_expand',
    description: 'MobileNetV2 (2.6 M parameters, 224 px), ImageNet base',
  },
  {
    name: 'inception-v3',
    folder: 'inception_v3',
    nativeSize: 299,
    defaultLayer: 'mixed5',
    retrainedFrom: 'mixed6',
    description: 'InceptionV3 (22 M parameters, 299 px), ImageNet base',
  },
];

export const WEIGHTS_PACKAGE = 'nsfwjs';

export function packagedNetwork(name: string): PackagedNetwork {
  const network = PACKAGED_NETWORKS.find((n) => n.name === name);
  if (!network)
    throw new UserError(
      `unknown packaged network "${name}"`,
      `choose one of: ${PACKAGED_NETWORKS.map((n) => n.name).join(', ')}`,
    );
  return network;
}

/** Where the weights package is installed, and its version; null when it is not installed. */
export function weightsPackage(): { dir: string; version: string; license: string } | null {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve(WEIGHTS_PACKAGE);
  } catch {
    return null;
  }
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const json = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version?: string; license?: string };
    if (json.name === WEIGHTS_PACKAGE) return { dir, version: json.version ?? '?', license: json.license ?? '?' };
  }
  return null;
}

function requirePackage(): { dir: string; version: string } {
  const found = weightsPackage();
  if (!found)
    throw new UserError(
      `the pretrained networks come from the npm package ${WEIGHTS_PACKAGE}, which is not installed`,
      'run npm ci (or npm install) in the simkit directory',
    );
  return found;
}

/** Where the packaged networks' weights come from, in a line (simkit doctor and simkit list backbones). */
export function weightsSource(): string {
  const found = weightsPackage();
  if (!found) return `npm package ${WEIGHTS_PACKAGE} not installed`;
  const cached = PACKAGED_NETWORKS.filter((network) =>
    existsSync(join(networkCacheDir(network, found.version), 'cache.json')),
  ).map((network) => network.name);
  return (
    `${WEIGHTS_PACKAGE} ${found.version} (${found.license}) at ${found.dir}; decoded into ` +
    `${join(cacheRoot(), 'pretrained')} (${cached.length ? `cached: ${cached.join(', ')}` : 'nothing cached yet'})`
  );
}

/** The directory of the decoded-weights cache: $SIMKIT_CACHE_DIR, else ~/.cache/simkit. */
export function cacheRoot(): string {
  return process.env.SIMKIT_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'simkit');
}

export function networkCacheDir(network: PackagedNetwork, version = requirePackage().version): string {
  return join(cacheRoot(), 'pretrained', `${WEIGHTS_PACKAGE}-${version}`, network.folder);
}

/** Evaluates one of the package's CommonJS bundles in an empty context and returns its export. */
function evaluateBundle(file: string): unknown {
  if (!existsSync(file)) throw new UserError(`${file} is missing from the installed ${WEIGHTS_PACKAGE} package`);
  const module = { exports: {} as unknown };
  runInNewContext(readFileSync(file, 'utf8'), { module, exports: module.exports }, { filename: file, timeout: 60_000 });
  return module.exports;
}

interface ModelJson {
  modelTopology: Record<string, unknown>;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

function shortShards(bytes: number, weight: string): UserError {
  return new UserError(`the weight shards hold ${bytes} bytes, but the manifest describes more (up to ${weight})`);
}

/** Expands the quantised weights of the manifest to float32, in manifest order. */
export function dequantize(
  specs: readonly tf.io.WeightsManifestEntry[],
  bytes: Uint8Array,
): { specs: tf.io.WeightsManifestEntry[]; values: Float32Array } {
  const sizes = specs.map((spec) => spec.shape.reduce((a, b) => a * b, 1));
  const values = new Float32Array(sizes.reduce((a, b) => a + b, 0));
  let offset = 0;
  let written = 0;
  specs.forEach((spec, i) => {
    const size = sizes[i]!;
    const q = spec.quantization;
    if (spec.dtype !== 'float32') throw new UserError(`weight ${spec.name} has dtype ${spec.dtype}; float32 expected`);
    const width = q?.dtype === 'uint8' ? 1 : q?.dtype === 'uint16' ? 2 : 4;
    if (offset + size * width > bytes.byteLength) throw shortShards(bytes.byteLength, spec.name);
    if (!q) {
      values.set(new Float32Array(bytes.slice(offset, offset + size * 4).buffer), written);
      offset += size * 4;
    } else if (q.dtype === 'uint8' || q.dtype === 'uint16') {
      const raw = bytes.slice(offset, offset + size * width);
      const quantised = width === 1 ? raw : new Uint16Array(raw.buffer);
      const { scale = 1, min = 0 } = q;
      for (let j = 0; j < size; j++) values[written + j] = quantised[j]! * scale + min;
      offset += size * width;
    } else {
      throw new UserError(`weight ${spec.name} is stored as ${q.dtype}, which simkit does not expand`);
    }
    written += size;
  });
  if (offset !== bytes.byteLength)
    throw new UserError(`the weight shards hold ${bytes.byteLength} bytes, but the manifest describes ${offset}`);
  return { specs: specs.map(({ name, shape }) => ({ name, shape, dtype: 'float32' })), values };
}

/** Decodes the network from the installed package: its model.json and the raw (quantised) weight bytes. */
export function decodePackagedNetwork(network: PackagedNetwork): { json: ModelJson; bytes: Uint8Array } {
  const { dir } = requirePackage();
  const folder = join(dir, 'dist', 'models', network.folder);
  const json = evaluateBundle(join(folder, 'model.min.js')) as ModelJson;
  if (!json?.modelTopology || !Array.isArray(json.weightsManifest))
    throw new UserError(`${join(folder, 'model.min.js')} does not export a TF.js model.json`);
  const shards = json.weightsManifest.flatMap((group) =>
    group.paths.map((path) => {
      const file = join(folder, `${path}.min.js`);
      const base64 = evaluateBundle(file);
      if (typeof base64 !== 'string') throw new UserError(`${file} does not export a base64 string`);
      return Buffer.from(base64, 'base64');
    }),
  );
  return { json, bytes: new Uint8Array(Buffer.concat(shards)) };
}

interface CacheManifest {
  readonly package: string;
  readonly version: string;
  readonly network: string;
  /** SHA-256 of the quantised bytes as decoded from the package. */
  readonly sourceSha256: string;
  readonly modelSha256: string;
  readonly weightsSha256: string;
}

function cacheFiles(dir: string) {
  return { manifest: join(dir, 'cache.json'), model: join(dir, 'model.json'), weights: join(dir, 'weights.bin') };
}

/** The cache is usable when all its files exist and match their recorded digests. */
function readCache(dir: string, version: string): CacheManifest | null {
  const files = cacheFiles(dir);
  if (!existsSync(files.manifest) || !existsSync(files.model) || !existsSync(files.weights)) return null;
  try {
    const manifest = JSON.parse(readFileSync(files.manifest, 'utf8')) as CacheManifest;
    if (manifest.version !== version) return null;
    if (sha256OfFile(files.model) !== manifest.modelSha256 || sha256OfFile(files.weights) !== manifest.weightsSha256) {
      log.warn(`the decoded weights in ${dir} do not match their SHA-256 digests: decoding them again`);
      return null;
    }
    return manifest;
  } catch {
    return null;
  }
}

/**
 * The network's float32 weights and model.json in the cache, decoded from the package first when
 * the cache is missing or fails its digests. Returns the cache directory and its manifest.
 */
export function ensureCached(network: PackagedNetwork): { dir: string; manifest: CacheManifest } {
  const { version } = requirePackage();
  const dir = networkCacheDir(network, version);
  const cached = readCache(dir, version);
  if (cached) return { dir, manifest: cached };
  log.info(`decoding ${network.name} from the ${WEIGHTS_PACKAGE} ${version} package into ${dir} (once)`);
  const { json, bytes } = decodePackagedNetwork(network);
  const { specs, values } = dequantize(
    json.weightsManifest.flatMap((group) => group.weights),
    bytes,
  );
  const files = cacheFiles(dir);
  try {
    mkdirSync(dir, { recursive: true });
    const model = JSON.stringify({
      format: 'layers-model',
      modelTopology: json.modelTopology,
      weightsManifest: [{ paths: ['weights.bin'], weights: specs }],
    });
    const weights = new Uint8Array(values.buffer);
    writeFileAtomicSync(files.model, model);
    writeFileAtomicSync(files.weights, weights);
    const manifest: CacheManifest = {
      package: WEIGHTS_PACKAGE,
      version,
      network: network.name,
      sourceSha256: sha256OfBytes(bytes),
      modelSha256: sha256OfBytes(Buffer.from(model)),
      weightsSha256: sha256OfBytes(weights),
    };
    writeFileAtomicSync(files.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
    return { dir, manifest };
  } catch (error) {
    throw new UserError(
      `cannot write the decoded weights to ${dir}: ${(error as Error).message}`,
      'set SIMKIT_CACHE_DIR to a writable directory',
    );
  }
}

export interface NetworkOptions {
  /** Input side (square); the network's own when absent. */
  readonly size?: number;
  /** Output layer (the network is cut after it); the whole network when absent. */
  readonly layer?: string;
  /** Takes images of any side (no fixed input size; refused where the cut keeps the final fixed-size pool). */
  readonly anySize?: boolean;
}

type LayerConfig = { name: string; class_name: string; config: Record<string, unknown>; inbound_nodes: unknown[] };
type Topology = { model_config: { config: { layers: LayerConfig[]; output_layers: unknown[] } } };

function inboundNames(layer: LayerConfig): string[] {
  return (layer.inbound_nodes as [string, ...unknown[]][][]).flatMap((node) => node.map((edge) => edge[0]));
}

/**
 * The cached network as a model directory for layersModelFrom: input side changed, cut after
 * `layer` (only the layers it depends on kept). A fixed-size average pool (the final one) takes
 * the whole map at any input size: its pool size becomes the map's, given by `mapSize`.
 */
function packagedModelDirectory(
  network: PackagedNetwork,
  options: NetworkOptions,
  mapSize: (layerName: string) => number[],
): ModelDirectory {
  const { dir } = ensureCached(network);
  const files = cacheFiles(dir);
  const json = JSON.parse(readFileSync(files.model, 'utf8')) as ModelDirectory['json'] & { modelTopology: Topology };
  const config = json.modelTopology.model_config.config;
  const size = options.size ?? network.nativeSize;
  if (!Number.isInteger(size) || size < 32)
    throw new UserError(`${network.name}: input size ${size} is not an integer of at least 32`);
  const input = config.layers[0]!;
  const side = options.anySize ? null : size;
  input.config['batch_input_shape'] = [null, side, side, 3];
  if (options.layer !== undefined) {
    const byName = new Map(config.layers.map((layer) => [layer.name, layer]));
    if (!byName.has(options.layer))
      throw new UserError(
        `${network.name} has no layer "${options.layer}"`,
        `choose one of: ${config.layers
          .filter((l) => !['BatchNormalization', 'Activation', 'ReLU', 'ZeroPadding2D'].includes(l.class_name))
          .map((l) => l.name)
          .join(', ')} (or any of their batch-norm and activation layers; simkit list backbones)`,
      );
    const needed = new Set<string>();
    const stack = [options.layer];
    while (stack.length) {
      const name = stack.pop()!;
      if (needed.has(name)) continue;
      needed.add(name);
      stack.push(...inboundNames(byName.get(name)!));
    }
    config.layers = config.layers.filter((layer) => needed.has(layer.name));
    config.output_layers = [[options.layer, 0, 0]];
  }
  if (size !== network.nativeSize || options.anySize) {
    for (const layer of config.layers) {
      if (layer.class_name !== 'AveragePooling2D') continue;
      const pool = layer.config['pool_size'] as number[];
      // The final pool covers the native map exactly (7×7, 8×8); the inner 3×3 pools keep their size.
      if (pool[0]! <= 3) continue;
      if (options.anySize)
        throw new UserError(
          `${network.name} cut at ${options.layer ?? 'its end'} keeps its fixed-size final pool, so it takes one image size only`,
          `cut it before ${layer.name} (layer) and pool its map (pooling gem or average)`,
        );
      const map = mapSize(inboundNames(layer)[0]!);
      layer.config['pool_size'] = map;
      layer.config['strides'] = map;
    }
  }
  const values = new Uint8Array(readFileSync(files.weights));
  return {
    dir,
    format: 'layers-model',
    json,
    weightSpecs: json.weightsManifest!.flatMap((group) => [...group.weights]),
    weightData: values.buffer,
  };
}

/**
 * The packaged network as a LayersModel with its weights (frozen: every layer non-trainable and
 * batch norms on their moving statistics), at `size` px and cut after `layer`.
 */
export function packagedNetworkModel(
  network: PackagedNetwork,
  options: NetworkOptions & LoadLayersOptions = {},
): tf.LayersModel {
  const mapSize = (layer: string): number[] => {
    const prefix = packagedNetworkModel(network, { size: options.size, layer, frozen: true });
    const shape = prefix.outputs[0]!.shape;
    prefix.dispose();
    return [shape[1]!, shape[2]!];
  };
  return layersModelFrom(packagedModelDirectory(network, options, mapSize), { frozen: options.frozen });
}
