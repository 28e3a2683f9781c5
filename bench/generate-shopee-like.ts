/**
 * A Shopee-like data set of any size, in Kaggle's layout (train.csv, test.csv, train_images/, test_images/,
 * sample_submission.csv, and the solution.csv that lets `simkit run` score the test postings), for the scale
 * benchmark. Unlike the embedded sample (competitions/shopee/sample.ts: flat motifs, a handful of brands), products
 * here are drawn as SVG scenes (a body shape per category, colour, pattern, brand mark) and photographed per posting
 * with its own pose, background, recrop, recolour, blur and JPEG quality; titles are built from a category's
 * synonyms, invented brands, model codes, size variants and colours, and paraphrased per posting. `image_phash` is a
 * real 64-bit DCT perceptual hash of each JPEG. The same seed and options give the same files, byte for byte.
 *
 * `hard` (0 to 1) sets how hard the set is: the share of products that are variants of another product (the same
 * brand, model and drawing in another colour or size: a different label group with a near-duplicate title and
 * image), how far a group's photographs and titles wander (recrops, recolours, synonyms, word order, typos), and
 * how often an image file is shared across groups.
 *
 *   node dist/bench/generate-shopee-like.js --out DIR [--postings 34250] [--test-postings N] [--seed 1]
 *        [--hard 0.3] [--image-size 128]
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { SAMPLE_SOLUTION_FILE, SAMPLE_SUBMISSION_FILE } from '../core/contracts/competition.js';
import { hashedUsage } from '../core/competition/adapter.js';
import { writeCsvAtomic } from '../core/data/csv.js';
import { UserError } from '../core/errors.js';
import { replaceDirectoryAtomic } from '../core/io/atomic-write.js';
import { itemProgress } from '../core/progress.js';
import { Random } from '../core/random.js';
import { argument, runBenchmark } from './harness.js';

export interface ShopeeLikeOptions {
  /** Postings in train.csv (Kaggle's Shopee: 34,250 in 11,014 label groups). */
  readonly postings: number;
  /** Postings in test.csv, of products that train.csv does not have. */
  readonly testPostings: number;
  readonly seed: number;
  /** 0 (easy) to 1 (hard): near duplicates across groups, paraphrase and photo variation within a group. */
  readonly hard: number;
  /** Side of the square JPEGs, pixels. */
  readonly imageSize: number;
}

export const SHOPEE_LIKE_DEFAULTS: ShopeeLikeOptions = {
  postings: 34_250,
  testPostings: 10_275,
  seed: 1,
  hard: 0.3,
  imageSize: 128,
};

type Shape = 'bottle' | 'shirt' | 'phone' | 'bag' | 'pan' | 'bulb' | 'shoe' | 'watch' | 'box' | 'mask' | 'jar';

interface Category {
  /** Ways sellers name the product; the first is the usual one. */
  readonly names: readonly string[];
  readonly shape: Shape;
  /** Size variants, each with the spellings that mean the same size. */
  readonly variants: readonly (readonly string[])[];
}

