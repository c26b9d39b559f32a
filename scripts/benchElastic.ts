/**
 * bench:elastic — what losing and admitting a worker costs. A coordinator with
 * --workers 3 --min-workers 2 trains the MLP GAN; one worker kills itself
 * (SIGKILL) in the middle of a generator all-reduce; once the run goes on with
 * two, a fresh worker starts and is admitted. Measures, from the coordinator's
 * log and summary.json: time from the death to the loss being noticed and to
 * the next completed step, completed steps lost, steps redone (from the
 * survivors' own rollback records), and the bytes of state sent to the joiner.
 * Prints one JSON line on stdout; a figure that was not measured is left out.
 *
 * BENCH_WORKER_TIMEOUT (s, default 10, the flag's default), BENCH_HEARTBEAT (s, default 1),
 * BENCH_BATCH (default 16), BENCH_KILL_STEP (default 20).
 *
 * BENCH_LAUNCHED=1: the coordinator launches the workers itself (--spawn --max-restarts 1);
 * the bench kills worker 1 with SIGKILL once step BENCH_KILL_STEP is done, and the restarted
 * worker is the joiner. The launcher reports the death, so no --worker-timeout is waited out.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Summary } from '../src/coordinator/summary.js';
import { jsonRecords } from '../src/cli/logFormat.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const WORKER_TIMEOUT = Number(process.env.BENCH_WORKER_TIMEOUT ?? 10);
const HEARTBEAT = Number(process.env.BENCH_HEARTBEAT ?? 1);
const BATCH = Number(process.env.BENCH_BATCH ?? 16);
const KILL_STEP = Number(process.env.BENCH_KILL_STEP ?? 20);
const STEPS = 400;
if (!Number.isInteger(KILL_STEP) || KILL_STEP < 2 || KILL_STEP >= STEPS) throw new Error(`BENCH_KILL_STEP must be an integer in [2, ${STEPS}), got ${process.env.BENCH_KILL_STEP}`);
const LAUNCHED = process.env.BENCH_LAUNCHED === '1';
const PORT = 26000 + Math.floor(Math.random() * 5000);

interface Proc { child: ChildProcess; out: string[]; exited: Promise<{ code: number | null; at: number }> }

function start(args: string[]): Proc {
  const child = spawn(process.execPath, [CLI, ...args, '--log-format', 'json', '--no-metrics'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  child.stdout!.on('data', (d: Buffer) => out.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => out.push(d.toString()));
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.on('exit', (code) => resolve({ code, at: Date.now() })));
  return { child, out, exited };
}

const records = (p: Proc): Array<Record<string, unknown>> => jsonRecords(p.out.join(''));
const timeOf = (r: Record<string, unknown> | undefined): number => Date.parse(String(r?.time));

async function until(cond: () => boolean, what: string, ms = 300_000): Promise<void> {
  for (const t0 = Date.now(); !cond();) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Kills the launched worker of slot 1 (it asked for rank 1) once step KILL_STEP is done. */
