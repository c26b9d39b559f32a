import type { Tf, Tensor } from './tf.js';
import type { ModelSpec } from './architecture.js';
import { BN_EPSILON, BN_MOMENTUM } from './architecture.js';
import { type DenseActivation, denseLayer } from './denseOp.js';
import { batchNormLayer } from './batchNormOp.js';

type LayersModel = ReturnType<Tf['sequential']>;

/**
 * A model's forward pass in training mode with each dense layer and the
 * activation after it as one kernel (webgpuDense.ts), and each batch norm
 * with a ReLU after it as one kernel (webgpuBatchNorm.ts, which also moves the
 * layer's moving statistics as the layer does), on the layers' own variables;
 * every other layer (convolutions, reshapes, other activations) is the
 * model's own, applied as the model would apply it. Gradients reach the same
 * variables as through `model.apply`.
 */
export function applyFused(tf: Tf, model: LayersModel, spec: ModelSpec, x: Tensor): Tensor {
  let y = x;
  for (let i = 0; i < spec.layers.length; i++) {
    const l = spec.layers[i]!;
    const layer = model.getLayer(l.name);
    const next = spec.layers[i + 1];
    if (l.kind === 'batchNorm') {
      const relu = next?.kind === 'activation' && next.fn === 'relu';
      if (relu) i++;
      const [gamma, beta] = layer.trainableWeights.map((v) => v.read() as Tensor);
      const [movingMean, movingVariance] = layer.nonTrainableWeights;
      const out = batchNormLayer(tf, y, gamma!, beta!, movingMean!.read() as Tensor, movingVariance!.read() as Tensor,
        { activation: relu ? 'relu' : 'linear', epsilon: BN_EPSILON, momentum: BN_MOMENTUM });
      movingMean!.write(out.movingMean);
      movingVariance!.write(out.movingVariance);
      y = out.y;
      continue;
    }
    if (l.kind !== 'dense') {
      y = layer.apply(y, { training: true }) as Tensor;
      continue;
    }
    let activation: DenseActivation = 'linear';
    if (next?.kind === 'activation') {
      activation = next.fn;
      i++;
    }
    const [w, b] = layer.trainableWeights.map((v) => v.read() as Tensor);
    y = denseLayer(tf, y, w!, l.bias ? b : undefined, activation);
  }
  return y;
}