const CATEGORIES: readonly Category[] = [
  {
    names: ['botol minum', 'tumbler', 'water bottle', 'botol air'],
    shape: 'bottle',
    variants: [
      ['350ml', '350 ML', '350 mL'],
      ['500ml', '500 ML', '0.5L'],
      ['1L', '1 liter', '1000ml'],
    ],
  },
  {
    names: ['kaos polos', 't-shirt', 'baju kaos', 'tshirt cotton'],
    shape: 'shirt',
    variants: [['S'], ['M'], ['L'], ['XL'], ['XXL', '2XL']],
  },
  {
    names: ['softcase', 'case hp', 'casing silikon', 'silicone case'],
    shape: 'phone',
    variants: [
      ['iPhone 11', 'ip 11'],
      ['iPhone 12', 'ip 12'],
      ['Redmi Note 9', 'redmi note9'],
      ['Samsung A52', 'samsung a 52'],
    ],
  },
  {
    names: ['tas selempang', 'sling bag', 'tas bahu', 'shoulder bag'],
    shape: 'bag',
    variants: [['mini'], ['medium', 'sedang'], ['jumbo', 'besar']],
  },
  {
    names: ['wajan teflon', 'frying pan', 'penggorengan', 'wajan anti lengket'],
    shape: 'pan',
    variants: [
      ['20cm', '20 cm'],
      ['24cm', '24 cm'],
      ['28cm', '28 cm'],
    ],
  },
  {
    names: ['lampu LED', 'bohlam LED', 'LED bulb', 'bola lampu'],
    shape: 'bulb',
    variants: [
      ['5W', '5 watt'],
      ['9W', '9 watt'],
      ['12W', '12 watt'],
      ['18W', '18 watt'],
    ],
  },
  {
    names: ['sepatu sneakers', 'sneaker', 'sepatu kets', 'running shoes'],
    shape: 'shoe',
    variants: [['39'], ['40'], ['41'], ['42'], ['43']],
  },
  {
    names: ['jam tangan', 'arloji', 'watch', 'jam tangan digital'],
    shape: 'watch',
    variants: [
      ['34mm', '34 mm'],
      ['40mm', '40 mm'],
      ['44mm', '44 mm'],
    ],
  },
  {
    names: ['kotak makan', 'lunch box', 'tempat makan', 'bento box'],
    shape: 'box',
    variants: [
      ['2 sekat', '2 compartment'],
      ['3 sekat', '3 compartment'],
      ['4 sekat', '4 compartment'],
    ],
  },
  {
    names: ['masker kain', 'face mask', 'masker 3 ply', 'masker'],
    shape: 'mask',
    variants: [
      ['isi 10', '10 pcs'],
      ['isi 50', '50 pcs'],
      ['isi 100', '100pcs'],
    ],
  },
  {
    names: ['toples kaca', 'glass jar', 'stoples', 'wadah kaca'],
    shape: 'jar',
    variants: [
      ['250ml', '250 ML'],
      ['500ml', '500 ML'],
      ['1L', '1 liter'],
    ],
  },
];

/** Colour words (Indonesian, English) and the hue they name; lightness for the greys. */
const COLOURS: readonly {
  readonly words: readonly string[];
  readonly hue: number;
  readonly lightness: number;
  readonly saturation: number;
}[] = [
  { words: ['merah', 'red'], hue: 0, lightness: 48, saturation: 75 },
  { words: ['biru', 'blue'], hue: 215, lightness: 50, saturation: 70 },
  { words: ['hijau', 'green'], hue: 125, lightness: 40, saturation: 60 },
  { words: ['kuning', 'yellow'], hue: 52, lightness: 55, saturation: 85 },
  { words: ['pink', 'merah muda'], hue: 330, lightness: 72, saturation: 70 },
  { words: ['ungu', 'purple'], hue: 275, lightness: 45, saturation: 55 },
  { words: ['navy', 'biru dongker'], hue: 228, lightness: 22, saturation: 60 },
  { words: ['hitam', 'black'], hue: 0, lightness: 12, saturation: 0 },
  { words: ['putih', 'white'], hue: 0, lightness: 93, saturation: 0 },
  { words: ['abu-abu', 'grey', 'abu'], hue: 0, lightness: 55, saturation: 0 },
  { words: ['coklat', 'brown'], hue: 25, lightness: 33, saturation: 50 },
  { words: ['tosca', 'turquoise'], hue: 175, lightness: 45, saturation: 65 },
];

