/**
 * bench:multihost — step and all-reduce times of 4 workers on 4 network-namespace
 * hosts (scripts/multihost.sh), ring and star, on links capped at 0.1, 1 and 10 Gbit/s
 * and uncapped, and the link rate the all-reduce reached against the cap; each with the
 * --compression modes of BENCH_COMPRESSIONS (default none; e.g. none,fp16,bf16).
 * BENCH_ALLREDUCE picks the modes (default ring,star), BENCH_RATES the caps.
 * MLP, wasm, batch BENCH_BATCH (16) per worker, BENCH_STEPS (40) steps per run. Needs root.
 * Prints one JSON line on stdout; progress goes to stderr.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../scripts/multihost.sh', import.meta.url));
const STEPS = process.env.BENCH_STEPS ?? '40';
const BATCH = process.env.BENCH_BATCH ?? '16';
// 100 Mbit/s: a cap low enough to bind the ring on this 2-core machine, where compute and TCP on CPU cap it near 0.5 Gbit/s.
const RATES = (process.env.BENCH_RATES ?? '100mbit,1gbit,10gbit,none').split(',');
const ALLREDUCE = (process.env.BENCH_ALLREDUCE ?? 'ring,star').split(',');
const COMPRESSIONS = (process.env.BENCH_COMPRESSIONS ?? 'none').split(',');

const runs = [];
for (const allreduce of ALLREDUCE) {
  for (const rate of RATES) for (const compression of COMPRESSIONS) {
    const out = mkdtempSync(path.join(os.tmpdir(), 'bench-multihost-'));
    process.stderr.write(`${allreduce} at ${rate}, --compression ${compression}...\n`);
    const stdout = execFileSync(SCRIPT, ['--workers', '4', '--allreduce', allreduce, '--steps', STEPS, '--batch-size', BATCH, '--out', out,
      ...(rate === 'none' ? [] : ['--rate', rate]), '--', '--compression', compression], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    runs.push({
      allreduce, rate, compression, stepMs: r.stepMs, computeMs: r.computeMs, allreduceMs: r.allreduceMs, allreduceWireMs: r.allreduceWireMs ?? null,
      sentBytesPerStep: r.sentBytesPerStep, linkGbps: r.linkGbps, ofCap: r.ofCap ?? null, imagesPerSecond: r.imagesPerSecond, replicasIdentical: r.replicasIdentical,
    });
  }
}
process.stdout.write(`${JSON.stringify({ bench: 'multihost', workers: 4, arch: 'mlp', backend: 'wasm', batchPerWorker: Number(BATCH), steps: Number(STEPS), cpus: os.cpus().length, runs })}\n`);
