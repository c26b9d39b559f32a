import { IMAGE_SIDE } from './data/dataset.js';
import { NoiseStream, latentNoise } from './data/noise.js';
import { imageGridPng } from './png.js';

/**
 * The noise of a sample grid: `count` vectors drawn from the run's seed alone,
 * the same at every step of a run and for `trainer generate` with that seed,
 * so grids are comparable and a saved generator reproduces its run's grid.
 */
export function sampleNoise(seed: number, count: number, latentDim: number): Float32Array {
  return latentNoise(seed, 0, 0, count, latentDim, NoiseStream.samples);
}

/** Digits in [-1, 1] as a PNG grid: `columns` per row (default: as square as it gets), 2 px gaps, 2× scale. */
export function sampleGridPng(pixels: Float32Array, count: number, columns = Math.ceil(Math.sqrt(count))): Buffer {
  return imageGridPng(pixels, count, { columns, side: IMAGE_SIDE, padding: 2, scale: 2 });
}
