import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../shared/logger.js';
import { type LaunchedProcesses, type ProcessFailure, launchEnv, launchProcesses } from './processes.js';
import { sharedCoreFlags } from './sharedCores.js';

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));

/** Launches `count` local worker processes of this same build against `endpoint`, worker i asking for rank i; reports any that fail. */
export function spawnWorkers(count: number, endpoint: string, extraArgs: (index: number) => string[], logger: Logger, onFailure: (f: ProcessFailure) => void, maxRestarts: number): LaunchedProcesses {
  const node = sharedCoreFlags(count, os.availableParallelism());
  if (node.why) logger.log('info', node.why, { workerNodeFlags: node.flags });
  const specs = Array.from({ length: count }, (_, i) => ({
    label: `worker ${i}`,
    file: process.execPath,
    args: [...node.flags, CLI, 'worker', '--coordinator', endpoint, '--advertise', '127.0.0.1', '--bind-host', '127.0.0.1', '--rank', String(i), '--stop-on-stdin-close', ...extraArgs(i)],
    env: launchEnv(process.env),
  }));
  return launchProcesses(specs, logger, onFailure, maxRestarts);
}
