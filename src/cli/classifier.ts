import path from 'node:path';
import type { BackendName } from '../shared/config.js';
import type { Command } from './command.js';
import { makeLogger } from './commandLogger.js';
import { type Args, ensureWritableDir, inRange, nonNegInt, positiveInt } from './flagChecks.js';
import { COMMAND_OPTIONS } from './options.js';

export const classifierCommand: Command = {
  name: 'classifier',
  usage: 'classifier <action>',
  describe: 'the reference MNIST classifier that scores generated digits',
  build: (y) => y.options(COMMAND_OPTIONS.classifier)
    .positional('action', { choices: ['train'] as const, describe: 'train: train it on MNIST and save it with its SHA-256' })
    .example('$0 classifier train --backend wasm', 'retrain the committed classifier'),
  run: runClassifierCommand,
};

async function runClassifierCommand(a: Args): Promise<number> {
  const { logger } = makeLogger(String(a.logFormat), 'classifier', Boolean(a.verbose));
  const { CLASSIFIER_DIR } = await import('../shared/eval/classifier.js');
  const out = path.resolve(String(a.out ?? CLASSIFIER_DIR));
  ensureWritableDir(out);
  const opts = {
    out, epochs: positiveInt('epochs', a.epochs), batchSize: positiveInt('batch-size', a.batchSize), lr: inRange('lr', a.lr, 0, 1, true, false),
    seed: nonNegInt('seed', a.seed), dataDir: a.data === undefined ? undefined : path.resolve(String(a.data)),
  };
  const { selectBackend } = await import('../shared/gan/backend.js');
  const { tf } = await import('../shared/gan/tf.js');
  const { trainClassifier } = await import('../classifier/train.js');
  await selectBackend(a.backend as BackendName, logger);
  const r = await trainClassifier(tf, opts, logger);
  logger.log('info', `classifier saved to ${out}: test accuracy ${(r.accuracy * 100).toFixed(2)}%, ${r.seconds.toFixed(0)} s, weights.bin SHA-256 ${r.sha256}`, { out, ...r });
  return 0;
}
