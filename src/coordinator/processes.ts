import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from '../shared/logger.js';

/** One worker process to start: locally, or an ssh client that runs it elsewhere. */
export interface ProcessSpec {
  /** For messages: `worker 2`, `worker 2 on gpu1`. */
  label: string;
  file: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  /** Each line of its stdout and stderr; without it the process writes to ours directly. */
  onLine?: (line: string) => void;
}

export interface LaunchedProcesses {
  /** Each process's exit code (null if killed by a signal), once all have exited. */
  exited: Promise<Array<number | null>>;
  /** Closes their stdin (an ssh session ends with it) and sends SIGTERM to those still running. */
  kill(): void;
}

/** Starts the processes and reports each that fails to start or exits non-zero. */
export function launchProcesses(specs: readonly ProcessSpec[], logger: Logger, onFailure: (message: string) => void): LaunchedProcesses {
  const children: ChildProcess[] = [];
  const exits = specs.map((spec) => new Promise<number | null>((resolve) => {
    const piped = spec.onLine !== undefined;
    const child = spawn(spec.file, spec.args, {
      env: spec.env,
      // A piped stdin stays open for the process's life: closing it is how a launched worker is told to go.
      stdio: piped ? ['pipe', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'],
      // Their own process group: a Ctrl-C at the terminal reaches only the coordinator, which
      // finishes the step for a final checkpoint and then stops the workers itself.
      detached: true,
    });
    children.push(child);
    if (piped) {
      for (const stream of [child.stdout, child.stderr]) if (stream) createInterface({ input: stream, crlfDelay: Infinity }).on('line', spec.onLine!);
      // The process may be gone before we close its stdin: that is not an error of ours.
      child.stdin?.on('error', () => {});
    }
    child.on('exit', (code, signal) => {
      if (code !== 0) onFailure(`${spec.label} (process ${child.pid}) exited with ${code ?? signal}`);
      resolve(code);
    });
    child.on('error', (err) => {
      onFailure(`could not start ${spec.label}: ${err.message}`);
      resolve(1);
    });
    logger.log('debug', `started ${spec.label}: process ${child.pid}`);
  }));
  return {
    exited: Promise.all(exits),
    kill: () => {
      for (const c of children) {
        c.stdin?.end();
        if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
      }
    },
  };
}

/** The environment for a launched worker: ours without TRAINER_* (its options are given as flags, nothing else). */
export function launchEnv(env: NodeJS.ProcessEnv, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('TRAINER_'))), ...extra };
}
