import { DataFormatError } from '../shared/errors.js';
import { IMAGE_SIZE } from '../shared/data/dataset.js';
import { loadModelDir } from '../shared/gan/modelFiles.js';
import type { Tf } from '../shared/gan/tf.js';
import { sampleGridPng, sampleNoise } from '../shared/sampleGrid.js';

export interface GenerateOptions {
  modelDir: string;
  count: number;
  seed: number;
}

/**
 * Renders `count` digits from a saved generator as one PNG grid. The noise is
 * the one sample grids use, so `--seed` equal to the run's seed and 64 images
 * reproduce the run's samples/final.png.
 */
export async function generateGrid(tf: Tf, opts: GenerateOptions): Promise<{ png: Buffer; columns: number }> {
  const model = await loadModelDir(tf, opts.modelDir);
  try {
    const input = model.inputs[0]?.shape;
    const output = model.outputs[0]?.shape;
    const latentDim = input?.[1];
    if (model.inputs.length !== 1 || input?.length !== 2 || typeof latentDim !== 'number' || output?.[1] !== IMAGE_SIZE) {
      throw new DataFormatError(`--model ${opts.modelDir}: expected a generator from latent vectors to ${IMAGE_SIZE} pixels, got ${JSON.stringify(input)} → ${JSON.stringify(output)}`);
    }
    const z = sampleNoise(opts.seed, opts.count, latentDim);
    const out = tf.tidy(() => model.predict(tf.tensor2d(z, [opts.count, latentDim])) as ReturnType<Tf['tensor']>);
    const pixels = new Float32Array(await out.data());
    out.dispose();
    const columns = Math.ceil(Math.sqrt(opts.count));
    return { png: sampleGridPng(pixels, opts.count, columns), columns };
  } finally {
    model.dispose();
  }
}
