// Only the zero-shot part of `make fashion-mnist`, with a short budget, to compare recipes:
//   FM_ZS='{"objective":{"loss":"multi-similarity","head":"none","miner":"multi-similarity"}}' \
//     npx tsx bench/fashion-mnist-zero-shot.ts
// FM_ZS is merged over the recipe `make fashion-mnist` uses (bench/zero-shot.ts fields);
// FM_ZS_REFERENCES=1 also measures the untrained network and raw pixels. FM_ZS_PRETRAINED=1 trains the
// pretrained backbone's recipe instead (FASHION_MNIST_PRETRAINED, FM_ZS merged over it) and measures the
// frozen network too.
import { resolve } from 'node:path';
import { Simkit } from '../core/di/container.js';
import { initEngine } from '../core/engine/backend.js';
import { packagedNetwork, packagedNetworkModel } from '../core/models/packaged-networks.js';
import { readSplit, subset, SYSTEM_DATA_DIR } from '../competitions/fashion-mnist/dataset.js';
import {
  FASHION_MNIST_PRETRAINED,
  FASHION_MNIST_PRETRAINED_LAYER,
  FASHION_MNIST_PRETRAINED_SIZE,
  FASHION_MNIST_ZERO_SHOT,
} from './fashion-mnist-recipe.js';
import {
  buildCnn,
  pixelMapAtR,
  trainPretrainedZeroShot,
  trainZeroShot,
  unseenMapAtR,
  unseenRgbMapAtR,
  type PretrainedZeroShotRecipe,
  type ZeroShotRecipe,
} from './zero-shot.js';

const DATA = resolve(process.env.DATA ?? SYSTEM_DATA_DIR);

async function main(): Promise<void> {
  await initEngine();
  const app = await Simkit.create();
  const [train, test] = [await readSplit(DATA, 'train'), await readSplit(DATA, 'test')];
  const seen = subset(
    train,
    [...train.labels.keys()].filter((i) => train.labels[i]! < 5),
  );
  const unseen = subset(
    test,
    [...test.labels.keys()].filter((i) => test.labels[i]! >= 5),
  );
  const overrides = JSON.parse(process.env.FM_ZS ?? '{}') as Partial<PretrainedZeroShotRecipe>;
  if (process.env.FM_ZS_PRETRAINED === '1') {
    const recipe: PretrainedZeroShotRecipe = { ...FASHION_MNIST_PRETRAINED, ...overrides };
    if (process.env.FM_ZS_REFERENCES === '1') {
      const frozen = packagedNetworkModel(packagedNetwork('mobilenet-v2'), {
        size: FASHION_MNIST_PRETRAINED_SIZE,
        layer: FASHION_MNIST_PRETRAINED_LAYER,
        frozen: true,
      });
      const started = Date.now();
      const mapAtR = await unseenRgbMapAtR(frozen, unseen, FASHION_MNIST_PRETRAINED_SIZE);
      console.log(
        `frozen MobileNetV2 ${FASHION_MNIST_PRETRAINED_LAYER} MAP@R ${mapAtR.toFixed(4)} (${((Date.now() - started) / 1000).toFixed(0)} s)`,
      );
      frozen.dispose();
    }
    const { model, retrieval, seconds } = await trainPretrainedZeroShot(app, seen, recipe);
    console.log(
      `${JSON.stringify(recipe)}\nzero-shot MAP@R ${(await unseenRgbMapAtR(retrieval, unseen, recipe.imageSize)).toFixed(4)} (trained ${seconds.toFixed(0)} s)`,
    );
    model.dispose();
    return;
  }
  const recipe: ZeroShotRecipe = { ...FASHION_MNIST_ZERO_SHOT, ...overrides };
  if (process.env.FM_ZS_REFERENCES === '1') {
    const untrained = buildCnn(app, recipe.embeddingDim);
    console.log(`untrained CNN (${recipe.embeddingDim})  MAP@R ${(await unseenMapAtR(untrained, unseen)).toFixed(4)}`);
    untrained.dispose();
    console.log(`raw pixels             MAP@R ${pixelMapAtR(unseen).toFixed(4)}`);
  }
  const { model, seconds } = await trainZeroShot(app, seen, recipe);
  console.log(
    `${JSON.stringify(recipe)}\nzero-shot MAP@R ${(await unseenMapAtR(model, unseen)).toFixed(4)} (trained ${seconds.toFixed(0)} s)`,
  );
  model.dispose();
}

await main();
