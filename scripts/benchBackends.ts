/**
 * bench:backends — for each TensorFlow.js backend that loads here and each
 * architecture: images/s at batch 64 in a bare tfjs loop and in the trainer
 * with one worker; wasm also with tfjs's own kernels (no fast paths) in the same
 * run, and the step's effective GFLOP/s against the plain matrix product's;
 * on webgpu also the trainer's bare replica step with its GPU dispatches and
 * read-backs per step.
 * Prints one JSON line; progress on stderr.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { archSpecs } from '../src/shared/gan/archs.js';
import { stepFlops } from './stepFlops.js';

const SELF = fileURLToPath(import.meta.url);
const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const BENCH_TRAIN = fileURLToPath(new URL('./benchTrain.js', import.meta.url));
const BARE_STEP = fileURLToPath(new URL('./bareReplicaStep.js', import.meta.url));
const BATCH = 64;
const ARCHS = ['mlp', 'dcgan'] as const;
type Arch = (typeof ARCHS)[number];
// Steps per run: a few seconds to a minute or two each.
const STEPS: Record<Arch, Record<string, number>> = {
  mlp: { tensorflow: 100, webgpu: 100, wasm: 60, 'wasm-default': 30, cpu: 8 },
  dcgan: { tensorflow: 50, webgpu: 50, wasm: 20, 'wasm-default': 8, cpu: 0 },
};
// Measured once (scripts in the issue note): one Conv2DBackpropFilter of the DCGAN at batch 64 takes about two minutes on cpu.
const NOT_RUN: Record<string, string> = { 'dcgan/cpu': 'not run: the cpu backend needs about 2 minutes per convolution filter gradient at batch 64, several per step' };

/** The reason a child gave up: its error line, not the Node.js banner after the stack. */
function reason(stderr: string, status: number | null): string {
  const lines = stderr.trim().split('\n');
  return (lines.find((l) => /Error: |^trainer: /.test(l)) ?? `exit ${status}`).trim().slice(0, 300);
}

/**
 * A measurement, or why there is none: `unavailable` (the backend does not load on this host), `notRun` (left out
 * on purpose) or `error` (it crashed or timed out: the bench then exits non-zero).
 */
type Rate = { imagesPerSecond: number } | { unavailable: string } | { notRun: string } | { error: string; exitCode: number | null };
const measured = (r: Rate): r is { imagesPerSecond: number } => 'imagesPerSecond' in r;
const crashed = (r: unknown): boolean => typeof r === 'object' && r !== null && 'error' in r;

function failure(r: ReturnType<typeof spawnSync>): Rate {
  return { error: r.error ? r.error.message : reason(String(r.stderr), r.status), exitCode: r.status };
}

function bare(arch: Arch, backend: string): Rate {
  const r = spawnSync(process.execPath, [BENCH_TRAIN, 'bare'], { encoding: 'utf8', timeout: 600_000,
    env: { ...process.env, BENCH_ARCH: arch, BENCH_BACKEND: backend, BENCH_BATCH: String(BATCH), BENCH_STEPS: String(STEPS[arch][backend]) } });
  if (r.status !== 0) return failure(r);
  const line = JSON.parse(r.stdout.trim().split('\n').pop()!) as { imagesPerSecond?: number; unavailable?: string };
  return line.unavailable !== undefined ? { unavailable: line.unavailable } : { imagesPerSecond: line.imagesPerSecond! };
}

function trainer(arch: Arch, backend: string, dir: string): Rate {
  const out = path.join(dir, `${arch}-${backend}`);
  const r = spawnSync(process.execPath, [CLI, 'coordinator', '--workers', '1', '--spawn', '--arch', arch, '--steps', String(STEPS[arch][backend]), '--batch-size', String(BATCH),
    '--backend', backend, '--port', '0', '--no-metrics', '--sample-every', '0', '--log-format', 'json', '--out', out], { encoding: 'utf8', timeout: 600_000 });
  // The bare loop loaded this backend, so the trainer failing is a crash, not an absence.
  if (r.status !== 0) return failure(r);
  return { imagesPerSecond: (JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as { imagesPerSecond: number }).imagesPerSecond };
}

type GpuWork = { imagesPerSecond: number; gpuWorkPerStep: Array<{ dispatches: number; readbacks: number }> } | { error: string; exitCode: number | null };

