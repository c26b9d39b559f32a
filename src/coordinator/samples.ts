import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { TrainConfig } from '../shared/config.js';
import { writeAtomic } from '../shared/atomicFile.js';
import { GanReplica } from '../shared/gan/replica.js';
import type { Tf } from '../shared/gan/tf.js';
import { sampleGridPng, sampleNoise } from '../shared/sampleGrid.js';

/** An 8×8 grid. */
export const SAMPLE_COUNT = 64;

/** Renders sample grids from weights lent by rank 0 into `dir/samples/`, and keeps the latest for HTTP. */
export class SampleWriter {
  private replica: GanReplica | undefined;
  private readonly noise: Float32Array;
  latest: Buffer | undefined;

  constructor(private readonly tf: Tf, private readonly config: TrainConfig, private readonly dir: string) {
    this.noise = sampleNoise(config.seed, SAMPLE_COUNT, config.latentDim);
  }

  /** Writes samples/<name>.png (default step-XXXXXXX.png) and returns its path. */
  async write(step: number, weights: { generator: Float32Array; discriminator: Float32Array }, name = `step-${String(step).padStart(7, '0')}`): Promise<string> {
    this.replica ??= new GanReplica(this.tf, this.config);
    this.replica.setWeights(weights.generator, weights.discriminator);
    const png = sampleGridPng(await this.replica.generate(this.noise), SAMPLE_COUNT);
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
