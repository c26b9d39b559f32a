import path from 'node:path';
import { generateKeyPair } from '../shared/security/curveKeys.js';
import type { Command } from './command.js';
import { makeLogger } from './commandLogger.js';
import type { Args } from './flagChecks.js';
import { COMMAND_OPTIONS } from './options.js';

export const keygenCommand: Command = {
  name: 'keygen',
  usage: 'keygen',
  describe: 'make a CURVE key pair (NAME.key, NAME.pub) in a keys directory',
  build: (y) => y.options(COMMAND_OPTIONS.keygen)
    .example('$0 keygen --out keys && $0 keygen --out keys --name worker', 'keys for a coordinator and its workers'),
  run: runKeygenCommand,
};

function runKeygenCommand(a: Args): number {
  const { logger } = makeLogger(String(a.logFormat), 'keygen', false);
  const dir = path.resolve(String(a.out));
  const { publicFile, secretFile } = generateKeyPair(dir, String(a.name));
  logger.log('info', `wrote ${publicFile} and ${secretFile} (keep it secret)${String(a.name) === 'coordinator' ? '' : `; admitted via ${path.join(dir, 'authorized')}`}`, { publicFile, secretFile });
  return 0;
}
