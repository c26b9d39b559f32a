import { type ModelSpec } from '../src/shared/gan/architecture.js';

/** Multiply-adds of one example's forward pass through the dense and convolution layers. */
export function forwardMacs(spec: ModelSpec): number {
  let shape = spec.inputShape;
  let macs = 0;
  for (const l of spec.layers) {
    if (l.kind === 'dense') {
      macs += shape[0]! * l.units;
      shape = [l.units];
    } else if (l.kind === 'conv2d') {
      const out = [Math.ceil(shape[0]! / l.stride), Math.ceil(shape[1]! / l.stride), l.filters];
      macs += out[0]! * out[1]! * l.kernel * l.kernel * shape[2]! * l.filters;
      shape = out;
    } else if (l.kind === 'conv2dTranspose') {
      macs += shape[0]! * shape[1]! * l.kernel * l.kernel * shape[2]! * l.filters;
      shape = [shape[0]! * l.stride, shape[1]! * l.stride, l.filters];
    } else if (l.kind === 'reshape') {
      shape = l.shape;
    }
  }
  return macs;
}

/**
 * FLOPs of one GAN training step at this batch, products only, with a backward
 * pass costing twice its forward: D phase G→D(real), D(fake) forward, D backward
 * twice; G phase G→D forward, backward through D (input gradients only) and G.
 * That is 4·F_G + 8·F_D multiply-adds per example, two FLOPs each.
 */
export function stepFlops(generator: ModelSpec, discriminator: ModelSpec, batch: number): number {
  return 2 * batch * (4 * forwardMacs(generator) + 8 * forwardMacs(discriminator));
}
