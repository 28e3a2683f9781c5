// Only the zero-shot part of `make fashion-mnist`, with a short budget, to compare recipes:
//   FM_ZS='{"objective":{"loss":"multi-similarity","head":"none","miner":"multi-similarity"}}' \
//     npx tsx bench/fashion-mnist-zero-shot.ts
// FM_ZS is merged over the recipe `make fashion-mnist` uses (bench/zero-shot.ts fields);
// FM_ZS_REFERENCES=1 also measures the untrained network and raw pixels.
import { resolve } from 'node:path';
import { Simkit } from '../core/di/container.js';
import { initEngine } from '../core/engine/backend.js';
import { readSplit, subset, SYSTEM_DATA_DIR } from '../competitions/fashion-mnist/dataset.js';
import { FASHION_MNIST_ZERO_SHOT } from './fashion-mnist-recipe.js';
import { buildCnn, pixelMapAtR, trainZeroShot, unseenMapAtR, type ZeroShotRecipe } from './zero-shot.js';

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
  const recipe: ZeroShotRecipe = {
    ...FASHION_MNIST_ZERO_SHOT,
    ...(JSON.parse(process.env.FM_ZS ?? '{}') as Partial<ZeroShotRecipe>),
  };
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
