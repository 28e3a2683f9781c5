export interface CropOptions {
  /** Range of the crop's area as a fraction of the image's area. Default [0.08, 1]. */
  readonly scale?: readonly [number, number];
  /** Range of the crop's aspect ratio (width / height), drawn log-uniformly. Default [3/4, 4/3]. */
  readonly ratio?: readonly [number, number];
}

export interface ColorJitterOptions {
  /** Each factor is drawn uniformly from [max(0, 1 − x), 1 + x]; 0 or absent leaves the property alone. */
  readonly brightness?: number;
  readonly contrast?: number;
  readonly saturation?: number;
}

export interface CutoutOptions {
  /** Side of each square hole as a fraction of the image's shorter side. */
  readonly size: number;
  /** Number of holes. Default 1. */
  readonly count?: number;
}

/** Random augmentations, applied in this order: crop, flip, rotate, colour jitter, (normalise), cutout. */
export interface AugmentOptions {
  /** Random resized crop instead of the centre crop. */
  readonly crop?: CropOptions;
  /** Mirror left-right with probability 0.5. */
  readonly flip?: boolean;
  /** Rotate by an angle drawn uniformly from [−rotate, rotate] degrees; uncovered corners become 0. */
  readonly rotate?: number;
  readonly colorJitter?: ColorJitterOptions;
  /** Zero square holes (after normalisation, so 0 is the mean). */
  readonly cutout?: CutoutOptions;
}
