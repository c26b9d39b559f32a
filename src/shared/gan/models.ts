import type { Tf } from './tf.js';
import { BN_EPSILON, BN_MOMENTUM, LEAKY_ALPHA, type LayerSpec, type ModelSpec, paramShapes } from './architecture.js';

type LayersModel = ReturnType<Tf['sequential']>;
type Layer = Parameters<LayersModel['add']>[0];

/** Weights start at zero (no random draws inside tfjs); the caller sets them. */
const ZERO = { kernelInitializer: 'zeros', biasInitializer: 'zeros' } as const;

function layer(tf: Tf, l: LayerSpec, first: { inputShape: number[] } | object): Layer {
  switch (l.kind) {
    case 'dense':
      return tf.layers.dense({ name: l.name, units: l.units, useBias: l.bias, ...ZERO, ...first });
    case 'conv2d':
    case 'conv2dTranspose':
      return tf.layers[l.kind]({ name: l.name, filters: l.filters, kernelSize: l.kernel, strides: l.stride, padding: 'same', useBias: l.bias, ...ZERO, ...first });
    case 'batchNorm':
      return tf.layers.batchNormalization({ name: l.name, axis: -1, momentum: BN_MOMENTUM, epsilon: BN_EPSILON, ...first });
    case 'reshape':
      return tf.layers.reshape({ name: l.name, targetShape: l.shape, ...first });
    case 'activation':
      if (l.fn === 'leakyRelu') return tf.layers.leakyReLU({ name: l.name, alpha: LEAKY_ALPHA, ...first });
      if (l.fn === 'relu') return tf.layers.reLU({ name: l.name, ...first });
      return tf.layers.activation({ name: l.name, activation: 'tanh', ...first });
  }
}

/** Builds a tfjs Sequential model from a spec. */
export function buildModel(tf: Tf, spec: ModelSpec): LayersModel {
  const model = tf.sequential({ name: spec.name });
  spec.layers.forEach((l, i) => model.add(layer(tf, l, i === 0 ? { inputShape: spec.inputShape } : {})));
  return model;
}

/**
 * Sets a model built from `spec` to a flat state in `paramShapes` order (parameters, then
 * batch-norm statistics): what initialWeights, checkpoints and rank 0's weights carry.
 */
export function setFlatWeights(tf: Tf, model: LayersModel, spec: ModelSpec, flat: Float32Array): void {
  const shapes = paramShapes(spec).map((p) => p.shape);
  const total = shapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
  if (flat.length !== total) throw new RangeError(`${spec.name}: got ${flat.length} values, expected ${total}`);
  // tidy: the variables keep their own reference; the staging tensors go.
  tf.tidy(() => {
    let offset = 0;
    model.setWeights(shapes.map((shape) => tf.tensor(flat.subarray(offset, (offset += shape.reduce((a, b) => a * b, 1))), shape)));
  });
}
