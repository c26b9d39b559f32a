import type { TrainConfig } from '../config.js';
import { NoiseStream, latentNoise } from '../data/noise.js';
import type { Phase } from '../protocol.js';
import type { GanReplica } from './replica.js';

/** This rank's examples for one step, as shipped by the coordinator. */
export interface LocalBatch {
  step: number;
  epoch: number;
  /** Position of the first example in the epoch's global order; keys the noise. */
  position: number;
  images: Uint8Array;
}

/** Averages a fused gradient buffer across all ranks (ring, star, or identity for one rank). */
export type Reduce = (step: number, phase: Phase, grads: Float32Array) => Promise<Float32Array>;

export interface StepResult {
  dLoss: number;
  gLoss: number;
  dReal: number;
  dFake: number;
  computeMs: number;
  reduceMs: number;
}

/**
 * One synchronous data-parallel GAN step: discriminator gradients, all-reduce,
 * update; then generator gradients against the updated discriminator, all-reduce,
 * update. Losses are this rank's; their mean over ranks is the global loss.
 */
export async function trainStep(replica: GanReplica, config: TrainConfig, batch: LocalBatch, reduce: Reduce): Promise<StepResult> {
  const n = config.batchSize;
  const { latentDim, seed } = config;
  const end = batch.position + n;
  let computeMs = 0;
  let reduceMs = 0;
  let t = performance.now();
  const lap = (): number => {
    const now = performance.now();
    const dt = now - t;
    t = now;
    return dt;
  };

  const zD = latentNoise(seed, batch.epoch, batch.position, end, latentDim, NoiseStream.discriminator);
  const d = await replica.discriminatorGradients(batch.images, zD);
  computeMs += lap();
  const dAvg = await reduce(batch.step, 'd', d.grads);
  reduceMs += lap();
  replica.applyDiscriminator(dAvg);

  const zG = latentNoise(seed, batch.epoch, batch.position, end, latentDim, NoiseStream.generator);
  const g = await replica.generatorGradients(zG);
  computeMs += lap();
  const gAvg = await reduce(batch.step, 'g', g.grads);
  reduceMs += lap();
  replica.applyGenerator(gAvg);
  computeMs += lap();

  return { dLoss: d.loss, gLoss: g.loss, dReal: d.dReal, dFake: d.dFake, computeMs, reduceMs };
}
