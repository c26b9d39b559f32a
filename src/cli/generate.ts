import path from 'node:path';
import type { BackendName } from '../shared/config.js';
import { ConfigError } from '../shared/errors.js';
import type { Command } from './command.js';
import { makeLogger } from './commandLogger.js';
import { type Args, ensureWritableDir, nonNegInt, positiveInt } from './flagChecks.js';
import { COMMAND_OPTIONS } from './options.js';

export const generateCommand: Command = {
  name: 'generate',
  usage: 'generate',
  describe: 'draw digits from a saved generator into a PNG grid',
  build: (y) => y.options(COMMAND_OPTIONS.generate)
    .example('$0 generate --model runs/X/generator --out digits.png', '64 digits from a trained generator'),
  run: runGenerateCommand,
};

async function runGenerateCommand(a: Args): Promise<number> {
  const { logger } = makeLogger(String(a.logFormat), 'generate', Boolean(a.verbose));
  const count = positiveInt('count', a.count);
  if (count > 4096) throw new ConfigError(`--count must be at most 4096, got ${count}`);
  const out = path.resolve(String(a.out));
  ensureWritableDir(path.dirname(out));
  const { selectBackend } = await import('../shared/gan/backend.js');
  const { tf } = await import('../shared/gan/tf.js');
  const { generateGrid } = await import('../generate/generate.js');
  const { writeAtomic } = await import('../shared/atomicFile.js');
  await selectBackend(a.backend as BackendName, logger);
  const { png, columns } = await generateGrid(tf, { modelDir: path.resolve(String(a.model)), count, seed: nonNegInt('seed', a.seed) });
  writeAtomic(out, png);
  logger.log('info', `wrote ${count} images (${columns} per row) to ${out}`, { out, count });
  return 0;
}
