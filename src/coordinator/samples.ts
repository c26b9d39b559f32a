import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TrainConfig } from '../shared/config.js';
import { IMAGE_SIDE } from '../shared/data/dataset.js';
import { NoiseStream, latentNoise } from '../shared/data/noise.js';
import { GanReplica } from '../shared/gan/replica.js';
import type { Tf } from '../shared/gan/tf.js';
import { imageGridPng } from '../shared/png.js';

export const SAMPLE_GRID = { columns: 8, side: IMAGE_SIDE, padding: 2, scale: 2 } as const;
export const SAMPLE_COUNT = 64;

/** Fixed noise for sample grids: the same 64 vectors at every step of a run with this seed, so grids are comparable. */
export function sampleNoise(config: TrainConfig): Float32Array {
  return latentNoise(config.seed, 0, 0, SAMPLE_COUNT, config.latentDim, NoiseStream.samples);
}

/** Writes via a temporary file and rename, so a reader never sees half a file. */
export function writeAtomic(file: string, data: string | Buffer): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

/** Renders sample grids from weights lent by rank 0 into `dir/samples/`, and keeps the latest for HTTP. */
export class SampleWriter {
  private replica: GanReplica | undefined;
  private readonly noise: Float32Array;
  latest: Buffer | undefined;

  constructor(private readonly tf: Tf, private readonly config: TrainConfig, private readonly dir: string) {
    this.noise = sampleNoise(config);
  }

  /** Writes samples/<name>.png (default step-XXXXXXX.png) and returns its path. */
  async write(step: number, weights: { generator: Float32Array; discriminator: Float32Array }, name = `step-${String(step).padStart(7, '0')}`): Promise<string> {
    this.replica ??= new GanReplica(this.tf, this.config);
    this.replica.setWeights(weights.generator, weights.discriminator);
    const png = imageGridPng(await this.replica.generate(this.noise), SAMPLE_COUNT, SAMPLE_GRID);
    const file = path.join(this.dir, 'samples', `${name}.png`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeAtomic(file, png);
    this.latest = png;
    return file;
  }

  dispose(): void {
    this.replica?.dispose();
    this.replica = undefined;
  }
}
