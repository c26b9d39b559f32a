import type { Tf, Tensor, Variable } from './tf.js';
import type { GanSpecs } from './archs.js';
import type { buildModel } from './models.js';
import { applyFused } from './fusedForward.js';
import { ganLoss } from './ganLossOp.js';
import { IMAGE_SIZE } from '../data/dataset.js';

type LayersModel = ReturnType<typeof buildModel>;

/** What a phase (fused here, or layersPhases.ts) runs: the replica's two models, their specs, and the latent size. */
export interface PhaseModels {
  generator: LayersModel;
  discriminator: LayersModel;
  specs: GanSpecs;
  latentDim: number;
  /** D's target for real images: 1, or 1 − s with one-sided label smoothing (TrainConfig.labelSmoothing). G's target stays 1. */
  realLabel: number;
}

/** A phase's loss vector [loss, D(x) or D(G(z)), …] and the gradients of its first entry, by variable name. */
export interface PhaseLoss {
  value: Tensor;
  grads: Record<string, Tensor>;
}

/** Pixel v in [0, 255] as the tfjs path scales it, v / 127.5 − 1 in float32: the fused path uploads them scaled. */
const PIXELS = Float32Array.from({ length: 256 }, (_, v) => Math.fround(Math.fround(v / 127.5) - 1));

/** The images scaled as PIXELS says; a loop, because Float32Array.from with a map function took about 3 ms for a batch of 64. */
function scaledPixels(images: Uint8Array): Float32Array {
  const out = new Float32Array(images.length);
  for (let i = 0; i < images.length; i++) out[i] = PIXELS[images[i]!]!;
  return out;
}

/** The backward pass's seed for ganLoss's [loss, D(x), D(G(z))]: the gradient of the loss alone. */
const LOSS_ONLY = (tf: Tf): Tensor => tf.tensor1d([1, 0, 0]);

function byName(vars: Variable[], grads: Tensor[]): Record<string, Tensor> {
  return Object.fromEntries(vars.map((v, i) => [v.name, grads[i]!]));
}

/**
 * The discriminator phase on the trainer's kernels: D sees the real and the
 * fake half as one batch (D has no batch norm, so every logit is what two
 * passes give), and one kernel forms both losses and both mean outputs:
 * value is [loss, D(x), D(G(z))], as the tfjs path's statistics.
 */
export function fusedDiscriminatorLoss(tf: Tf, m: PhaseModels, dVars: Variable[], images: Uint8Array, z: Float32Array): PhaseLoss {
  const n = z.length / m.latentDim;
  const real = tf.tensor2d(scaledPixels(images), [n, IMAGE_SIZE]);
  const fake = applyFused(tf, m.generator, m.specs.generator, tf.tensor2d(z, [n, m.latentDim]));
  const both = tf.concat([real, fake]);
  const { value, grads } = tf.engine().gradients(() => ganLoss(tf, applyFused(tf, m.discriminator, m.specs.discriminator, both), n, m.realLabel), dVars, LOSS_ONLY(tf), true);
  return { value, grads: byName(dVars, grads) };
}

/** The generator phase on the trainer's kernels: value is [loss, D(G(z)), 0]. */
export function fusedGeneratorLoss(tf: Tf, m: PhaseModels, gVars: Variable[], z: Float32Array): PhaseLoss {
  const n = z.length / m.latentDim;
  const noise = tf.tensor2d(z, [n, m.latentDim]);
  const { value, grads } = tf.engine().gradients(() => {
    const fake = applyFused(tf, m.generator, m.specs.generator, noise);
    return ganLoss(tf, applyFused(tf, m.discriminator, m.specs.discriminator, fake), n);
  }, gVars, LOSS_ONLY(tf), true);
  return { value, grads: byName(gVars, grads) };
}
