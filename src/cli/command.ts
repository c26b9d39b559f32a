import type { Argv } from 'yargs';
import type { Args } from './flagChecks.js';

/**
 * One `trainer <command>`: what yargs needs to parse it (its name, its help
 * line, its options and examples) and what runs it. A new command is a new
 * file under src/cli/ exporting one of these, listed in src/cli.ts.
 */
export interface Command {
  /** The name dispatched on (`argv._[0]`). */
  name: string;
  /** The yargs command string: the name, and any positionals (`classifier <action>`). */
  usage: string;
  describe: string;
  /** Adds the command's options, positionals and examples. */
  build: (y: Argv) => Argv;
  /** Runs the command on the parsed flags; resolves to the process's exit code. */
  run: (a: Args) => number | Promise<number>;
}