const PROMOS = [
  'READY STOCK',
  'COD',
  'termurah',
  'original 100%',
  'bisa grosir',
  'free bubble wrap',
  'import',
  'PROMO',
  'best seller',
  'garansi resmi',
  'NEW',
  'kualitas premium',
  'BPOM',
  'murah meriah',
];
const SYLLABLES = [
  'ka',
  'no',
  'ra',
  've',
  'sti',
  'lu',
  'mi',
  'to',
  'ze',
  'ri',
  'san',
  'do',
  'pe',
  'la',
  'mo',
  'ku',
  'via',
  'tek',
  'xo',
  'bi',
];
const PATTERNS = ['plain', 'stripes', 'dots', 'band'] as const;

/** What a product looks like: the same for every posting of the product, and for its colour or size variants. */
interface Design {
  readonly shape: Shape;
  readonly pattern: (typeof PATTERNS)[number];
  readonly colour: number;
  /** The brand's mark: colour (hue) and where on the body it sits. */
  readonly accentHue: number;
  readonly markX: number;
  readonly markY: number;
  readonly stretch: number;
}

interface Product {
  readonly group: string;
  readonly category: Category;
  readonly brand: string;
  readonly model: string;
  readonly variant: number;
  readonly design: Design;
  /** The product's usual photograph setting. */
  readonly pose: Pose;
}

interface Pose {
  readonly angle: number;
  readonly scale: number;
  readonly cx: number;
  readonly cy: number;
  readonly background: string;
}

interface ImageFile {
  readonly file: string;
  phash: string;
}

interface Posting {
  readonly id: string;
  readonly image: ImageFile;
  readonly title: string;
  readonly group: string;
}

function hsl(hue: number, saturation: number, lightness: number): string {
  return `hsl(${((hue % 360) + 360) % 360},${saturation}%,${lightness}%)`;
}

const rect = (x: string, y: number, width: string, height: number, rx: number, fill: string, extra = '') =>
  `<rect x="${x}" y="${y}" width="${width}" height="${height}" rx="${rx}" fill="${fill}"${extra}/>`;
const circle = (cx: string, cy: number, r: string, fill: string) =>
  `<circle cx="${cx}" cy="${cy}" r="${r}" fill="${fill}"/>`;
const path = (d: string, fill: string, extra = '') => `<path d="${d}" fill="${fill}"${extra}/>`;

/** The body of each shape in a 100×100 box centred on (0, 0), as SVG elements filled with `fill`. */
function body(shape: Shape, fill: string, stretch: number): string {
  const w = (x: number) => (x * stretch).toFixed(1);
  switch (shape) {
    case 'bottle':
      return rect(w(-18), -30, w(36), 78, 10, fill) + rect(w(-9), -46, w(18), 18, 3, fill);
    case 'shirt':
      return path(
        `M${w(-26)} -40 L${w(-48)} -22 L${w(-38)} -6 L${w(-28)} -14 L${w(-28)} 46 L${w(28)} 46 L${w(28)} -14 ` +
          `L${w(38)} -6 L${w(48)} -22 L${w(26)} -40 L${w(10)} -40 Q0 -30 ${w(-10)} -40 Z`,
        fill,
      );
    case 'phone':
      return rect(w(-24), -46, w(48), 92, 9, fill) + circle(w(-12), -34, '6', '#222');
    case 'bag':
      return (
        path(`M${w(-20)} -20 Q0 -62 ${w(20)} -20`, 'none', ` stroke="${fill}" stroke-width="5"`) +
        rect(w(-38), -20, w(76), 56, 12, fill)
      );
    case 'pan':
      return (
        `<ellipse cx="${w(-10)}" cy="0" rx="${w(34)}" ry="30" fill="#333"/>` +
        `<ellipse cx="${w(-10)}" cy="0" rx="${w(27)}" ry="23" fill="${fill}"/>` +
        rect(w(22), -4, w(26), 8, 3, '#222')
      );
    case 'bulb':
      return circle('0', -12, w(30), fill) + rect(w(-12), 14, w(24), 26, 0, '#aaa');
    case 'shoe':
      return (
        path(`M${w(-46)} 10 L${w(-40)} -18 L${w(-14)} -16 L${w(10)} 0 L${w(44)} 8 L${w(46)} 24 L${w(-46)} 24 Z`, fill) +
        rect(w(-46), 20, w(92), 8, 0, '#eee')
      );
    case 'watch':
      return rect(w(-12), -48, w(24), 96, 0, '#444') + circle('0', 0, w(26), fill) + circle('0', 0, w(19), '#f4f4f4');
    case 'box':
      return rect(w(-44), -26, w(88), 52, 6, fill) + rect(w(-44), -32, w(88), 10, 4, '#ddd');
    case 'mask':
      return (
        path(`M${w(-34)} -20 Q0 -30 ${w(34)} -20 L${w(30)} 18 Q0 34 ${w(-30)} 18 Z`, fill) +
        path(
          `M${w(-34)} -14 L${w(-46)} 0 L${w(-32)} 12 M${w(34)} -14 L${w(46)} 0 L${w(32)} 12`,
          'none',
          ' stroke="#eee" stroke-width="3"',
        )
      );
    case 'jar':
      return rect(w(-30), -26, w(60), 68, 14, fill, ' fill-opacity="0.8"') + rect(w(-26), -40, w(52), 14, 3, '#777');
  }
}

