import type { Tf } from './tf.js';
import type { ModelSpec } from './architecture.js';
import { type DenseActivation, denseLayer } from './webgpuDense.js';

type Tensor = ReturnType<Tf['tensor']>;
type LayersModel = ReturnType<Tf['sequential']>;

/**
 * A model's forward pass in training mode with each dense layer and the
 * activation after it as one kernel (webgpuDense.ts) on the layer's own
 * variables; every other layer (convolutions, batch norm with its moving
 * statistics, reshapes) is the model's own layer, applied as the model would
 * apply it. Gradients reach the same variables as through `model.apply`.
 */
export function applyFused(tf: Tf, model: LayersModel, spec: ModelSpec, x: Tensor): Tensor {
  let y = x;
  for (let i = 0; i < spec.layers.length; i++) {
    const l = spec.layers[i]!;
    const layer = model.getLayer(l.name);
    if (l.kind !== 'dense') {
      y = layer.apply(y, { training: true }) as Tensor;
      continue;
    }
    const next = spec.layers[i + 1];
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
