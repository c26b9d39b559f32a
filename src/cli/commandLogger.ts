import { type Logger, createLogger } from '../shared/logger.js';
import { type LogFormat, createSink } from './logFormat.js';
import { createTerminalSink } from './progress.js';

/** A command's logger: `--log-format auto` is human on a terminal, JSON lines otherwise; `--verbose` adds debug records. */
export function makeLogger(format: string, component: string, verbose: boolean): { logger: Logger; format: LogFormat } {
  const resolved: LogFormat = format === 'auto' ? (process.stderr.isTTY ? 'human' : 'json') : (format as LogFormat);
  const level = verbose ? 'debug' : 'info';
  // A live bar only where a person watches the coordinator; elsewhere one line per record.
  const sink = resolved === 'human' && process.stderr.isTTY && component === 'coordinator'
    ? createTerminalSink(component, process.stderr, level)
    : createSink(resolved, component, (line) => process.stderr.write(`${line}\n`), level);
  return { logger: createLogger(sink), format: resolved };
}
