import type { Arch } from '../config.js';
import { Rng, hashKey } from '../rng.js';
import { IMAGE_SIZE } from '../data/dataset.js';

export type Activation = 'leakyRelu' | 'tanh' | 'linear';

export interface DenseSpec {
  name: string;
  units: number;
  activation: Activation;
}

/** A model as plain data: the tfjs builder and the pure weight initializer both read it. */
export interface MlpSpec {
  name: string;
  inputSize: number;
  layers: DenseSpec[];
}

export const LEAKY_ALPHA = 0.2;

/**
 * The MLP GAN: two hidden layers with LeakyReLU on each side; the generator ends
 * in tanh over 784 pixels (images scaled to [-1, 1]), the discriminator in one logit.
 */
export function mlpSpecs(latentDim: number): { generator: MlpSpec; discriminator: MlpSpec } {
  return {
    generator: {
      name: 'generator',
      inputSize: latentDim,
      layers: [
        { name: 'g_dense1', units: 256, activation: 'leakyRelu' },
        { name: 'g_dense2', units: 512, activation: 'leakyRelu' },
        { name: 'g_out', units: IMAGE_SIZE, activation: 'tanh' },
      ],
    },
    discriminator: {
      name: 'discriminator',
      inputSize: IMAGE_SIZE,
      layers: [
        { name: 'd_dense1', units: 512, activation: 'leakyRelu' },
        { name: 'd_dense2', units: 256, activation: 'leakyRelu' },
        { name: 'd_logit', units: 1, activation: 'linear' },
      ],
    },
  };
}

export function archSpecs(arch: Arch, latentDim: number): { generator: MlpSpec; discriminator: MlpSpec } {
  switch (arch) {
    case 'mlp':
      return mlpSpecs(latentDim);
  }
}

/** Parameter names and shapes in the order tfjs's Sequential lists its weights. */
export function paramShapes(spec: MlpSpec): Array<{ name: string; shape: number[] }> {
  const out: Array<{ name: string; shape: number[] }> = [];
  let fanIn = spec.inputSize;
  for (const l of spec.layers) {
    out.push({ name: `${l.name}/kernel`, shape: [fanIn, l.units] }, { name: `${l.name}/bias`, shape: [l.units] });
    fanIn = l.units;
  }
  return out;
}

export function paramCount(spec: MlpSpec): number {
  return paramShapes(spec).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
}

/**
 * Glorot-uniform kernels and zero biases, drawn from our own seeded generator so
 * that initial weights are the same on every backend and every host.
 */
export function initialWeights(spec: MlpSpec, seed: number): Float32Array {
  const out = new Float32Array(paramCount(spec));
  let offset = 0;
  paramShapes(spec).forEach((p, index) => {
    const size = p.shape.reduce((a, b) => a * b, 1);
    if (p.shape.length === 2) {
      const [fanIn, fanOut] = p.shape as [number, number];
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      const rng = new Rng(hashKey(seed, index, spec.inputSize, 0x1417));
      for (let i = 0; i < size; i++) out[offset + i] = (rng.next() * 2 - 1) * limit;
    }
    offset += size;
  });
  return out;
}
