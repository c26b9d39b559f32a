import path from 'node:path';
import type { TrainConfig } from '../shared/config.js';
import { GanReplica } from '../shared/gan/replica.js';
import { saveModelTo } from '../shared/gan/modelFiles.js';
import { archSpecs } from '../shared/gan/archs.js';
import { buildModel, setFlatWeights } from '../shared/gan/models.js';
import type { Tf } from '../shared/gan/tf.js';
import { writeAtomic } from '../shared/atomicFile.js';
import type { SampleWriter } from './samples.js';
import type { Summary } from './summary.js';

/** A generator alone (the best one by MNIST-FID), from its flat state, in the layout `trainer generate` and `trainer evaluate` read. */
export async function saveGenerator(tf: Tf, dir: string, config: TrainConfig, generator: Float32Array): Promise<void> {
  const spec = archSpecs(config.arch, config.latentDim).generator;
  const model = buildModel(tf, spec);
  try {
    setFlatWeights(tf, model, spec, generator);
    await saveModelTo(tf, model, dir);
  } finally {
    model.dispose();
  }
}

/** Models in TensorFlow.js format, the final sample grid and summary.json. */
export async function writeOutputs(tf: Tf, dir: string, config: TrainConfig, weights: { generator: Float32Array; discriminator: Float32Array }, summary: Summary, samples: SampleWriter): Promise<void> {
  const replica = new GanReplica(tf, config);
  try {
    replica.setWeights(weights.generator, weights.discriminator);
    await saveModelTo(tf, replica.generator, path.join(dir, 'generator'));
    await saveModelTo(tf, replica.discriminator, path.join(dir, 'discriminator'));
  } finally {
    replica.dispose();
  }
  await samples.write(config.steps, weights, 'final');
  writeAtomic(path.join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
}