/** A repeating fill of the body's colour with stripes or dots of `contrast` (empty for a plain body). */
function patternFill(pattern: Design['pattern'], fill: string, contrast: string): string {
  const tile = (side: number, mark: string) =>
    `<pattern id="p" width="${side}" height="${side}" patternUnits="userSpaceOnUse">` +
    `${rect('0', 0, String(side), side, 0, fill)}${mark}</pattern>`;
  if (pattern === 'stripes') return tile(12, rect('0', 0, '5', 12, 0, contrast));
  if (pattern === 'dots') return tile(14, circle('7', 7, '3', contrast));
  return '';
}

/** The SVG scene of one photograph of `product`: its drawing at the posting's `pose`, on its background. */
function productSvg(product: Product, colour: (typeof COLOURS)[number], pose: Pose, size: number): string {
  const { design } = product;
  const fill = hsl(colour.hue, colour.saturation, colour.lightness);
  const contrast = hsl(colour.hue + 180, Math.max(colour.saturation, 30), colour.lightness > 50 ? 25 : 80);
  const pattern = patternFill(design.pattern, fill, contrast);
  const shape = body(design.shape, pattern ? 'url(#p)' : fill, design.stretch);
  // The band is the body's label: clipped to its outline.
  const band =
    design.pattern === 'band'
      ? `<clipPath id="b">${shape}</clipPath>${rect('-50', -6, '100', 12, 0, contrast, ' clip-path="url(#b)"')}`
      : '';
  const { markX: x, markY: y } = design;
  const mark =
    circle(String(x), y, '7', hsl(design.accentHue, 80, 50)) +
    path(`M${x - 4} ${y + 3} L${x} ${y - 5} L${x + 4} ${y + 3} Z`, '#fff');
  const scale = (pose.scale * size) / 100;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}"><defs>${pattern}</defs>` +
    rect('0', 0, String(size), size, 0, pose.background) +
    // A table top: the lower fifth a little darker.
    rect('0', Math.round(size * 0.78), String(size), size, 0, '#000', ' fill-opacity="0.06"') +
    `<g transform="translate(${(pose.cx * size).toFixed(2)} ${(pose.cy * size).toFixed(2)}) ` +
    `rotate(${((pose.angle * 180) / Math.PI).toFixed(2)}) scale(${scale.toFixed(4)})">` +
    `${shape}${band}${mark}</g></svg>`
  );
}

/**
 * The 64-bit perceptual hash of an image as 16 hex digits (the pHash scheme Kaggle's `image_phash` uses): the grey
 * image at 32×32, its 2-D DCT-II, the 8×8 lowest frequencies, one bit per coefficient above their median.
 */
