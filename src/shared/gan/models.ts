import type { Tf } from './tf.js';
import { LEAKY_ALPHA, type MlpSpec } from './architecture.js';

type LayersModel = ReturnType<Tf['sequential']>;

/** Builds a tfjs Sequential model from a spec; weights start at zero and are set by the caller. */
export function buildMlp(tf: Tf, spec: MlpSpec): LayersModel {
  const model = tf.sequential({ name: spec.name });
  spec.layers.forEach((l, i) => {
    model.add(tf.layers.dense({
      name: l.name,
      units: l.units,
      kernelInitializer: 'zeros',
      biasInitializer: 'zeros',
      ...(i === 0 ? { inputShape: [spec.inputSize] } : {}),
      ...(l.activation === 'tanh' ? { activation: 'tanh' as const } : {}),
    }));
    if (l.activation === 'leakyRelu') model.add(tf.layers.leakyReLU({ name: `${l.name}_act`, alpha: LEAKY_ALPHA }));
  });
  return model;
}
