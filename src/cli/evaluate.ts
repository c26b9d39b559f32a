import path from 'node:path';
import type { BackendName } from '../shared/config.js';
import { ConfigError } from '../shared/errors.js';
import type { Command } from './command.js';
import { makeLogger } from './commandLogger.js';
import { type Args, nonNegInt, positiveInt } from './flagChecks.js';
import { COMMAND_OPTIONS } from './options.js';

export const evaluateCommand: Command = {
  name: 'evaluate',
  usage: 'evaluate',
  describe: 'score a saved generator: MNIST-FID, Inception Score and digit coverage, with real-data and untrained calibration',
  build: (y) => y.options(COMMAND_OPTIONS.evaluate)
    .example('$0 evaluate --model runs/X/generator', 'score a run\'s generator'),
  run: runEvaluateCommand,
};

async function runEvaluateCommand(a: Args): Promise<number> {
  const { logger } = makeLogger(String(a.logFormat), 'evaluate', Boolean(a.verbose));
  const count = positiveInt('count', a.count);
  if (count < 2 || count > 60_000) throw new ConfigError(`--count must be in [2, 60000], got ${count}`);
  const { selectBackend } = await import('../shared/gan/backend.js');
  const { tf } = await import('../shared/gan/tf.js');
  const { evaluateGenerator, formatEvaluation } = await import('../evaluate/evaluate.js');
  await selectBackend(a.backend as BackendName, logger);
  const e = await evaluateGenerator(tf, {
    modelDir: path.resolve(String(a.model)), count, seed: nonNegInt('seed', a.seed),
    ...(a.data === undefined ? {} : { dataDir: path.resolve(String(a.data)) }),
    ...(a.classifier === undefined ? {} : { classifierDir: path.resolve(String(a.classifier)) }),
  });
  // The result is the command's output: stdout, as a table or (--json) one JSON document.
  process.stdout.write(a.json ? `${JSON.stringify(e)}\n` : `${formatEvaluation(e)}\n`);
  return 0;
}