export async function perceptualHash(image: Buffer): Promise<string> {
  const grey = await sharp(image).greyscale().resize(32, 32, { fit: 'fill' }).raw().toBuffer();
  const coefficients = dctLowFrequencies(Float64Array.from(grey), 32, 8);
  const sorted = [...coefficients].sort((a, b) => a - b);
  const median = (sorted[31]! + sorted[32]!) / 2;
  let hex = '';
  for (let nibble = 0; nibble < 16; nibble++) {
    let value = 0;
    for (let bit = 0; bit < 4; bit++) value = (value << 1) | (coefficients[nibble * 4 + bit]! > median ? 1 : 0);
    hex += value.toString(16);
  }
  return hex;
}

/** The `keep`×`keep` lowest-frequency coefficients (row-major) of the unnormalised 2-D DCT-II of an n×n image. */
export function dctLowFrequencies(pixels: Float64Array, n: number, keep: number): Float64Array {
  const basis = new Float64Array(keep * n);
  for (let u = 0; u < keep; u++)
    for (let x = 0; x < n; x++) basis[u * n + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * n));
  const rows = new Float64Array(n * keep); // rows[y][v] = Σx pixels[y][x]·basis[v][x]
  for (let y = 0; y < n; y++)
    for (let v = 0; v < keep; v++) {
      let sum = 0;
      for (let x = 0; x < n; x++) sum += pixels[y * n + x]! * basis[v * n + x]!;
      rows[y * keep + v] = sum;
    }
  const out = new Float64Array(keep * keep);
  for (let u = 0; u < keep; u++)
    for (let v = 0; v < keep; v++) {
      let sum = 0;
      for (let y = 0; y < n; y++) sum += rows[y * keep + v]! * basis[u * n + y]!;
      out[u * keep + v] = sum;
    }
  return out;
}

function pick<T>(random: Random, items: readonly T[]): T {
  return items[random.int(items.length)]!;
}

/** Label-group sizes as Kaggle's: at least 2, mostly 2 or 3, a long tail up to 51. */
function groupSize(random: Random): number {
  const tail = random.next() < 0.03 ? 8 + random.int(44) : 0;
  return Math.min(51, Math.max(2 + Math.floor(-Math.log(1 - random.next()) * 1.1), tail));
}

function brandName(random: Random): string {
  const name = Array.from({ length: 2 + random.int(2) }, () => pick(random, SYLLABLES)).join('');
  return name[0]!.toUpperCase() + name.slice(1);
}

function modelCode(random: Random): string {
  const letters = Array.from({ length: 1 + random.int(2) }, () => String.fromCharCode(65 + random.int(26))).join('');
  return `${letters}-${100 + random.int(900)}`;
}

function newDesign(random: Random, category: Category): Design {
  return {
    shape: category.shape,
    pattern: pick(random, PATTERNS),
    colour: random.int(COLOURS.length),
    accentHue: random.int(360),
    markX: Math.round(random.uniform(-14, 14)),
    markY: Math.round(random.uniform(-10, 20)),
    stretch: random.uniform(0.85, 1.15),
  };
}

function newPose(random: Random): Pose {
  const plain = random.next() < 0.6;
  const grey = Math.round(random.uniform(plain ? 235 : 120, plain ? 255 : 230));
  const tint = () => Math.max(0, Math.min(255, grey + Math.round(random.uniform(-20, 20) * (plain ? 0.3 : 1))));
  return {
    angle: random.uniform(-0.3, 0.3),
    scale: random.uniform(0.55, 0.8),
    cx: random.uniform(0.42, 0.58),
    cy: random.uniform(0.42, 0.58),
    background: `rgb(${tint()},${tint()},${tint()})`,
  };
}

/** A model code spelled as sellers do: `KR-205`, `KR205`, `kr 205`. */
function spellModel(random: Random, model: string): string {
  const [letters, digits] = model.split('-') as [string, string];
  return pick(random, [model, `${letters}${digits}`, `${letters.toLowerCase()} ${digits}`]);
}

