/**
 * bench:compression — the same 2-worker MLP run (BENCH_STEPS, default 200; batch 64 per worker; the
 * default backend) with --compression none, fp16 and bf16: the mean losses of the last quarter of the
 * steps, MNIST-FID at the end (--eval-every BENCH_STEPS, BENCH_EVAL_COUNT images), the workers' median
 * step, all-reduce and bytes sent per step, and each 16-bit run's difference from the float32 run.
 * The yardstick for those differences is a float32 run with another seed (seed 43): how far two
 * equally good runs land apart. Prints one JSON line on stdout.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonRecords } from '../src/cli/logFormat.js';
import type { Summary } from '../src/coordinator/summary.js';
import { COMPRESSIONS } from '../src/shared/config.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const STEPS = process.env.BENCH_STEPS ?? '200';
const EVAL_COUNT = process.env.BENCH_EVAL_COUNT ?? '2000';
const BACKEND = process.env.BENCH_BACKEND ?? 'auto';

function run(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b: Buffer) => { output += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { output += b.toString(); });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, output }));
  });
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-compression-'));
try {
  const runs = [];
  const variants = [...COMPRESSIONS.map((compression) => ({ compression, seed: 42 })), { compression: 'none' as const, seed: 43 }];
  for (const { compression, seed } of variants) {
    const out = path.join(dir, `${compression}-${seed}`);
    process.stderr.write(`--compression ${compression} --seed ${seed}...\n`);
    const r = await run([CLI, 'coordinator', '--workers', '2', '--spawn', '--steps', STEPS, '--batch-size', '64', '--arch', 'mlp', '--backend', BACKEND,
      '--compression', compression, '--seed', String(seed), '--log-every', '1', '--eval-every', STEPS, '--eval-count', EVAL_COUNT, '--port', '0', '--no-metrics', '--sample-every', '0', '--log-format', 'json', '--out', out]);
    if (r.code !== 0) throw new Error(`--compression ${compression} exited with ${r.code}:\n${r.output.slice(-2000)}`);
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as Summary;
    const fid = summary.evaluation?.history.at(-1)?.fid;
    if (fid === undefined) throw new Error(`--compression ${compression}: no MNIST-FID in summary.json`);
    const records = jsonRecords(r.output);
    const last = records.filter((x) => x.component === 'coordinator' && x.msg === 'step' && Number(x.step) > (Number(STEPS) * 3) / 4);
    const mean = (k: string): number => last.reduce((sum, x) => sum + Number(x[k]), 0) / last.length;
    const timing = records.filter((x) => x.msg === 'training finished' && x.component === 'worker').map((x) => x.timing as Record<string, number>);
    const med = (k: string): number => timing.reduce((s, t) => s + t[k]!, 0) / timing.length;
    runs.push({
      compression, seed, backend: summary.backend, lastQuarterMeanLoss: { d: mean('dLoss'), g: mean('gLoss'), steps: last.length }, fid, imagesPerSecond: summary.imagesPerSecond,
      // Means over the two workers of each one's median over its steps.
      stepMs: med('medianStepMs'), computeMs: med('medianComputeMs'), allreduceMs: med('medianReduceMs'), peerWaitMs: med('medianPeerWaitMs'), sentBytesPerStep: med('medianSentBytes'),
    });
  }
  const fp32 = runs[0]!;
  const relative = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);
  const versusFp32 = runs.slice(1).map((r) => ({
    run: r.seed === fp32.seed ? r.compression : `none, seed ${r.seed}`,
    dLossRelDiff: relative(r.lastQuarterMeanLoss.d, fp32.lastQuarterMeanLoss.d), gLossRelDiff: relative(r.lastQuarterMeanLoss.g, fp32.lastQuarterMeanLoss.g), fidRelDiff: relative(r.fid, fp32.fid),
  }));
  console.log(JSON.stringify({ bench: 'compression', arch: 'mlp', workers: 2, batchPerWorker: 64, steps: Number(STEPS), evalCount: Number(EVAL_COUNT), cpus: os.cpus().length, runs, versusFp32 }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
