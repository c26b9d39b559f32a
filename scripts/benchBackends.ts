/**
 * bench:backends — for each TensorFlow.js backend that loads here: the MLP GAN
 * at batch 64 in a bare tfjs loop and in the trainer with one worker, plus wasm
 * with tfjs's own matrix kernels (no fast path) in the same run. Prints one JSON
 * line. The DCGAN is not implemented yet, so only the MLP is measured.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const BENCH_TRAIN = fileURLToPath(new URL('./benchTrain.js', import.meta.url));
const BATCH = 64;
// cpu takes seconds per step: fewer steps there.
const STEPS: Record<string, number> = { tensorflow: 100, webgpu: 100, wasm: 60, 'wasm-default': 30, cpu: 8 };

/** The reason a child gave up: its error line, not the Node.js banner after the stack. */
function reason(stderr: string, status: number | null): string {
  const lines = stderr.trim().split('\n');
  return (lines.find((l) => /Error: |^trainer: /.test(l)) ?? `exit ${status}`).trim().slice(0, 300);
}

function bare(backend: string): { imagesPerSecond: number } | { skipped: string } {
  const r = spawnSync(process.execPath, [BENCH_TRAIN, 'bare'], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, BENCH_BACKEND: backend, BENCH_BATCH: String(BATCH), BENCH_STEPS: String(STEPS[backend]) } });
  if (r.status !== 0) return { skipped: reason(r.stderr, r.status) };
  return { imagesPerSecond: (JSON.parse(r.stdout.trim().split('\n').pop()!) as { imagesPerSecond: number }).imagesPerSecond };
}

function trainer(backend: string, dir: string): { imagesPerSecond: number } | { skipped: string } {
  const out = path.join(dir, backend);
  const r = spawnSync(process.execPath, [CLI, 'coordinator', '--workers', '1', '--spawn', '--steps', String(STEPS[backend]), '--batch-size', String(BATCH),
    '--backend', backend, '--port', '0', '--no-metrics', '--sample-every', '0', '--log-format', 'json', '--out', out], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) return { skipped: reason(r.stderr, r.status) };
  return { imagesPerSecond: (JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as { imagesPerSecond: number }).imagesPerSecond };
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-backends-'));
try {
  const results: Record<string, unknown> = {};
  for (const backend of ['tensorflow', 'webgpu', 'wasm', 'cpu']) {
    const b = bare(backend);
    const t = 'skipped' in b ? b : trainer(backend, dir);
    const ratio = 'imagesPerSecond' in b && 'imagesPerSecond' in t ? t.imagesPerSecond / b.imagesPerSecond : undefined;
    results[backend] = { steps: STEPS[backend], bare: b, trainerOneWorker: t, ...(ratio ? { trainerOverBare: ratio } : {}) };
    process.stderr.write(`${backend}: ${JSON.stringify(results[backend])}\n`);
  }
  const wasmDefault = bare('wasm-default');
  const wasm = (results.wasm as { bare: { imagesPerSecond?: number } }).bare;
  const speedup = 'imagesPerSecond' in wasmDefault && wasm.imagesPerSecond ? wasm.imagesPerSecond / wasmDefault.imagesPerSecond : undefined;
  console.log(JSON.stringify({ bench: 'backends', arch: 'mlp', batch: BATCH, cpus: os.cpus().length, results, wasmDefaultKernels: wasmDefault, wasmFastPathSpeedup: speedup }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
