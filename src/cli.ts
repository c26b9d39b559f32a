#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ConfigError, CoordinatorLostError, DataFormatError, errorMessage } from './shared/errors.js';
import { classifierCommand } from './cli/classifier.js';
import type { Command } from './cli/command.js';
import { coordinatorCommand } from './cli/coordinator.js';
import { evaluateCommand } from './cli/evaluate.js';
import { generateCommand } from './cli/generate.js';
import { keygenCommand } from './cli/keygen.js';
import { COMMAND_OPTIONS, isCommandName } from './cli/options.js';
import { type OptionLayers, configPath, layerOptions, withOrigin } from './cli/optionLayers.js';
import { workerCommand } from './cli/worker.js';

// The entry point: layers the option sources, parses with yargs and hands over to src/cli/<command>.ts.

const EXIT_USAGE = 2;
/** A worker whose coordinator went silent: distinct, so a supervisor knows to restart it. */
const EXIT_COORDINATOR_LOST = 3;

/** In the order `--help` lists them. */
const COMMANDS: readonly Command[] = [coordinatorCommand, workerCommand, generateCommand, evaluateCommand, classifierCommand, keygenCommand];

/** `a, b or c`. */
const listed = (names: readonly string[]): string => `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;

/** `layered`: option values from TRAINER_* and --config, below the flags and above the defaults. */
function parser(argv: string[], layered: Record<string, unknown>): Argv {
  let y = yargs(argv)
    .config(layered)
    // A flag given twice takes its last value (a wrapper script can append overrides), as most CLIs do.
    .parserConfiguration({ 'duplicate-arguments-array': false })
    .scriptName('trainer')
    .usage('$0 <command> [options]\n\nDistributed data-parallel GAN training on MNIST: one coordinator, N workers, gradients averaged by all-reduce over ZeroMQ.');
  for (const c of COMMANDS) y = y.command(c.usage, c.describe, c.build);
  return y
    .demandCommand(1, `name a command: ${listed(COMMANDS.map((c) => c.name))}`)
    .strict()
    .help()
    .wrap(Math.min(120, process.stdout.columns ?? 120));
}

/** TRAINER_* and --config values for the command about to run (none for --help or an unknown command). */
function optionLayers(argv: readonly string[]): OptionLayers {
  const command = argv[0];
  if (command === undefined || !isCommandName(command)) return { values: {}, origins: new Map() };
  const file = configPath(argv, process.env);
  let data: unknown;
  if (file !== undefined) {
    try {
      data = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`--config ${file}: ${err instanceof SyntaxError ? 'not valid JSON: ' : ''}${errorMessage(err)}`);
    }
  }
  return layerOptions({ tables: COMMAND_OPTIONS, command, env: process.env, ...(file === undefined ? {} : { file: { path: file, data } }) });
}

async function main(): Promise<void> {
  let code = 1;
  const args = hideBin(process.argv);
  let origins: ReadonlyMap<string, string> = new Map();
  try {
    const layers = optionLayers(args);
    origins = layers.origins;
    const argv = await parser(args, layers.values)
      .fail((msg, err) => { throw err ?? new ConfigError(msg); })
      .parseAsync();
    const name = String(argv._[0]);
    const command = COMMANDS.find((c) => c.name === name);
    // yargs' strict mode has already refused any other name.
    if (!command) throw new ConfigError(`unknown command ${JSON.stringify(name)}`);
    code = await command.run(argv as Record<string, unknown>);
  } catch (err) {
    // One line, whatever the source (yargs puts its details on further lines), naming the env var or file a bad value came from.
    const line = errorMessage(err).replace(/\s*\n\s*/g, ' ').trim();
    process.stderr.write(`trainer: ${withOrigin(line, origins, args)}\n`);
    code = err instanceof ConfigError || err instanceof DataFormatError ? EXIT_USAGE : err instanceof CoordinatorLostError ? EXIT_COORDINATOR_LOST : 1;
  }
  // ZeroMQ and tfjs may hold handles open after a run; the run's outcome is settled, so leave now.
  process.exit(code);
}

await main();
