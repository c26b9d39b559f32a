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

/** A launched process that failed: exited non-zero, was killed, or could not start. */
export interface ProcessFailure {
  /** Its slot: the index of its spec. */
  slot: number;
  message: string;
  /** Whether it is being started again (--max-restarts). */
  restarting: boolean;
}

export interface LaunchedProcesses {
  /** Each slot's last exit code (null if killed by a signal), once none is running or about to restart. */
  exited: Promise<Array<number | null>>;
  /** No more restarts: the run is over. */
  retire(): void;
  /** Retires them, closes their stdin (an ssh session ends with it) and sends SIGTERM to those still running. */
  kill(): void;
}

/** A failed process waits this long before it is started again: a broken setup must not spin. */
const RESTART_DELAY_MS = 1000;

/**
 * Starts the processes; reports each failure, and starts a failed one again
 * up to `maxRestarts` times per slot until retired.
 */
export function launchProcesses(specs: readonly ProcessSpec[], logger: Logger, onFailure: (f: ProcessFailure) => void, maxRestarts = 0): LaunchedProcesses {
  const running = new Set<ChildProcess>();
  let retired = false;

  const runSlot = (slot: number, spec: ProcessSpec): Promise<number | null> => new Promise((resolve) => {
    let restarts = 0;
    const start = (): void => {
      const piped = spec.onLine !== undefined;
      const label = restarts === 0 ? spec.label : `${spec.label} (restart ${restarts} of ${maxRestarts})`;
      const child = spawn(spec.file, spec.args, {
        env: spec.env,
        // Its stdin stays open for its life: it closes when we go (even killed), and the worker goes with it (--stop-on-stdin-close).
        stdio: piped ? ['pipe', 'pipe', 'pipe'] : ['pipe', 'inherit', 'inherit'],
        // Their own process group: a Ctrl-C at the terminal reaches only the coordinator, which
        // finishes the step for a final checkpoint and then stops the workers itself.
        detached: true,
      });
      running.add(child);
      if (piped) for (const stream of [child.stdout, child.stderr]) if (stream) createInterface({ input: stream, crlfDelay: Infinity }).on('line', spec.onLine!);
      // The process may be gone before we close its stdin: that is not an error of ours.
      child.stdin?.on('error', () => {});
      let settled = false;
      const ended = (code: number | null, message: string | undefined): void => {
        if (settled) return;
        settled = true;
        running.delete(child);
        if (message === undefined) return resolve(code);
        const restarting = !retired && restarts < maxRestarts;
        onFailure({ slot, message, restarting });
        if (!restarting) return resolve(code);
        restarts++;
        setTimeout(() => {
          if (retired) resolve(code);
          else start();
        }, RESTART_DELAY_MS);
      };
      child.on('exit', (code, signal) => ended(code, code === 0 ? undefined : `${label} (process ${child.pid}) exited with ${code ?? signal}`));
      child.on('error', (err) => ended(1, `could not start ${label}: ${err.message}`));
      logger.log('debug', `started ${label}: process ${child.pid}`);
    };
    start();
  });

  const exited = Promise.all(specs.map((spec, slot) => runSlot(slot, spec)));
  // A restart already scheduled then does not happen: its slot settles with the failure it had.
  const retire = (): void => { retired = true; };
  return {
    exited,
    retire,
    kill: () => {
      retire();
      for (const c of running) {
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
