/**
 * A replica with seeded weights and one seeded batch (random pixels, normal noise):
 * what the kernel profiles and the bare-step benches time, the same in each of them.
 */
import { initialWeights } from '../src/shared/gan/architecture.js';
import { archSpecs } from '../src/shared/gan/archs.js';
import { GanReplica } from '../src/shared/gan/replica.js';
import type { Tf } from '../src/shared/gan/tf.js';
import type { TrainConfig } from '../src/shared/config.js';
import { Rng } from '../src/shared/rng.js';
import { IMAGE_SIZE } from '../src/shared/data/dataset.js';

export function seededReplica(tf: Tf, config: TrainConfig): { replica: GanReplica; z: Float32Array; images: Uint8Array } {
  const replica = new GanReplica(tf, config);
  const specs = archSpecs(config.arch, config.latentDim);
  replica.setWeights(initialWeights(specs.generator, 1), initialWeights(specs.discriminator, 1));
  const rng = new Rng(1);
  const z = Float32Array.from({ length: config.batchSize * config.latentDim }, () => rng.normal());
  const images = Uint8Array.from({ length: config.batchSize * IMAGE_SIZE }, () => rng.int(256));
  return { replica, z, images };
}