function typo(random: Random, word: string): string {
  if (word.length < 4) return word;
  const at = 1 + random.int(word.length - 2);
  return word.slice(0, at) + word[at + 1] + word[at] + word.slice(at + 2);
}

/** One seller's title for `product`: synonyms, spellings, word order, case, promotions and typos vary with `hard`. */
function title(random: Random, product: Product, hard: number): string {
  const { category } = product;
  const colour = COLOURS[product.design.colour]!;
  const name = random.next() < 0.3 + 0.5 * hard ? pick(random, category.names) : category.names[0]!;
  const variant = pick(random, category.variants[product.variant]!);
  const colourWord = random.next() < 0.3 + 0.4 * hard ? pick(random, colour.words) : colour.words[0]!;
  const details = random.shuffle(
    [variant, colourWord, random.next() < 0.3 * hard ? '' : spellModel(random, product.model)].filter(Boolean),
  );
  const brand = random.next() < 0.15 * hard ? [] : [product.brand];
  let words = random.next() < 0.2 * hard ? [name, ...details, ...brand] : [...brand, name, ...details];
  if (random.next() < 0.25 * hard) words = words.map((word) => (random.next() < 0.3 ? typo(random, word) : word));
  const promos = random.shuffle([...PROMOS]).slice(0, random.int(3 + Math.round(hard)));
  const before = promos.slice(0, random.int(promos.length + 1)).map((p) => `[${p}]`);
  const after = promos.slice(before.length);
  const text = [...before, ...words, ...after].join(' ');
  const casing = random.next();
  return casing < 0.2 ? text.toUpperCase() : casing < 0.35 ? text.toLowerCase() : text;
}

/** The settings of one photograph: the product's pose moved, recropped, recoloured, blurred, more so when hard. */
interface Shot {
  readonly pose: Pose;
  readonly colour: (typeof COLOURS)[number];
  readonly crop?: { left: number; top: number; width: number; height: number };
  readonly hue: number;
  readonly brightness: number;
  readonly saturation: number;
  readonly blur?: number;
  readonly flop: boolean;
  readonly quality: number;
}

function shot(random: Random, product: Product, hard: number, size: number): Shot {
  const spread = (base: number) => random.uniform(-1, 1) * base * (1 + 2 * hard);
  const pose = product.pose;
  const background = random.next() < 0.3 ? newPose(random).background : pose.background;
  let crop: Shot['crop'];
  if (random.next() < 0.3 + 0.5 * hard) {
    const side = Math.round(size * (1 - random.uniform(0.05, 0.12 + 0.25 * hard)));
    crop = { left: random.int(size - side + 1), top: random.int(size - side + 1), width: side, height: side };
  }
  return {
    pose: {
      angle: pose.angle + spread(0.08),
      scale: pose.scale * (1 + spread(0.05)),
      cx: pose.cx + spread(0.03),
      cy: pose.cy + spread(0.03),
      background,
    },
    colour: COLOURS[product.design.colour]!,
    crop,
    hue: Math.round(spread(5)),
    brightness: 1 + spread(0.05),
    saturation: 1 + spread(0.1),
    blur: random.next() < 0.25 ? random.uniform(0.4, 1.2) : undefined,
    flop: random.next() < 0.2 * hard,
    quality: 70 + random.int(26),
  };
}

async function photograph(product: Product, settings: Shot, size: number): Promise<Buffer> {
  let image = sharp(Buffer.from(productSvg(product, settings.colour, settings.pose, size)));
  if (settings.crop) image = image.extract(settings.crop).resize(size, size);
  image = image.modulate({ hue: settings.hue, brightness: settings.brightness, saturation: settings.saturation });
  if (settings.blur) image = image.blur(settings.blur);
  if (settings.flop) image = image.flop();
  return image.jpeg({ quality: settings.quality }).toBuffer();
}

