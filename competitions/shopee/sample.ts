import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SAMPLE_SOLUTION_FILE } from '../../core/contracts/competition.js';
import { hashedUsage } from '../../core/competition/adapter.js';
import { Random } from '../../core/random.js';
import { writeFileAtomic } from '../../core/io/atomic-write.js';
import { writeCsvAtomic } from '../../core/data/csv.js';
import { jitterPose, motif, randomPose, renderMotif } from '../../core/samples/render.js';

const BRANDS = ['Sariayu', 'Wardah', 'Indomie', 'Philips', 'Xiaomi', 'Uniqlo', 'Tupperware', 'Oxone'];
const THINGS = ['botol minum', 'kaos polos', 'casing hp', 'lampu LED', 'tas ransel', 'sepatu', 'masker', 'panci'];
const EXTRAS = [
  'ORIGINAL',
  'murah',
  'COD',
  'promo',
  'best seller',
  'ready stock',
  '100% asli',
  'free ongkir',
  '"grosir"',
];

const IMAGE_SIZE = 64;

function phashOf(random: Random): string {
  return Array.from({ length: 16 }, () => '0123456789abcdef'[random.int(16)]).join('');
}

/**
 * Shopee-layout sample: products (label groups) of 2-6 postings; each posting has its own photo of the product (the
 * product's setting, varied) and its own title. Some postings of a group share one image file (same phash); a few
 * groups reuse another group's image (phash equality is not proof of a match).
 */
export async function generateShopeeSample(dir: string, seed: number): Promise<void> {
  const random = new Random(seed);
  const products = 110;
  const motifs = random.shuffle([...Array(288).keys()]).slice(0, products);
  const rows: { row: string[]; test: boolean }[] = [];
  await mkdir(join(dir, 'train_images'), { recursive: true });
  await mkdir(join(dir, 'test_images'), { recursive: true });
  let posting = 0;
  const images: Record<string, { file: string; phash: string }[]> = { train_images: [], test_images: [] };
  for (let p = 0; p < products; p++) {
    const test = p % 4 === 3;
    const folder = test ? 'test_images' : 'train_images';
    const group = String(249114794 + p * 7919);
    const size = 2 + random.int(5);
    const name = `${BRANDS[random.int(BRANDS.length)]} ${THINGS[random.int(THINGS.length)]}`;
    const model = String(random.int(900) + 100);
    // Sellers of one product photograph it alike: one setting per product, a variation per posting.
    const pose = randomPose(random, IMAGE_SIZE);
    let previous: { file: string; phash: string } | undefined;
    for (let i = 0; i < size; i++) {
      let image: { file: string; phash: string };
      if (previous && random.next() < 0.2) image = previous;
      else if (images[folder]!.length > 0 && random.next() < 0.03)
        image = images[folder]![random.int(images[folder]!.length)]!;
      else {
        const file = `${((posting * 2654435761) >>> 0).toString(16).padStart(8, '0')}${p.toString(16)}.jpg`;
        await writeFileAtomic(
          join(dir, folder, file),
          await renderMotif(motif(motifs[p]!), random, IMAGE_SIZE, { pose: jitterPose(pose, random, IMAGE_SIZE) }),
        );
        image = { file, phash: phashOf(random) };
        images[folder]!.push(image);
      }
      previous = image;
      const extras = random.shuffle([...EXTRAS]).slice(0, random.int(3));
      // Half the titles omit the model number, so a title alone often fits several products.
      const base = random.next() < 0.5 ? `${name} ${model}` : name;
      const title = [random.next() < 0.5 ? base : base.toUpperCase(), ...extras].join(random.next() < 0.5 ? ', ' : ' ');
      rows.push({
        row: [`train_${(1000000 + posting * 104729).toString()}`, image.file, image.phash, title, group],
        test,
      });
      posting += 1;
    }
  }
  const train = rows.filter((r) => !r.test).map((r) => r.row);
  const test = rows.filter((r) => r.test).map((r) => [r.row[0]!.replace('train_', 'test_'), ...r.row.slice(1, 4)]);
  await writeCsvAtomic(join(dir, 'train.csv'), ['posting_id', 'image', 'image_phash', 'title', 'label_group'], train);
  await writeCsvAtomic(join(dir, 'test.csv'), ['posting_id', 'image', 'image_phash', 'title'], test);
  await writeCsvAtomic(
    join(dir, 'sample_submission.csv'),
    ['posting_id', 'matches'],
    test.map((r) => [r[0]!, r[0]!]),
  );
  const groups = new Map<string, string[]>();
  rows
    .filter((r) => r.test)
    .forEach((r) => {
      const id = r.row[0]!.replace('train_', 'test_');
      groups.set(r.row[4]!, [...(groups.get(r.row[4]!) ?? []), id]);
    });
  const solution = rows
    .filter((r) => r.test)
    .map((r) => {
      const id = r.row[0]!.replace('train_', 'test_');
      return [id, groups.get(r.row[4]!)!.join(' '), hashedUsage({ id, labels: [], extra: {} })];
    });
  await writeCsvAtomic(join(dir, SAMPLE_SOLUTION_FILE), ['posting_id', 'matches', 'Usage'], solution);
}
