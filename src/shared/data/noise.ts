import { Rng, hashKey } from '../rng.js';

/** Which draw of an example's noise: the discriminator's fake batch or the generator's. */
export const NoiseStream = { discriminator: 1, generator: 2, samples: 3 } as const;
export type NoiseStream = (typeof NoiseStream)[keyof typeof NoiseStream];

/**
 * Latent vectors for examples at global positions [start, end) of an epoch. Each
 * vector depends only on (seed, epoch, position, stream), so a batch cut among
 * any number of workers sees exactly the noise a single worker would.
 */
export function latentNoise(seed: number, epoch: number, start: number, end: number, latentDim: number, stream: NoiseStream): Float32Array {
  const out = new Float32Array((end - start) * latentDim);
  for (let i = start; i < end; i++) {
    const rng = new Rng(hashKey(seed, epoch, i, stream));
    const base = (i - start) * latentDim;
    for (let j = 0; j < latentDim; j++) out[base + j] = rng.normal();
  }
  return out;
}