/** Kaggle-like ids: distinct for distinct `index` (an odd multiplier is a bijection on 32 bits). */
function numericId(index: number, salt: number): number {
  return Math.imul(index + salt, 0x2c1b3c6d) >>> 0;
}

/** Builds the set in memory and on disk (images into `dir`); returns the postings of train and test. */
async function generate(
  dir: string,
  options: ShopeeLikeOptions,
  onImage: () => void,
): Promise<{ train: Posting[]; test: Posting[] }> {
  const random = new Random(options.seed);
  const { hard, imageSize } = options;
  const brands = Array.from({ length: Math.max(20, Math.round((options.postings + options.testPostings) / 60)) }, () =>
    brandName(random),
  );
  const pending = new Set<Promise<void>>();
  let images = 0;
  const write = async (folder: string, product: Product): Promise<ImageFile> => {
    const settings = shot(random, product, hard, imageSize);
    const file = `${createHash('md5').update(`${options.seed}:${images++}`).digest('hex')}.jpg`;
    const image: ImageFile = { file, phash: '' };
    const job = photograph(product, settings, imageSize).then(async (jpeg) => {
      await writeFile(join(dir, folder, file), jpeg);
      image.phash = await perceptualHash(jpeg);
      onImage();
    });
    const tracked = job.finally(() => pending.delete(tracked));
    pending.add(tracked);
    // A few encodes in flight keep libvips's threads busy without holding many images in memory.
    if (pending.size >= 8) await Promise.race(pending);
    return image;
  };

  let groups = 0;
  const split = async (count: number, folder: string, prefix: string): Promise<Posting[]> => {
    const postings: Posting[] = [];
    const products: Product[] = [];
    const files: ImageFile[] = [];
    while (postings.length < count) {
      const group = String(numericId(groups++, options.seed * 7 + 3));
      const base = products.length > 0 && random.next() < 0.5 * hard ? pick(random, products.slice(-200)) : undefined;
      let product: Product;
      if (base) {
        // A variant of an earlier product: another colour or another size, otherwise the same listing.
        const recolour = random.next() < 0.5;
        product = {
          ...base,
          group,
          variant: recolour
            ? base.variant
            : (base.variant + 1 + random.int(base.category.variants.length - 1)) % base.category.variants.length,
          design: recolour
            ? { ...base.design, colour: (base.design.colour + 1 + random.int(COLOURS.length - 1)) % COLOURS.length }
            : base.design,
          pose: random.next() < 0.5 ? base.pose : newPose(random),
        };
      } else {
        const category = pick(random, CATEGORIES);
        // Popular brands sell more products: the square of a uniform favours the first brands.
        const brand = brands[Math.floor(random.next() ** 2 * brands.length)]!;
        product = {
          group,
          category,
          brand,
          model: modelCode(random),
          variant: random.int(category.variants.length),
          design: newDesign(random, category),
          pose: newPose(random),
        };
      }
      products.push(product);
      let size = Math.min(groupSize(random), count - postings.length);
      if (count - postings.length - size === 1) size += 1; // never leave a group of one
      let previous: ImageFile | undefined;
      for (let i = 0; i < size; i++) {
        let image: ImageFile;
        if (previous && random.next() < 0.2) image = previous;
        else if (files.length > 0 && random.next() < 0.01 + 0.04 * hard) image = pick(random, files);
        else {
          image = await write(folder, product);
          files.push(image);
        }
        previous = image;
        const id = `${prefix}_${numericId(postings.length, prefix === 'train' ? options.seed : options.seed + 0x9e3779b9)}`;
        postings.push({ id, image, title: title(random, product, hard), group });
      }
    }
    return postings;
  };

  await mkdir(join(dir, 'train_images'));
  await mkdir(join(dir, 'test_images'));
  const train = await split(options.postings, 'train_images', 'train');
  const test = await split(options.testPostings, 'test_images', 'test');
  await Promise.all(pending);
  return { train, test };
}

