import { readFileSync } from 'node:fs';
import { DataFormatError } from '../shared/errors.js';
import { IMAGE_SIDE, IMAGE_SIZE } from '../shared/data/dataset.js';
import { parseIdx } from '../shared/data/idx.js';
import { isNpy, parseNpy } from '../shared/data/npy.js';

/** Images read for scoring: count × 784 values in [-1, 1] (the classifier's range), and how they were read. */
export interface ImageFile {
  count: number;
  images: Float32Array;
  /** What the file held, for the report: 'idx ubyte', 'npy u1', 'npy f4 [-1, 1]'… */
  format: string;
}

/** Shapes that mean N images of 28×28: (N, 28, 28), (N, 784), (N, 1, 28, 28), (N, 28, 28, 1). */
function imageCount(shape: number[]): number | undefined {
  const [n, ...rest] = shape;
  const r = rest.join('x');
  const ok = r === `${IMAGE_SIDE}x${IMAGE_SIDE}` || r === String(IMAGE_SIZE) || r === `1x${IMAGE_SIDE}x${IMAGE_SIDE}` || r === `${IMAGE_SIDE}x${IMAGE_SIDE}x1`;
  return ok && n !== undefined && n >= 2 ? n : undefined;
}

/**
 * Reads a set of 28×28 images to score: an IDX ubyte file (MNIST's own format, bytes 0–255), or a .npy of
 * uint8 (0–255) or floats. Floats are taken as [-1, 1] when any value is negative, else as [0, 1]; values
 * outside [-1, 1], NaN or a wrong shape are refused.
 */
export function readImageFile(path: string): ImageFile {
  const buf = new Uint8Array(readFileSync(path));
  if (isNpy(buf)) {
    const a = parseNpy(buf, path);
    const count = imageCount(a.shape);
    if (count === undefined) throw new DataFormatError(`${path}: shape (${a.shape.join(', ')}) is not N ≥ 2 images of 28×28 (N×28×28, N×784, N×1×28×28 or N×28×28×1)`);
    const images = new Float32Array(a.data.length);
    if (a.dtype === 'u1') {
      for (let i = 0; i < images.length; i++) images[i] = a.data[i]! / 127.5 - 1;
      return { count, images, format: 'npy uint8 [0, 255]' };
    }
    let min = Infinity;
    let max = -Infinity;
    for (const v of a.data) {
      if (Number.isNaN(v)) throw new DataFormatError(`${path}: holds NaN`);
      if (v < min) min = v;
      if (v > max) max = v;
    }
    if (min < -1 || max > 1) throw new DataFormatError(`${path}: values span [${min}, ${max}], not [-1, 1] or [0, 1]`);
    const fromUnit = min >= 0;
    for (let i = 0; i < images.length; i++) images[i] = fromUnit ? a.data[i]! * 2 - 1 : a.data[i]!;
    return { count, images, format: `npy ${a.dtype} ${fromUnit ? '[0, 1]' : '[-1, 1]'}` };
  }
  const idx = parseIdx(buf, path);
  const count = imageCount(idx.dims);
  if (count === undefined) throw new DataFormatError(`${path}: IDX dimensions (${idx.dims.join(', ')}) are not N ≥ 2 images of 28×28`);
  const images = new Float32Array(idx.data.length);
  for (let i = 0; i < images.length; i++) images[i] = idx.data[i]! / 127.5 - 1;
  return { count, images, format: 'idx ubyte [0, 255]' };
}