async function killLaunched(coordinator: Proc): Promise<{ code: number | null; at: number }> {
  await until(() => records(coordinator).some((r) => r.msg === 'step' && Number(r.step) >= KILL_STEP), `step ${KILL_STEP}`);
  const pid = Number(execFileSync('pgrep', ['-f', '--', `--coordinator tcp://127.0.0.1:${PORT} .*--rank 1 `], { encoding: 'utf8' }).trim().split('\n')[0]);
  process.kill(pid, 'SIGKILL');
  return { code: null, at: Date.now() };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-elastic-'));
  const worker = (extra: string[] = []): Proc => start(['worker', '--coordinator', `tcp://127.0.0.1:${PORT}`, '--advertise', '127.0.0.1', '--bind-host', '127.0.0.1', '--backend', 'wasm', ...extra]);
  const coordinator = start(['coordinator', '--workers', '3', '--min-workers', '2', '--steps', String(STEPS), '--batch-size', String(BATCH), '--port', String(PORT), '--bind', '127.0.0.1',
    '--out', dir, '--sample-every', '0', '--checkpoint-every', '0', '--log-every', '1', '--heartbeat-interval', String(HEARTBEAT), '--worker-timeout', String(WORKER_TIMEOUT), '--timeout', String(WORKER_TIMEOUT * 6),
    ...(LAUNCHED ? ['--spawn', '--max-restarts', '1', '--backend', 'wasm'] : [])]);
  const workers = LAUNCHED ? [] : [worker(), worker(['--fault-kill-step', String(KILL_STEP)]), worker()];
  let joiner: Proc | undefined;
  try {
    const death = LAUNCHED ? await killLaunched(coordinator) : await workers[1]!.exited;
    process.stderr.write(`worker died at step ${KILL_STEP}; waiting for the next generation\n`);
    await until(() => records(coordinator).some((r) => /^generation 2: first step done/.test(String(r.msg))), 'the run to go on');
    // Launched: the coordinator starts the dead worker again by itself.
    if (!LAUNCHED) joiner = worker();
    const ended = await coordinator.exited;
    if (ended.code !== 0) throw new Error(`coordinator exited ${ended.code}: ${coordinator.out.join('').slice(-2000)}`);
    const summary = JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8')) as Summary;
    const logs = records(coordinator);
    const lost = logs.find((r) => r.level === 'warn' && / lost: /.test(String(r.msg)));
    const firstAfter = logs.find((r) => /^generation 2: first step done/.test(String(r.msg)));
    const steps = logs.filter((r) => r.msg === 'step');
    // Steps 4 .. KILL_STEP - 2: past the warm-up, before the death. Too few of them (an early kill): no rate is reported.
    const before = steps.filter((r) => Number(r.step) < KILL_STEP - 1 && Number(r.step) > 3).map(timeOf);
    // Survivors roll back to their last completed step C; steps loss.step+1 .. C+1 (C+1 half done) are computed again.
    const rolledBackTo = workers.filter((w) => w !== workers[1]).flatMap((w) => records(w))
      .filter((r) => /abandoned by the coordinator; rolled back to step/.test(String(r.msg))).map((r) => Number(r.step));
    const [loss, join] = summary.membership.changes;
    if (!loss || !join) throw new Error(`expected a loss and a join, got ${JSON.stringify(summary.membership)}`);
    process.stdout.write(`${JSON.stringify({
      bench: 'elastic', launched: LAUNCHED, arch: 'mlp', backend: 'wasm', workers: 3, minWorkers: 2, batchSize: BATCH, workerTimeoutS: WORKER_TIMEOUT, heartbeatS: HEARTBEAT,
      ...(before.length >= 2 ? { msPerStepBefore: (before.at(-1)! - before[0]!) / (before.length - 1) } : {}),
      // Launched: killed at some moment after step KILL_STEP completed, not inside a chosen all-reduce.
      ...(LAUNCHED ? { killedAfterStep: KILL_STEP } : { killedInStep: KILL_STEP }),
      deathToLossNoticedMs: timeOf(lost) - death.at,
      deathToNextStepMs: timeOf(firstAfter) - death.at,
      noticedToNewGenerationMs: loss.pauseMs,
      noticedToNextStepMs: loss.recoveryMs,
      resumedAfterStep: loss.step,
      completedStepsLost: loss.stepsLost,
      // Launched workers' logs go to the coordinator's launcher, not here: what the survivors redid is not seen.
      ...(rolledBackTo.length > 0 ? { stepsRedone: Math.max(...rolledBackTo) + 1 - loss.step } : {}),
      stateBytesToSurvivors: loss.stateBytes,
      joinedAfterStep: join.step,
      stateBytesToJoiner: join.stateBytes,
      joinPauseMs: join.pauseMs,
      joinToNextStepMs: join.recoveryMs,
      // The coordinator compared every replica's hash at the last step; the run fails if they differ.
      finalReplicaHash: summary.replicaHash,
      generations: summary.membership.generations,
    })}\n`);
  } finally {
    for (const p of [coordinator, ...workers, ...(joiner ? [joiner] : [])]) p.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
