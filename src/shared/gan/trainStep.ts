import type { TrainConfig } from '../config.js';
import { NoiseStream, latentNoise } from '../data/noise.js';
import type { Phase } from '../protocol.js';
import type { GanReplica, GradientsInto } from './replica.js';
import type { SpanRecorder } from '../timeline.js';
import type { Averaged } from '../allreduce/averaged.js';
import { IMAGE_SIZE } from '../data/dataset.js';
import { scaleInPlace } from '../allreduce/ring.js';

/** This rank's examples for one step, as shipped by the coordinator. */
export interface LocalBatch {
  step: number;
  epoch: number;
  /** Position of the first example in the epoch's global order; keys the noise. */
  position: number;
  images: Uint8Array;
}

/** Filled in by a reduce that can tell (the ring): when the first peer data arrived, when reduce-scatter ended. */
export interface ReduceTimes {
  firstArrival?: number;
  reduceScatterEnd?: number;
}

/** Averages a fused gradient buffer across all ranks (ring, star, or identity for one rank), or hands back every rank's buffer to average where it is used (shared memory). */
export type Reduce = (step: number, phase: Phase, grads: Float32Array, times: ReduceTimes) => Promise<Averaged>;

export interface StepResult {
  dLoss: number;
  gLoss: number;
  dReal: number;
  dFake: number;
  /** Forward and backward passes and gradient read-back, both models. */
  computeMs: number;
  /** Both all-reduces, waiting included. */
  reduceMs: number;
  /** Both optimizer updates. */
  applyMs: number;
  /** Part of reduceMs spent before any peer data arrived: waiting for the slowest rank. */
  peerWaitMs: number;
  /** Phases whose averaged gradients held NaN or Infinity and were not applied (the same on every replica). */
  skipped: Phase[];
}

export interface StepOptions {
  spans?: SpanRecorder;
  /** Ranks in the current generation (default config.world). */
  world?: number;
  /** Where each phase's gradients should be read back to: the memory the next reduce reads them from, where it offers some. */
  gradientsInto?: GradientsInto;
}

/**
 * One synchronous data-parallel GAN step: discriminator gradients, all-reduce,
 * update; then generator gradients against the updated discriminator, all-reduce,
 * update. Losses are this rank's; their mean over ranks is the global loss.
 */
export async function trainStep(replica: GanReplica, config: TrainConfig, batch: LocalBatch, reduce: Reduce, options: StepOptions = {}): Promise<StepResult> {
  const { spans } = options;
  const world = options.world ?? config.world;
  const n = batch.images.length / IMAGE_SIZE;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`batch for step ${batch.step} holds ${batch.images.length} bytes, not a whole number of images`);
  // The reduce averages over ranks; a rank whose slice is not 1/world of the global batch (the
  // world shrank to a count that does not divide it) weights its gradients so the average is the
  // global batch's mean gradient. Exactly 1 in a full world: no multiply, the same bits as before.
  const weight = (n * world) / (config.world * config.batchSize);
  const { latentDim, seed } = config;
  const end = batch.position + n;
  const totals = { computeMs: 0, reduceMs: 0, applyMs: 0, peerWaitMs: 0 };
  const skipped: Phase[] = [];

  const phase = async <R extends { grads: Float32Array }>(which: Phase, gradients: () => Promise<R>, apply: (avg: Averaged) => boolean): Promise<R> => {
    const t0 = performance.now();
    const r = await gradients();
    const t1 = performance.now();
    const times: ReduceTimes = {};
    if (weight !== 1) scaleInPlace(r.grads, weight);
    const avg = await reduce(batch.step, which, r.grads, times);
    const t2 = performance.now();
    // Not applied when an averaged value is not finite: the same choice on every replica (GanReplica.apply).
    if (!apply(avg)) skipped.push(which);
    const t3 = performance.now();
    totals.computeMs += t1 - t0;
    totals.reduceMs += t2 - t1;
    totals.applyMs += t3 - t2;
    // Without an arrival time (star), all of the reduce counts as waiting: an upper bound.
    totals.peerWaitMs += (times.firstArrival ?? t2) - t1;
    if (spans?.enabled) {
      spans.add('forward/backward', t0, t1, which);
      if (times.reduceScatterEnd !== undefined) {
        spans.add('reduce-scatter', t1, times.reduceScatterEnd, which);
        spans.add('all-gather', times.reduceScatterEnd, t2, which);
      } else if (world > 1) {
        spans.add('all-reduce', t1, t2, which);
      }
      spans.add('apply', t2, t3, which);
    }
    return r;
  };

  const zD = latentNoise(seed, batch.epoch, batch.position, end, latentDim, NoiseStream.discriminator);
  const into = options.gradientsInto;
  const d = await phase('d', () => replica.discriminatorGradients(batch.images, zD, into), (avg) => replica.applyDiscriminator(avg, batch.step));
  const zG = latentNoise(seed, batch.epoch, batch.position, end, latentDim, NoiseStream.generator);
  const g = await phase('g', () => replica.generatorGradients(zG, into), (avg) => replica.applyGenerator(avg, batch.step));
  replica.averageGenerator(batch.step);

  return { dLoss: d.loss, gLoss: g.loss, dReal: d.dReal, dFake: d.dFake, ...totals, skipped };
}
