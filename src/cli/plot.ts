import path from 'node:path';
import type { Command } from './command.js';
import { makeLogger } from './commandLogger.js';
import type { Args } from './flagChecks.js';
import { COMMAND_OPTIONS } from './options.js';

export const plotCommand: Command = {
  name: 'plot',
  usage: 'plot <run>',
  describe: 'redraw a run\'s plots (RUN/plots/losses.svg, throughput.svg, fid.svg) from its steps.jsonl and summary.json',
  build: (y) => y.options(COMMAND_OPTIONS.plot)
    .positional('run', { type: 'string', describe: 'a run\'s --out directory' })
    .example('$0 plot runs/2026-01-01T00-00-00', 'redraw that run\'s plots'),
  run: runPlotCommand,
};

async function runPlotCommand(a: Args): Promise<number> {
  const { logger } = makeLogger(String(a.logFormat), 'plot', Boolean(a.verbose));
  const { writeRunPlots } = await import('../plots/runPlots.js');
  const files = await writeRunPlots(path.resolve(String(a.run)));
  logger.log('info', `plots: ${files.join(', ')}`, { files });
  return 0;
}
