/**
 * gpu-check: on a host with a GPU and a Vulkan driver (or, with --tiny, on
 * lavapipe to show it works), for each GAN:
 * - the trainer's bare replica step (bareReplicaStep.js) on webgpu with
 *   tfjs's kernels alone ("before") and with the trainer's WGSL kernels
 *   ("after"): img/s and GPU dispatches and read-backs per step;
 * - `trainer coordinator --spawn` on webgpu with 1 and GPU_WORKERS workers
 *   sharing the GPU (the trainer's kernels): img/s in total and per worker,
 *   the step-time split per rank from the run's timeline;
 * - the PyTorch peer (scripts/peer.py --device cuda on a host with
 *   nvidia-smi, else cpu) on the same model and batch, and the ratios to it.
 * Prints one JSON line per measurement, then one summary line per GAN.
 *
 * GPU_ARCHS (mlp,dcgan), GPU_BATCH (per GAN: mlp 64, dcgan 256), GPU_STEPS
 * (100), GPU_WORKERS (4), PEER_PYTHON (/usr/bin/python3),
 * GPU_PYTORCH_DEVICE (cuda where nvidia-smi runs, else cpu). --tiny: batch
 * 4, 2 steps (1 warm-up), to show the script end to end on a slow adapter.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const BARE_STEP = fileURLToPath(new URL('./bareReplicaStep.js', import.meta.url));
/** peer.py stays in the source tree (tsc does not copy it): dist/scripts/ → scripts/. */
const PEER = fileURLToPath(new URL('../../scripts/peer.py', import.meta.url));
const TINY = process.argv.includes('--tiny');
const ARCHS = (process.env.GPU_ARCHS ?? 'mlp,dcgan').split(',');
const DEFAULT_BATCH: Record<string, number> = { mlp: 64, dcgan: 256 };
const STEPS = TINY ? 2 : Number(process.env.GPU_STEPS ?? 100);
const WARMUP = TINY ? 1 : Math.max(1, Math.round(STEPS / 10));
const WORKERS = Number(process.env.GPU_WORKERS ?? 4);
const PYTHON = process.env.PEER_PYTHON || '/usr/bin/python3';
const HAS_NVIDIA = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 10_000 }).status === 0;
const TORCH_DEVICE = process.env.GPU_PYTORCH_DEVICE ?? (HAS_NVIDIA ? 'cuda' : 'cpu');
// A run that takes longer than this is reported as an error, not waited on.
const TIMEOUT_MS = 600_000;
for (const [name, n] of [['GPU_STEPS', STEPS], ['GPU_WORKERS', WORKERS]] as const) {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
}
for (const arch of ARCHS) if (!(arch in DEFAULT_BATCH)) throw new Error(`GPU_ARCHS: unknown GAN ${arch} (mlp, dcgan)`);

function batchOf(arch: string): number {
  if (TINY) return 4;
  const b = Number(process.env.GPU_BATCH ?? DEFAULT_BATCH[arch]);
  if (!Number.isInteger(b) || b < 1) throw new Error('GPU_BATCH must be a positive integer');
  return b;
}

function emit(line: Record<string, unknown>): void {
  console.log(JSON.stringify({ bench: 'gpu-check', ...line }));
}

function failure(r: ReturnType<typeof spawnSync>): { error: string; exitCode: number | null } {
  const lines = String(r.stderr ?? '').trim().split('\n');
  return { error: r.error ? r.error.message : (lines.find((l) => /Error: |^trainer: /.test(l)) ?? lines.pop() ?? '').slice(0, 400), exitCode: r.status };
}

interface Trace { traceEvents: Array<{ ph: string; tid: number; cat?: string; dur?: number; args?: { step?: number } }> }