/** The trainer's replica step alone on webgpu (1 untimed step, then STEPS/10 timed ones): img/s and each timed step's dispatches and read-backs. */
function gpuWork(arch: Arch): GpuWork {
  const steps = String(Math.max(1, Math.round(STEPS[arch].webgpu! / 10)));
  const r = spawnSync(process.execPath, [BARE_STEP, arch, 'webgpu', String(BATCH), '1', steps], { encoding: 'utf8', timeout: 600_000 });
  // The bare loop loaded webgpu, so a failure here is a crash, reported as one.
  if (r.status !== 0) return failure(r) as GpuWork;
  const { imagesPerSecond, gpuWorkPerStep } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { imagesPerSecond: number; gpuWorkPerStep: [] };
  return { imagesPerSecond, gpuWorkPerStep };
}

/** GFLOP/s of the wasm matrix product on the shapes each model's steps use, fresh operands every call as in training. */
async function plainProduct(): Promise<void> {
  const { selectBackend } = await import('../src/shared/gan/backend.js');
  const { tf } = await import('../src/shared/gan/tf.js');
  const { silentLogger } = await import('../src/shared/logger.js');
  await selectBackend('wasm', silentLogger);
  const shapes: Record<Arch, [number, number, number]> = { mlp: [BATCH, 784, 512], dcgan: [BATCH * 49, 1024, 128] };
  const out: Record<string, number> = {};
  for (const arch of ARCHS) {
    const [m, k, n] = shapes[arch];
    let ms = 0;
    for (let i = 0; i < 11; i++) {
      const a = tf.randomNormal([m, k]);
      const b = tf.randomNormal([k, n]);
      const t0 = performance.now();
      const c = tf.matMul(a, b);
      c.dataSync();
      if (i > 0) ms += performance.now() - t0;
      tf.dispose([a, b, c]);
    }
    out[arch] = (2 * m * k * n * 10) / ms / 1e6;
  }
  console.log(JSON.stringify(out));
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-backends-'));
  try {
    const results: Record<string, Record<string, unknown>> = { mlp: {}, dcgan: {} };
    const product = spawnSync(process.execPath, [SELF, 'product'], { encoding: 'utf8', timeout: 120_000 });
    const gflops = product.status === 0 ? JSON.parse(product.stdout.trim().split('\n').pop()!) as Record<Arch, number> : undefined;
    const productError = product.status === 0 ? undefined : failure(product);
    for (const arch of ARCHS) {
      for (const backend of ['tensorflow', 'webgpu', 'wasm', 'cpu']) {
        const notRun = NOT_RUN[`${arch}/${backend}`];
        const b: Rate = notRun ? { notRun } : bare(arch, backend);
        const t = measured(b) ? trainer(arch, backend, dir) : undefined;
        const ratio = measured(b) && t && measured(t) ? t.imagesPerSecond / b.imagesPerSecond : undefined;
        const replicaStep = backend === 'webgpu' && measured(b) ? { replicaStep: gpuWork(arch) } : {};
        results[arch]![backend] = { steps: STEPS[arch][backend], bare: b, ...(t ? { trainerOneWorker: t } : {}), ...(ratio ? { trainerOverBare: ratio } : {}), ...replicaStep };
        process.stderr.write(`${arch} ${backend}: ${JSON.stringify(results[arch]![backend])}\n`);
      }
      const wasm = (results[arch]!.wasm as { bare: Rate }).bare;
      const wasmDefault = bare(arch, 'wasm-default');
      const specs = archSpecs(arch, 100);
      const flops = stepFlops(specs.generator, specs.discriminator, BATCH);
      const fast = measured(wasm) ? wasm.imagesPerSecond : undefined;
      results[arch]!.wasmFastPaths = {
        defaultKernels: wasmDefault,
        speedup: fast && measured(wasmDefault) ? fast / wasmDefault.imagesPerSecond : undefined,
        stepGflop: flops / 1e9,
        stepEffectiveGflopPerSecond: fast ? (flops * fast) / BATCH / 1e9 : undefined,
        plainProductGflopPerSecond: gflops?.[arch] ?? productError,
        stepOverPlainProduct: fast && gflops ? (flops * fast) / BATCH / 1e9 / gflops[arch] : undefined,
      };
      process.stderr.write(`${arch} wasm fast paths: ${JSON.stringify(results[arch]!.wasmFastPaths)}\n`);
    }
    console.log(JSON.stringify({ bench: 'backends', batch: BATCH, cpus: os.cpus().length, results }));
    const crashes = Object.values(results).flatMap((byBackend) => Object.values(byBackend)).flatMap((r) => Object.values(r as object)).filter(crashed);
    if (crashes.length > 0 || productError) {
      process.stderr.write(`bench:backends: ${crashes.length + (productError ? 1 : 0)} run(s) crashed (the "error" fields above)\n`);
      process.exitCode = 1;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'product') await plainProduct();
else await main();
