/**
 * gpu-check: on a host with a GPU and a Vulkan driver, trains with `--spawn`
 * on the WebGPU backend (1 worker, then GPU_WORKERS workers sharing the GPU)
 * and runs the bare TensorFlow.js loop of the same model on the same backend.
 * Prints one JSON line: images/s per worker and in total, the step-time split
 * per rank from the run's timeline, and the adapter's name. With
 * GPU_PYTORCH_IMAGES_PER_SECOND (a PyTorch measurement of the same model and
 * batch on the same GPU) it also prints the ratio to PyTorch.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '../src/shared/gan/backend.js';
import { silentLogger } from '../src/shared/logger.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const BENCH = fileURLToPath(new URL('./benchTrain.js', import.meta.url));
const ARCH = process.env.GPU_ARCH ?? 'dcgan';
const BATCH = Number(process.env.GPU_BATCH ?? 256);
const STEPS = Number(process.env.GPU_STEPS ?? 100);
const PYTORCH = process.env.GPU_PYTORCH_IMAGES_PER_SECOND === undefined ? undefined : Number(process.env.GPU_PYTORCH_IMAGES_PER_SECOND);
const WORKERS = Number(process.env.GPU_WORKERS ?? 4);
const BACKEND = process.env.GPU_BACKEND ?? 'webgpu';

interface Trace { traceEvents: Array<{ ph: string; tid: number; cat?: string; dur?: number; args?: { step?: number } }> }

/**
 * Mean milliseconds per step in each phase, per rank, over the steps of the second half of the run (warm), chosen by
 * the step each span belongs to. A phase missing from a step took no time there (a worker records a data wait only
 * when it waited), so it counts as 0 in the mean; `warmSteps` is how many steps the mean is over.
 */
function stepSplit(trace: Trace, workers: number): Record<string, Record<string, number>> {
  const split: Record<string, Record<string, number>> = {};
  for (let rank = 0; rank < workers; rank++) {
    const warm = trace.traceEvents.filter((e) => e.ph === 'X' && e.tid === rank && (e.args?.step ?? 0) > Math.floor(STEPS / 2));
    const steps = new Set(warm.map((e) => e.args!.step));
    const per: Record<string, number> = {};
    for (const e of warm) per[e.cat!] = (per[e.cat!] ?? 0) + (e.dur ?? 0) / 1000;
    split[String(rank)] = { ...Object.fromEntries(Object.entries(per).map(([k, v]) => [k, Number((v / steps.size).toFixed(2))])), warmSteps: steps.size };
  }
  return split;
}

function run(workers: number, dir: string): Record<string, unknown> {
  const out = path.join(dir, `w${workers}`);
  const timeline = path.join(dir, `w${workers}.trace.json`);
  const r = spawnSync(process.execPath, [CLI, 'coordinator', '--workers', String(workers), '--spawn', '--arch', ARCH, '--steps', String(STEPS),
    '--batch-size', String(BATCH), '--backend', BACKEND, '--port', '0', '--metrics-port', '0', '--sample-every', '0', '--timeline', timeline,
    '--log-format', 'json', '--out', out], { encoding: 'utf8', timeout: 240_000 });
  if (r.status !== 0) throw new Error(`${workers}-worker run failed (${r.status}):\n${(r.stderr ?? '').slice(-3000)}`);
  const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as { imagesPerSecond: number; workerBackends: string[] };
  const trace = JSON.parse(readFileSync(timeline, 'utf8')) as Trace;
  const split = stepSplit(trace, workers);
  return { workers, imagesPerSecond: summary.imagesPerSecond, perWorkerImagesPerSecond: summary.imagesPerSecond / workers, stepMsSplit: split, backends: summary.workerBackends };
}

const backend = await selectBackend(BACKEND as 'webgpu', silentLogger);
const dir = mkdtempSync(path.join(os.tmpdir(), 'gpu-check-'));
const bare = spawnSync(process.execPath, [BENCH, 'bare'], { encoding: 'utf8', env: { ...process.env, BENCH_ARCH: ARCH, BENCH_BACKEND: BACKEND, BENCH_BATCH: String(BATCH), BENCH_STEPS: String(STEPS) }, timeout: 240_000 });
const bareResult = bare.status === 0 ? JSON.parse(bare.stdout.trim().split('\n').pop()!) as { imagesPerSecond: number } : { error: bare.stderr.slice(-1500) };
const results = [run(1, dir), run(WORKERS, dir)];
const best = Math.max(...results.map((r) => r.imagesPerSecond as number));
const pytorch = PYTORCH === undefined ? {} : { pytorchImagesPerSecond: PYTORCH, pytorchOverTrainer: PYTORCH / best };
console.log(JSON.stringify({ bench: 'gpu-check', arch: ARCH, backend: backend.name, adapter: backend.device ?? '', batchPerWorker: BATCH, steps: STEPS, bare: bareResult, runs: results, ...pytorch }));