/**
 * Mean milliseconds per step in each phase, per rank, over the second half of the run (warm). A phase missing from a
 * step took no time there, so it counts as 0; `warmSteps` is how many steps the mean is over.
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

type Rate = { imagesPerSecond: number } & Record<string, unknown>;

function replicaStep(arch: string, kernels: boolean): Rate | ReturnType<typeof failure> {
  const r = spawnSync(process.execPath, [BARE_STEP, arch, 'webgpu', String(batchOf(arch)), String(WARMUP), String(STEPS), ...(kernels ? [] : ['--no-webgpu-kernels'])],
    { encoding: 'utf8', timeout: TIMEOUT_MS });
  if (r.status !== 0) return failure(r);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as Rate & { gpuWorkPerStep: Array<{ dispatches: number; readbacks: number }>; device?: string };
  return { imagesPerSecond: out.imagesPerSecond, gpuWorkPerStep: out.gpuWorkPerStep.at(-1), device: out.device };
}

function trainer(arch: string, workers: number, dir: string): Rate | ReturnType<typeof failure> {
  const out = path.join(dir, `${arch}-w${workers}`);
  const timeline = `${out}.trace.json`;
  const r = spawnSync(process.execPath, [CLI, 'coordinator', '--workers', String(workers), '--spawn', '--arch', arch, '--steps', String(STEPS),
    '--batch-size', String(batchOf(arch)), '--backend', 'webgpu', '--port', '0', '--no-metrics', '--sample-every', '0', '--timeline', timeline,
    '--log-format', 'json', '--out', out], { encoding: 'utf8', timeout: TIMEOUT_MS });
  if (r.status !== 0) return failure(r);
  const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as { imagesPerSecond: number };
  const trace = JSON.parse(readFileSync(timeline, 'utf8')) as Trace;
  return { imagesPerSecond: summary.imagesPerSecond, perWorkerImagesPerSecond: summary.imagesPerSecond / workers, stepMsSplit: stepSplit(trace, workers) };
}

function pytorch(arch: string): Rate | ReturnType<typeof failure> {
  const r = spawnSync(PYTHON, [PEER, '--arch', arch, '--batch', String(batchOf(arch)), '--warmup', String(WARMUP), '--steps', String(STEPS), '--device', TORCH_DEVICE],
    { encoding: 'utf8', timeout: TIMEOUT_MS });
  if (r.status !== 0) return failure(r);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as Rate & { torch: string };
  return { imagesPerSecond: out.imagesPerSecond, device: TORCH_DEVICE, torch: out.torch };
}

const rate = (r: object | undefined): number | undefined => (r && 'imagesPerSecond' in r ? (r as Rate).imagesPerSecond : undefined);
const ratio = (a: number | undefined, b: number | undefined): number | undefined => (a !== undefined && b !== undefined ? Number((a / b).toFixed(3)) : undefined);

const dir = mkdtempSync(path.join(os.tmpdir(), 'gpu-check-'));
let failed = 0;
try {
  for (const arch of ARCHS) {
    const common = { arch, batchPerWorker: batchOf(arch), steps: STEPS, warmup: WARMUP, tiny: TINY };
    const before = replicaStep(arch, false);
    emit({ ...common, run: 'replicaStep', kernels: 'tfjs', ...before });
    const after = replicaStep(arch, true);
    emit({ ...common, run: 'replicaStep', kernels: 'trainer', ...after });
    const runs = [1, WORKERS].map((workers) => {
      const r = trainer(arch, workers, dir);
      emit({ ...common, run: 'trainer', kernels: 'trainer', workers, ...r });
      return r;
    });
    const torch = pytorch(arch);
    emit({ ...common, run: 'pytorch', ...torch });
    failed += [before, after, ...runs, torch].filter((r) => 'error' in r).length;
    const torchRate = rate(torch);
    emit({
      ...common, run: 'summary',
      dispatchesPerStep: { tfjs: (before as { gpuWorkPerStep?: { dispatches: number } }).gpuWorkPerStep?.dispatches, trainer: (after as { gpuWorkPerStep?: { dispatches: number } }).gpuWorkPerStep?.dispatches },
      replicaStepSpeedup: ratio(rate(after), rate(before)),
      oneWorkerOverPytorch: ratio(rate(runs[0]), torchRate),
      perWorkerOverPytorch: ratio(rate(runs[1]) === undefined ? undefined : rate(runs[1])! / WORKERS, torchRate),
      replicaStepOverPytorch: { tfjs: ratio(rate(before), torchRate), trainer: ratio(rate(after), torchRate) },
    });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (failed > 0) {
  process.stderr.write(`gpu-check: ${failed} run(s) failed (the "error" fields above)\n`);
  process.exitCode = 1;
}
