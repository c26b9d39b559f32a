import type { LogFields, LogLevel, Logger } from '../shared/logger.js';
import type { Slot } from './hostSlots.js';
import { type LaunchedProcesses, type ProcessFailure, launchEnv, launchProcesses } from './processes.js';
import { type SshTarget, sshArgv } from './sshCommand.js';

export interface SshLaunchOptions extends Omit<SshTarget, 'host'> {
  slots: readonly Slot[];
  /** The worker's arguments for a slot (after `trainer`). */
  workerArgs: (slot: Slot) => string[];
  maxRestarts: number;
}

const LEVELS: ReadonlySet<string> = new Set(['debug', 'info', 'warn', 'error']);

/**
 * A launched worker's output line as a log record: its JSON record (it runs
 * with --log-format json) or, for anything else (ssh's own complaints), the
 * line as a warning.
 */
export function remoteLogRecord(line: string): { level: LogLevel; msg: string; fields: LogFields } {
  try {
    const r: unknown = JSON.parse(line);
    if (typeof r === 'object' && r !== null && !Array.isArray(r)) {
      // Its time and component are the relay's to set.
      const { level, msg, ...fields } = r as Record<string, unknown>;
      delete fields.time;
      delete fields.component;
      if (typeof msg === 'string' && typeof level === 'string' && LEVELS.has(level)) return { level: level as LogLevel, msg, fields: fields as LogFields };
    }
  } catch {
    // not JSON: below
  }
  return { level: 'warn', msg: line, fields: {} };
}

/**
 * Starts one worker per slot over ssh (as horovodrun -H does). Each worker's
 * log lines come back through `logger`, tagged with its rank and host; its
 * stdin is the ssh session's, so killing the launcher's side ends it.
 */
export function launchOverSsh(opts: SshLaunchOptions, logger: Logger, onFailure: (f: ProcessFailure) => void): LaunchedProcesses {
  const specs = opts.slots.map((slot) => {
    const { file, args } = sshArgv({ ...opts, host: slot.host }, opts.workerArgs(slot));
    const log = logger.child({ source: `worker ${slot.rank}@${slot.host}`, launchRank: slot.rank, host: slot.host });
    return {
      label: `worker ${slot.rank} on ${slot.host}`,
      file,
      args,
      env: launchEnv(process.env),
      onLine: (line: string) => {
        const r = remoteLogRecord(line);
        log.log(r.level, r.msg, r.fields);
      },
    };
  });
  return launchProcesses(specs, logger, onFailure, opts.maxRestarts);
}
