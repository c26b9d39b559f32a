import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../shared/logger.js';
import { IMAGE_SIZE, type ImageSet, loadTestSet, loadTrainingSet } from '../shared/data/dataset.js';
import { Rng } from '../shared/rng.js';
import { saveModelTo } from '../shared/gan/modelFiles.js';
import type { Tf } from '../shared/gan/tf.js';
import { CLASSES, buildClassifier, classify, scaleBytes, weightsChecksum } from '../shared/eval/classifier.js';

export interface ClassifierTrainOptions {
  out: string;
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  dataDir: string | undefined;
}

/** Fraction of `set` whose arg-max logit is its label. */
export async function accuracy(tf: Tf, model: ReturnType<typeof buildClassifier>, set: ImageSet): Promise<number> {
  const { logits } = await classify(tf, model, scaleBytes(set.images));
  let right = 0;
  for (let i = 0; i < set.count; i++) {
    let best = 0;
    for (let c = 1; c < CLASSES; c++) if (logits[i * CLASSES + c]! > logits[i * CLASSES + best]!) best = c;
    if (best === set.labels[i]) right++;
  }
  return right / set.count;
}

/**
 * Trains the reference classifier: Adam with the step size halved every
 * epoch, softmax cross-entropy, a seeded shuffle per epoch; reports test accuracy after each epoch, then saves the
 * model and its SHA256SUMS.
 */
export async function trainClassifier(tf: Tf, opts: ClassifierTrainOptions, logger: Logger): Promise<{ accuracy: number; sha256: string; seconds: number }> {
  const train = loadTrainingSet(opts.dataDir);
  const test = loadTestSet(opts.dataDir);
  const x = scaleBytes(train.images);
  const model = buildClassifier(tf, opts.seed);
  const optimizer = tf.train.adam(opts.lr);
  const rng = new Rng(opts.seed);
  const t0 = performance.now();
  let acc = 0;
  for (let epoch = 1; epoch <= opts.epochs; epoch++) {
    // Halve the step size every epoch: the last epochs refine instead of bouncing around the minimum.
    // tfjs's Adam reads its (protected) learningRate at every update, and keeps its moments.
    (optimizer as unknown as { learningRate: number }).learningRate = opts.lr * 0.5 ** (epoch - 1);
    const order = Uint32Array.from({ length: train.count }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    let lossSum = 0;
    let batches = 0;
    for (let start = 0; start + opts.batchSize <= train.count; start += opts.batchSize) {
      const xb = new Float32Array(opts.batchSize * IMAGE_SIZE);
      const yb = new Float32Array(opts.batchSize * CLASSES);
      for (let k = 0; k < opts.batchSize; k++) {
        const idx = order[start + k]!;
        xb.set(x.subarray(idx * IMAGE_SIZE, (idx + 1) * IMAGE_SIZE), k * IMAGE_SIZE);
        yb[k * CLASSES + train.labels[idx]!] = 1;
      }
      const loss = tf.tidy(() => {
        const xs = tf.tensor2d(xb, [opts.batchSize, IMAGE_SIZE]);
        const ys = tf.tensor2d(yb, [opts.batchSize, CLASSES]);
        return optimizer.minimize(() => tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training: true }) as ReturnType<Tf['tensor']>) as ReturnType<Tf['scalar']>, true)!;
      });
      lossSum += (await loss.data())[0]!;
      loss.dispose();
      batches++;
      if (batches % 100 === 0) logger.log('debug', 'classifier batch', { epoch, batch: batches, loss: lossSum / batches });
    }
    acc = await accuracy(tf, model, test);
    logger.log('info', `epoch ${epoch}/${opts.epochs}: loss ${(lossSum / batches).toFixed(4)}, test accuracy ${(acc * 100).toFixed(2)}%`, { epoch, loss: lossSum / batches, testAccuracy: acc, seconds: (performance.now() - t0) / 1000 });
  }
  await saveModelTo(tf, model, opts.out);
  const sha256 = weightsChecksum(opts.out);
  writeFileSync(path.join(opts.out, 'SHA256SUMS'), `${sha256}  weights.bin\n`);
  writeFileSync(path.join(opts.out, 'training.json'), `${JSON.stringify({ epochs: opts.epochs, batchSize: opts.batchSize, lr: opts.lr, lrSchedule: 'halved every epoch', seed: opts.seed, testAccuracy: acc, seconds: (performance.now() - t0) / 1000, backend: tf.getBackend() }, null, 2)}\n`);
  model.dispose();
  optimizer.dispose();
  return { accuracy: acc, sha256, seconds: (performance.now() - t0) / 1000 };
}
