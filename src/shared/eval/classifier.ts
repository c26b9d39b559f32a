import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { DataFormatError } from '../errors.js';
import { IMAGE_SIDE, IMAGE_SIZE } from '../data/dataset.js';
import { directoryLoadHandler } from '../gan/modelFiles.js';
import type { Tf, Tensor } from '../gan/tf.js';

type LayersModel = ReturnType<Tf['sequential']>;

/** Size of the penultimate layer: the features MNIST-FID compares. */
export const FEATURE_SIZE = 128;
export const CLASSES = 10;

/** The committed reference classifier (models/mnist-classifier at the repository root). */
export const CLASSIFIER_DIR = fileURLToPath(new URL('../../../../models/mnist-classifier', import.meta.url));

/**
 * A small CNN on 28×28 images in [-1, 1] (the generator's range): two 5×5
 * stride-2 convolutions (32, 64 channels, ReLU), a 128-unit ReLU layer (the
 * features) and 10 logits. Strided convolutions rather than pooling: every
 * kernel its training needs exists on the wasm backend.
 */
export function buildClassifier(tf: Tf, seed: number): LayersModel {
  const init = (k: number): ReturnType<Tf['initializers']['glorotUniform']> => tf.initializers.glorotUniform({ seed: seed * 100 + k });
  return tf.sequential({
    name: 'mnist_classifier',
    layers: [
      tf.layers.reshape({ inputShape: [IMAGE_SIZE], targetShape: [IMAGE_SIDE, IMAGE_SIDE, 1], name: 'image' }),
      tf.layers.conv2d({ filters: 32, kernelSize: 5, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: init(1), name: 'conv1' }),
      tf.layers.conv2d({ filters: 64, kernelSize: 5, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: init(2), name: 'conv2' }),
      tf.layers.flatten({ name: 'flatten' }),
      tf.layers.dense({ units: FEATURE_SIZE, activation: 'relu', kernelInitializer: init(3), name: 'features' }),
      tf.layers.dense({ units: CLASSES, kernelInitializer: init(4), name: 'logits' }),
    ],
  });
}

/** SHA-256 of a saved classifier's weights.bin, hex. */
export function weightsChecksum(dir: string): string {
  return createHash('sha256').update(readFileSync(path.join(dir, 'weights.bin'))).digest('hex');
}

/**
 * Loads a saved classifier and checks its weights against the SHA-256 recorded
 * next to them (SHA256SUMS), so a damaged or swapped file never yields a score.
 */
export async function loadClassifier(tf: Tf, dir: string = CLASSIFIER_DIR): Promise<LayersModel> {
  const sums = path.join(dir, 'SHA256SUMS');
  if (!existsSync(sums)) throw new DataFormatError(`${dir}: no SHA256SUMS next to the classifier (train one with: trainer classifier train --out ${dir})`);
  const expected = /^([0-9a-f]{64})\s+\*?weights\.bin$/m.exec(readFileSync(sums, 'utf8'))?.[1];
  const actual = weightsChecksum(dir);
  if (expected !== actual) throw new DataFormatError(`${dir}/weights.bin: SHA-256 ${actual} does not match SHA256SUMS (${expected ?? 'no entry'})`);
  const model = await tf.loadLayersModel(directoryLoadHandler(tf, dir));
  const out = model.outputs[0]?.shape;
  if (model.inputs[0]?.shape[1] !== IMAGE_SIZE || out?.[1] !== CLASSES) throw new DataFormatError(`${dir}: not an MNIST classifier (${JSON.stringify(model.inputs[0]?.shape)} → ${JSON.stringify(out)})`);
  return model as LayersModel;
}

/** Pixels in [0, 255] to the classifier's input range [-1, 1]. */
export function scaleBytes(images: Uint8Array): Float32Array {
  const out = new Float32Array(images.length);
  for (let i = 0; i < images.length; i++) out[i] = images[i]! / 127.5 - 1;
  return out;
}

export interface Classified {
  count: number;
  /** count × FEATURE_SIZE penultimate activations. */
  features: Float32Array;
  /** count × CLASSES logits. */
  logits: Float32Array;
}

/** Runs images in [-1, 1] (count × 784) through the classifier in batches; returns features and logits. */
export async function classify(tf: Tf, model: LayersModel, images: Float32Array, batch = 500): Promise<Classified> {
  const count = images.length / IMAGE_SIZE;
  const features = new Float32Array(count * FEATURE_SIZE);
  const logits = new Float32Array(count * CLASSES);
  // One model with two outputs: the features layer and the logits.
  const both = tf.model({ inputs: model.inputs, outputs: [model.getLayer('features').output as never, model.outputs[0]!] });
  for (let start = 0; start < count; start += batch) {
    const n = Math.min(batch, count - start);
    const [f, l] = tf.tidy(() => both.predict(tf.tensor2d(images.subarray(start * IMAGE_SIZE, (start + n) * IMAGE_SIZE), [n, IMAGE_SIZE])) as Tensor[]);
    features.set(await f!.data() as Float32Array, start * FEATURE_SIZE);
    logits.set(await l!.data() as Float32Array, start * CLASSES);
    tf.dispose([f!, l!]);
  }
  return { count, features, logits };
}
