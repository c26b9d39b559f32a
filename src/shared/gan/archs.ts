import type { Arch } from '../config.js';
import { IMAGE_SIDE, IMAGE_SIZE } from '../data/dataset.js';
import type { LayerSpec, ModelSpec } from './architecture.js';

export interface GanSpecs {
  generator: ModelSpec;
  discriminator: ModelSpec;
}

const act = (name: string, fn: 'leakyRelu' | 'relu' | 'tanh'): LayerSpec => ({ kind: 'activation', name, fn });

/**
 * The MLP GAN: two hidden layers with LeakyReLU on each side; the generator ends
 * in tanh over 784 pixels (images scaled to [-1, 1]), the discriminator in one logit.
 */
export function mlpSpecs(latentDim: number): GanSpecs {
  return {
    generator: {
      name: 'generator',
      inputShape: [latentDim],
      kernelInit: 'glorotUniform',
      layers: [
        { kind: 'dense', name: 'g_dense1', units: 256, bias: true }, act('g_dense1_act', 'leakyRelu'),
        { kind: 'dense', name: 'g_dense2', units: 512, bias: true }, act('g_dense2_act', 'leakyRelu'),
        { kind: 'dense', name: 'g_out', units: IMAGE_SIZE, bias: true }, act('g_out_act', 'tanh'),
      ],
    },
    discriminator: {
      name: 'discriminator',
      inputShape: [IMAGE_SIZE],
      kernelInit: 'glorotUniform',
      layers: [
        { kind: 'dense', name: 'd_dense1', units: 512, bias: true }, act('d_dense1_act', 'leakyRelu'),
        { kind: 'dense', name: 'd_dense2', units: 256, bias: true }, act('d_dense2_act', 'leakyRelu'),
        { kind: 'dense', name: 'd_logit', units: 1, bias: true },
      ],
    },
  };
}

/**
 * DCGAN for 28×28 (Radford et al. 2015, scaled to MNIST as in the TensorFlow
 * tutorial). Generator: dense → 7×7×128, batch norm, ReLU, a 3×3 convolution
 * at 7×7 (the tutorial's stride-1 stage, narrower), then two stride-2
 * transposed convolutions to 28×28×1, tanh. Layers followed by batch norm have
 * no bias: its beta does that job. The 7×7 stage lowered the recipe's FID
 * (docs/results.md) for about a fifth more time per step (20–23 % measured).
 *
 * Discriminator: two stride-2 convolutions with LeakyReLU 0.2 and no batch
 * norm. Without it every example's logit depends on that example alone, so the
 * average of the workers' gradients is exactly the gradient of the global batch
 * (data parallelism stays exact for D), and the real and fake halves of D's
 * batch cannot leak statistics into each other. Batch norm in G is per worker
 * (like DDP without SyncBatchNorm); its moving statistics are averaged.
 */
export function dcganSpecs(latentDim: number): GanSpecs {
  return {
    generator: {
      name: 'generator',
      inputShape: [latentDim],
      kernelInit: 'normal002',
      layers: [
        { kind: 'dense', name: 'g_project', units: 7 * 7 * 128, bias: false },
        { kind: 'reshape', name: 'g_reshape', shape: [7, 7, 128] },
        { kind: 'batchNorm', name: 'g_bn1' }, act('g_relu1', 'relu'),
        { kind: 'conv2d', name: 'g_conv1', filters: 128, kernel: 3, stride: 1, bias: false },
        { kind: 'batchNorm', name: 'g_bn2' }, act('g_relu2', 'relu'),
        { kind: 'conv2dTranspose', name: 'g_deconv1', filters: 64, kernel: 4, stride: 2, bias: false },
        { kind: 'batchNorm', name: 'g_bn3' }, act('g_relu3', 'relu'),
        { kind: 'conv2dTranspose', name: 'g_deconv2', filters: 1, kernel: 4, stride: 2, bias: true },
        act('g_tanh', 'tanh'),
        { kind: 'reshape', name: 'g_flat', shape: [IMAGE_SIZE] },
      ],
    },
    discriminator: {
      name: 'discriminator',
      inputShape: [IMAGE_SIZE],
      kernelInit: 'normal002',
      layers: [
        { kind: 'reshape', name: 'd_image', shape: [IMAGE_SIDE, IMAGE_SIDE, 1] },
        { kind: 'conv2d', name: 'd_conv1', filters: 64, kernel: 4, stride: 2, bias: true }, act('d_lrelu1', 'leakyRelu'),
        { kind: 'conv2d', name: 'd_conv2', filters: 128, kernel: 4, stride: 2, bias: true }, act('d_lrelu2', 'leakyRelu'),
        { kind: 'reshape', name: 'd_flat', shape: [7 * 7 * 128] },
        { kind: 'dense', name: 'd_logit', units: 1, bias: true },
      ],
    },
  };
}

export function archSpecs(arch: Arch, latentDim: number): GanSpecs {
  switch (arch) {
    case 'mlp':
      return mlpSpecs(latentDim);
    case 'dcgan':
      return dcganSpecs(latentDim);
  }
}
