import sharp from 'sharp';
import type { Random } from '../random.js';

/** What makes one sample class look like itself: a shape with a colour and a pattern. */
export interface Motif {
  readonly shape: 'disc' | 'square' | 'triangle' | 'ring' | 'cross' | 'diamond';
  readonly colour: readonly [number, number, number];
  readonly stripes: number;
}

const SHAPES: Motif['shape'][] = ['disc', 'square', 'triangle', 'ring', 'cross', 'diamond'];
const PALETTE: Motif['colour'][] = [
  [220, 40, 40],
  [40, 160, 60],
  [40, 80, 220],
  [230, 200, 40],
  [160, 60, 200],
  [30, 190, 200],
  [240, 130, 30],
  [120, 80, 40],
];

/** The `index`-th motif: distinct indices give distinct shape/colour/stripe combinations (288 in all). */
export function motif(index: number): Motif {
  return {
    shape: SHAPES[index % SHAPES.length]!,
    colour: PALETTE[Math.floor(index / SHAPES.length) % PALETTE.length]!,
    stripes: Math.floor(index / (SHAPES.length * PALETTE.length)) % 6,
  };
}

function inside(shape: Motif['shape'], u: number, v: number): boolean {
  const r = Math.hypot(u, v);
  switch (shape) {
    case 'disc':
      return r < 0.8;
    case 'ring':
      return r < 0.85 && r > 0.5;
    case 'square':
      return Math.abs(u) < 0.7 && Math.abs(v) < 0.7;
    case 'diamond':
      return Math.abs(u) + Math.abs(v) < 0.85;
    case 'cross':
      return (Math.abs(u) < 0.25 && Math.abs(v) < 0.85) || (Math.abs(v) < 0.25 && Math.abs(u) < 0.85);
    case 'triangle':
      return v < 0.7 && v > -0.8 && Math.abs(u) < (0.7 - v) * 0.55;
  }
}

/** Where and how an object sits in a photograph: background colour, tilt, scale and centre (pixels). */
export interface Pose {
  readonly background: readonly number[];
  readonly angle: number;
  readonly scale: number;
  readonly cx: number;
  readonly cy: number;
}

export function randomPose(random: Random, size: number): Pose {
  const grey = random.uniform(60, 200);
  return {
    background: [0, 1, 2].map(() => Math.round(grey + random.uniform(-25, 25))),
    angle: random.uniform(-0.35, 0.35),
    scale: random.uniform(0.32, 0.45) * size,
    cx: size / 2 + random.uniform(-0.15, 0.15) * size,
    cy: size / 2 + random.uniform(-0.15, 0.15) * size,
  };
}

/** Another shot of the same setting: slightly tilted, rescaled, moved, on a re-tinted background. */
export function jitterPose(pose: Pose, random: Random, size: number): Pose {
  return {
    background: pose.background.map((c) => Math.round(c + random.uniform(-30, 30))),
    angle: pose.angle + random.uniform(-0.12, 0.12),
    scale: pose.scale * random.uniform(0.88, 1.12),
    cx: pose.cx + random.uniform(-0.06, 0.06) * size,
    cy: pose.cy + random.uniform(-0.06, 0.06) * size,
  };
}

/**
 * One photograph of a motif: the object at a random position, scale and rotation on a random
 * background (or at the given `pose`), with pixel noise and, with probability `clutter`, a
 * distracting second shape — so that the same class never gives the same pixels twice, and
 * colour alone is not enough.
 */
export function renderMotif(
  m: Motif,
  random: Random,
  size: number,
  options: { clutter?: number; jpeg?: boolean; pose?: Pose } = {},
): Promise<Buffer> {
  const pixels = Buffer.alloc(size * size * 3);
  const { background, angle, scale, cx, cy } = options.pose ?? randomPose(random, size);
  const shade = random.uniform(0.75, 1.15);
  const clutter = random.next() < (options.clutter ?? 0.1) ? motif(random.int(288)) : undefined;
  const clutterX = random.uniform(0.1, 0.9) * size;
  const clutterY = random.uniform(0.1, 0.9) * size;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const dx = (x - cx) / scale;
      const dy = (y - cy) / scale;
      const u = cos * dx - sin * dy;
      const v = sin * dx + cos * dy;
      let colour: readonly number[] = background;
      if (clutter && inside(clutter.shape, (x - clutterX) / (size * 0.12), (y - clutterY) / (size * 0.12)))
        colour = clutter.colour;
      if (inside(m.shape, u, v)) {
        const striped = m.stripes > 0 && Math.floor((u + 1) * (m.stripes + 1)) % 2 === 1;
        colour = m.colour.map((c) => (striped ? 255 - c : c) * shade);
      }
      const offset = (y * size + x) * 3;
      for (let c = 0; c < 3; c++)
        pixels[offset + c] = Math.max(0, Math.min(255, Math.round(colour[c]! + random.uniform(-18, 18))));
    }
  }
  const image = sharp(pixels, { raw: { width: size, height: size, channels: 3 } });
  return options.jpeg === false ? image.png().toBuffer() : image.jpeg({ quality: 90 }).toBuffer();
}
