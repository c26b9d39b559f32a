import { mkdirSync, writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import type { TrainConfig } from '../shared/config.js';
import { NoiseStream, latentNoise } from '../shared/data/noise.js';
import { IMAGE_SIDE } from '../shared/data/dataset.js';
import { GanReplica } from '../shared/gan/replica.js';
import { saveModelTo } from '../shared/gan/modelFiles.js';
import type { Tf } from '../shared/gan/tf.js';
import { imageGridPng } from '../shared/png.js';
import type { Summary } from './summary.js';

export const SAMPLE_GRID = { columns: 8, side: IMAGE_SIDE, padding: 2, scale: 2 } as const;
export const SAMPLE_COUNT = 64;

/** Fixed noise for sample grids: the same 64 vectors for every run with this seed. */
export function sampleNoise(config: TrainConfig): Float32Array {
  return latentNoise(config.seed, 0, 0, SAMPLE_COUNT, config.latentDim, NoiseStream.samples);
}

/** Writes via a temporary file and rename, so a reader never sees half a file. */
function writeAtomic(file: string, data: string | Buffer): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

/** Models in TensorFlow.js format, the final sample grid and summary.json. */
export async function writeOutputs(tf: Tf, dir: string, config: TrainConfig, weights: { generator: Float32Array; discriminator: Float32Array }, summary: Summary): Promise<void> {
  mkdirSync(path.join(dir, 'samples'), { recursive: true });
  const replica = new GanReplica(tf, config);
  try {
    replica.setWeights(weights.generator, weights.discriminator);
    await saveModelTo(tf, replica.generator, path.join(dir, 'generator'));
    await saveModelTo(tf, replica.discriminator, path.join(dir, 'discriminator'));
    const pixels = await replica.generate(sampleNoise(config));
    writeAtomic(path.join(dir, 'samples', 'final.png'), imageGridPng(pixels, SAMPLE_COUNT, SAMPLE_GRID));
  } finally {
    replica.dispose();
  }
  writeAtomic(path.join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
}
