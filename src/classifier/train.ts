import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../shared/logger.js';
import { IMAGE_SIZE, type ImageSet, loadTestSet, loadTrainingSet } from '../shared/data/dataset.js';
import { Rng } from '../shared/rng.js';
import { saveModelTo } from '../shared/gan/modelFiles.js';
import type { Tf } from '../shared/gan/tf.js';
import { CLASSES, buildClassifier, classify, scaleBytes, weightsChecksum } from '../shared/eval/classifier.js';
import { chooseEpoch, shuffled, splitValidation } from './validationSplit.js';

export interface ClassifierTrainOptions {
  out: string;
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  /** Training images held out to choose the epoch count on (never trained on). */
  validation: number;
  dataDir: string | undefined;
}

/** The images of `set` at `indices`, in that order. */
export function subset(set: ImageSet, indices: Uint32Array): ImageSet {
  const images = new Uint8Array(indices.length * IMAGE_SIZE);
  const labels = new Uint8Array(indices.length);
  indices.forEach((idx, k) => {
    images.set(set.images.subarray(idx * IMAGE_SIZE, (idx + 1) * IMAGE_SIZE), k * IMAGE_SIZE);
    labels[k] = set.labels[idx]!;
  });
  return { count: indices.length, images, labels };
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
 * Trains the reference classifier for up to `epochs` epochs on the training images minus a held-out
 * validation split: Adam with the step size halved every epoch, softmax cross-entropy, a seeded shuffle
 * per epoch. It keeps the weights of the epoch with the best validation accuracy; since neither the
 * schedule nor the shuffles depend on the epoch budget, they are what `--epochs <that epoch>` trains.
 * The test set is only reported, never chosen on.
 */
export async function trainClassifier(tf: Tf, opts: ClassifierTrainOptions, logger: Logger): Promise<{ accuracy: number; sha256: string; seconds: number; epoch: number }> {
  const all = loadTrainingSet(opts.dataDir);
  const test = loadTestSet(opts.dataDir);
  const split = splitValidation(all.count, opts.validation, opts.seed);
  const validation = subset(all, split.validation);
  const x = scaleBytes(all.images);
  const model = buildClassifier(tf, opts.seed);
  const optimizer = tf.train.adam(opts.lr);
  const rng = new Rng(opts.seed);
  const t0 = performance.now();
  const history: Array<{ epoch: number; loss: number; validationAccuracy: number; testAccuracy: number; seconds: number }> = [];
  let best: { epoch: number; weights: ReturnType<Tf['tensor']>[] } | undefined;
  for (let epoch = 1; epoch <= opts.epochs; epoch++) {
    // Halve the step size every epoch: the last epochs refine instead of bouncing around the minimum.
    // tfjs's Adam reads its (protected) learningRate at every update, and keeps its moments.
    (optimizer as unknown as { learningRate: number }).learningRate = opts.lr * 0.5 ** (epoch - 1);
    const order = shuffled(split.train, rng);
    let lossSum = 0;
    let batches = 0;
    for (let start = 0; start + opts.batchSize <= order.length; start += opts.batchSize) {
      const xb = new Float32Array(opts.batchSize * IMAGE_SIZE);
      const yb = new Float32Array(opts.batchSize * CLASSES);
      for (let k = 0; k < opts.batchSize; k++) {
        const idx = order[start + k]!;
        xb.set(x.subarray(idx * IMAGE_SIZE, (idx + 1) * IMAGE_SIZE), k * IMAGE_SIZE);
        yb[k * CLASSES + all.labels[idx]!] = 1;
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
    const validationAccuracy = await accuracy(tf, model, validation);
    const testAccuracy = await accuracy(tf, model, test);
    const seconds = (performance.now() - t0) / 1000;
    history.push({ epoch, loss: lossSum / batches, validationAccuracy, testAccuracy, seconds });
    if (chooseEpoch(history.map((h) => h.validationAccuracy)) === epoch) {
      if (best) tf.dispose(best.weights);
      best = { epoch, weights: model.getWeights().map((w) => w.clone()) };
    }
    logger.log('info', `epoch ${epoch}/${opts.epochs}: loss ${(lossSum / batches).toFixed(4)}, validation accuracy ${(validationAccuracy * 100).toFixed(2)}%, test accuracy ${(testAccuracy * 100).toFixed(2)}%`, history[history.length - 1]);
  }
  model.setWeights(best!.weights);
  tf.dispose(best!.weights);
  const chosen = history[best!.epoch - 1]!;
  await saveModelTo(tf, model, opts.out);
  const sha256 = weightsChecksum(opts.out);
  const seconds = (performance.now() - t0) / 1000;
  writeFileSync(path.join(opts.out, 'SHA256SUMS'), `${sha256}  weights.bin\n`);
  writeFileSync(path.join(opts.out, 'training.json'), `${JSON.stringify({
    epochs: chosen.epoch, epochsTried: opts.epochs, chosenOn: `validation: ${opts.validation} training images held out (splitValidation, seed ${opts.seed})`,
    trainImages: split.train.length, validationImages: split.validation.length, batchSize: opts.batchSize, lr: opts.lr, lrSchedule: 'halved every epoch', seed: opts.seed,
    validationAccuracy: chosen.validationAccuracy, testAccuracy: chosen.testAccuracy, history, seconds, backend: tf.getBackend(),
  }, null, 2)}\n`);
  model.dispose();
  optimizer.dispose();
  return { accuracy: chosen.testAccuracy, sha256, seconds, epoch: chosen.epoch };
}
