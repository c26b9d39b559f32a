import type { Tf, Tensor, Variable } from './tf.js';
import type { PhaseLoss, PhaseModels } from './fusedPhases.js';
import { sigmoidCrossEntropyMean } from './ganLossOp.js';

/**
 * The two phases on tfjs-layers' own kernels and autodiff: what every backend without the trainer's fused kernels
 * (fusedPhases.ts) runs. Call inside tf.tidy.
 */

/** D loss = BCE(D(x), realLabel) + BCE(D(G(z)), 0); value is [loss, mean D(x), mean D(G(z))]. */
export function layersDiscriminatorLoss(tf: Tf, m: PhaseModels, dVars: Variable[], images: Uint8Array, z: Float32Array): PhaseLoss {
  const n = z.length / m.latentDim;
  // Pixels in [0, 255] to the generator's range [-1, 1]; the temporaries go at once (the wasm heap's peak stays lower).
  const real = tf.tidy(() => tf.tensor2d(images, [n, images.length / n], 'float32').div(127.5).sub(1));
  const fake = m.generator.apply(tf.tensor2d(z, [n, m.latentDim]), { training: true }) as Tensor;
  let probs: Tensor | undefined;
  const { value, grads } = tf.variableGrads(() => {
    // One pass of D over real and fake together (half the kernel calls, products twice as tall):
    // D has no batch norm (archs.ts), so every example's logit is its own, as in two passes.
    const logits = m.discriminator.apply(tf.concat([real, fake.reshape(real.shape)]), { training: true }) as Tensor;
    const [realLogits, fakeLogits] = tf.split(logits, 2) as [Tensor, Tensor];
    // Intermediates inside variableGrads are released when it returns; keep the two statistics.
    probs = tf.keep(tf.stack([tf.sigmoid(realLogits).mean(), tf.sigmoid(fakeLogits).mean()]));
    return sigmoidCrossEntropyMean(tf, realLogits, m.realLabel).add(sigmoidCrossEntropyMean(tf, fakeLogits, 0)) as ReturnType<Tf['scalar']>;
  }, dVars);
  // The three statistics as one piece: tfjs's webgpu concat takes only so many inputs per program.
  const out = tf.concat([value.reshape([1]), probs!]);
  probs!.dispose();
  return { value: out, grads };
}

/** Non-saturating G loss = BCE(D(G(z)), 1); value is [loss]. */
export function layersGeneratorLoss(tf: Tf, m: PhaseModels, gVars: Variable[], z: Float32Array): PhaseLoss {
  const noise = tf.tensor2d(z, [z.length / m.latentDim, m.latentDim]);
  const { value, grads } = tf.variableGrads(() => {
    const logits = m.discriminator.apply(m.generator.apply(noise, { training: true }) as Tensor, { training: true }) as Tensor;
    return sigmoidCrossEntropyMean(tf, logits, 1);
  }, gVars);
  return { value: value.reshape([1]), grads };
}
