import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../shared/logger.js';

export interface SpawnedWorkers {
  /** Resolves with each worker's exit code (null if killed by a signal) once all have exited. */
  exited: Promise<Array<number | null>>;
  kill(): void;
}

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));

/** Launches `count` local worker processes of this same build against `endpoint`; reports any that fail. */
export function spawnWorkers(count: number, endpoint: string, extraArgs: (index: number) => string[], logger: Logger, onFailure: (message: string) => void): SpawnedWorkers {
  const children: ChildProcess[] = [];
  const exits: Array<Promise<number | null>> = [];
  for (let i = 0; i < count; i++) {
    const child = spawn(process.execPath, [CLI, 'worker', '--coordinator', endpoint, '--advertise', '127.0.0.1', '--bind-host', '127.0.0.1', ...extraArgs(i)], {
      stdio: ['ignore', 'inherit', 'inherit'],
      // Their own process group: a Ctrl-C at the terminal reaches only the coordinator, which
      // finishes the step for a final checkpoint and then stops the workers itself.
      detached: true,
    });
    children.push(child);
    exits.push(new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        if (code !== 0) onFailure(`worker process ${child.pid} exited with ${code ?? signal}`);
        resolve(code);
      });
      child.on('error', (err) => {
        onFailure(`could not start worker ${i}: ${err.message}`);
        resolve(1);
      });
    }));
    logger.log('debug', `spawned worker process ${child.pid}`);
  }
  return {
    exited: Promise.all(exits),
    kill: () => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    },
  };
}