/** Writes the set to `dir` (replacing what is there, all at once: an interrupted run leaves no partial set). */
export async function generateShopeeLike(
  dir: string,
  options: ShopeeLikeOptions,
  showProgress = process.stderr.isTTY === true,
): Promise<void> {
  validate(options);
  await replaceDirectoryAtomic(dir, async (temporary) => {
    const progress = itemProgress('images', options.postings + options.testPostings, showProgress);
    const { train, test } = await generate(temporary, options, () => progress.advance(1));
    progress.stop();
    const row = (p: Posting) => [p.id, p.image.file, p.image.phash, p.title];
    await writeCsvAtomic(
      join(temporary, 'train.csv'),
      ['posting_id', 'image', 'image_phash', 'title', 'label_group'],
      train.map((p) => [...row(p), p.group]),
    );
    await writeCsvAtomic(join(temporary, 'test.csv'), ['posting_id', 'image', 'image_phash', 'title'], test.map(row));
    await writeCsvAtomic(
      join(temporary, SAMPLE_SUBMISSION_FILE),
      ['posting_id', 'matches'],
      test.map((p) => [p.id, p.id]),
    );
    const members = new Map<string, string[]>();
    for (const p of test) members.set(p.group, [...(members.get(p.group) ?? []), p.id]);
    await writeCsvAtomic(
      join(temporary, SAMPLE_SOLUTION_FILE),
      ['posting_id', 'matches', 'Usage'],
      test.map((p) => [p.id, members.get(p.group)!.join(' '), hashedUsage({ id: p.id, labels: [], extra: {} })]),
    );
  });
}

function validate(options: ShopeeLikeOptions): void {
  const integer = (name: string, value: number, minimum: number, maximum: number) => {
    if (!Number.isInteger(value) || value < minimum || value > maximum)
      throw new UserError(`--${name} must be a whole number from ${minimum} to ${maximum}, not ${value}`);
  };
  integer('postings', options.postings, 2, 10_000_000);
  integer('test-postings', options.testPostings, 2, 10_000_000);
  integer('seed', options.seed, 0, 0xffffffff);
  integer('image-size', options.imageSize, 32, 1024);
  if (!(options.hard >= 0 && options.hard <= 1))
    throw new UserError(`--hard must be a number from 0 to 1, not ${options.hard}`);
}

/** The options from the command line; test postings default to 30% of the train postings. */
export function optionsFromArguments(argv: readonly string[]): ShopeeLikeOptions {
  const number = (name: string, fallback: number) => {
    const text = argument(name, argv);
    if (text === undefined) return fallback;
    const value = Number(text.replaceAll('_', '').replaceAll(',', ''));
    if (text.trim() === '' || Number.isNaN(value)) throw new UserError(`--${name} must be a number, not "${text}"`);
    return value;
  };
  const postings = number('postings', SHOPEE_LIKE_DEFAULTS.postings);
  return {
    postings,
    testPostings: number('test-postings', Math.max(2, Math.round(postings * 0.3))),
    seed: number('seed', SHOPEE_LIKE_DEFAULTS.seed),
    hard: number('hard', SHOPEE_LIKE_DEFAULTS.hard),
    imageSize: number('image-size', SHOPEE_LIKE_DEFAULTS.imageSize),
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const out = argument('out', argv);
  if (!out) throw new UserError('--out <folder> is required', 'name the folder to write the data set into');
  const options = optionsFromArguments(argv);
  const started = Date.now();
  await generateShopeeLike(resolve(out), options);
  process.stdout.write(
    `wrote ${options.postings} train and ${options.testPostings} test postings (seed ${options.seed}, hard ${options.hard}, ` +
      `${options.imageSize} px) to ${out} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await runBenchmark(main);
