import { Rng, hashKey } from '../rng.js';

/** One global order of the training set per epoch, the same for any number of workers. */
export function epochPermutation(count: number, seed: number, epoch: number): Uint32Array {
  const perm = new Uint32Array(count);
  for (let i = 0; i < count; i++) perm[i] = i;
  const rng = new Rng(hashKey(seed, epoch, 0x5eed));
  for (let i = count - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = perm[i]!;
    perm[i] = perm[j]!;
    perm[j] = t;
  }
  return perm;
}

/** Steps per epoch: the remainder that does not fill a global batch is dropped. */
export function stepsPerEpoch(count: number, globalBatch: number): number {
  return Math.floor(count / globalBatch);
}

export interface BatchPosition {
  /** 0-based epoch. */
  epoch: number;
  /** 0-based global batch index inside the epoch. */
  batchInEpoch: number;
}

/** Where 1-based global step `step` falls. */
export function batchPosition(step: number, perEpoch: number): BatchPosition {
  const k = step - 1;
  return { epoch: Math.floor(k / perEpoch), batchInEpoch: k % perEpoch };
}

/**
 * The slice of a global batch of `globalBatch` examples that rank `rank` of
 * `parts` trains on: positions [floor(r·G/P), floor((r+1)·G/P)) of that batch,
 * so slices differ by at most one example when P does not divide G (after a
 * worker is lost). Returns positions in the epoch order (global indices), which
 * also key the example's noise.
 */
export function sliceGlobalBatch(batchInEpoch: number, rank: number, parts: number, globalBatch: number): { start: number; end: number } {
  if (rank < 0 || rank >= parts) throw new RangeError(`rank ${rank} outside world of ${parts}`);
  if (parts > globalBatch) throw new RangeError(`${parts} workers cannot share a global batch of ${globalBatch}`);
  const base = batchInEpoch * globalBatch;
  return { start: base + Math.floor((rank * globalBatch) / parts), end: base + Math.floor(((rank + 1) * globalBatch) / parts) };
}

/** Gathers the examples of `order[start..end)` into one contiguous buffer. */
export function gatherExamples(images: Uint8Array, exampleSize: number, order: Uint32Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array((end - start) * exampleSize);
  for (let i = start; i < end; i++) {
    const src = order[i]! * exampleSize;
    out.set(images.subarray(src, src + exampleSize), (i - start) * exampleSize);
  }
  return out;
}
