/**
 * bench:peer — the trainer against PyTorch on the same core. For each architecture, in one
 * invocation, every process pinned to the same CPU (taskset): scripts/peer.py (the same GAN in
 * PyTorch, one thread), the trainer's bare replica step (scripts/bareReplicaStep), and a 1-worker
 * `trainer coordinator --spawn` run, for each backend in BENCH_BACKENDS. Prints one JSON line per
 * architecture: img/s of each (warm-up steps excluded everywhere), the ratios to PyTorch, and the
 * 1-worker run over the bare step. Settings: scripts/peerSettings.ts. Progress goes to stderr.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Arch, BackendName } from '../src/shared/config.js';
import { bundledMnistDir } from '../src/shared/data/dataset.js';
import { jsonRecords } from '../src/cli/logFormat.js';
import { type PeerSettings, peerSettings } from './peerSettings.js';
import { runImagesPerSecond } from './runThroughput.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const BARE = fileURLToPath(new URL('./bareReplicaStep.js', import.meta.url));
/** peer.py stays in the source tree (tsc does not copy it): dist/scripts/ → scripts/. */
const PEER = fileURLToPath(new URL('../../scripts/peer.py', import.meta.url));
/** peer.py's exit status when torch does not import. */
const NO_TORCH = 3;
const INSTALL = 'apt-get install python3-torch libopenblas0-pthread';
/** No measurement here takes more than minutes; a hung child must not hang the bench. */
const CHILD_TIMEOUT_MS = 30 * 60_000;

interface Output {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command` pinned to the core; one BLAS/OpenMP thread whatever the libraries would pick. */
function pinned(s: PeerSettings, command: string[]): Promise<Output> {
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', String(s.core), ...command], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

function lastJson(what: string, r: Output): Record<string, unknown> {
  if (r.code !== 0) throw new Error(`${what} exited with ${r.code}:\n${r.stderr.slice(-2000)}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new Error(`${what} printed no JSON result:\n${r.stdout.slice(-1000)}${r.stderr.slice(-1000)}`);
  }
}

/** torch imports and which BLAS it loaded; exits with the packages to install when it does not import. */
function checkPeer(s: PeerSettings): Record<string, unknown> {
  const r = spawnSync(s.python, [PEER, '--check'], { encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw new Error(`cannot run ${s.python} (PEER_PYTHON): ${r.error.message}`);
  if (r.status === NO_TORCH) {
    console.error(`bench:peer: ${s.python} cannot import torch; install PyTorch and OpenBLAS with:`);
    console.error(INSTALL);
    process.exit(2);
  }
  const info = lastJson(`${s.python} ${PEER} --check`, { code: r.status, stdout: r.stdout, stderr: r.stderr });
  if (info.referenceBlas === true) {
    console.error(`bench:peer: WARNING: torch runs on the reference BLAS (${String(info.blas)}), many times slower than OpenBLAS: ${INSTALL}`);
  }
  return info;
}

async function pytorch(s: PeerSettings, arch: Arch): Promise<Record<string, unknown>> {
  const mnist = path.join(bundledMnistDir(), 'train-images-idx3-ubyte');
  return lastJson('peer.py', await pinned(s, [s.python, PEER, '--arch', arch, '--batch', String(s.batch), '--warmup', String(s.warmup[arch]), '--steps', String(s.steps[arch]), '--mnist', mnist]));
}

async function bareStep(s: PeerSettings, arch: Arch, backend: BackendName): Promise<{ backend: string; imagesPerSecond: number }> {
  const r = lastJson(`bare replica step (${backend})`, await pinned(s, [process.execPath, BARE, arch, backend, String(s.batch), String(s.warmup[arch]), String(s.steps[arch])]));
  return { backend: String(r.backend), imagesPerSecond: Number(r.imagesPerSecond) };
}

/** A 1-worker run; its backend from summary.json, its throughput from the step records after the warm-up. */
async function oneWorkerRun(s: PeerSettings, arch: Arch, backend: BackendName, dir: string): Promise<{ backend: string; imagesPerSecond: number }> {
  const out = path.join(dir, `${arch}-${backend}`);
  const total = s.warmup[arch] + s.steps[arch];
  const r = await pinned(s, [process.execPath, CLI, 'coordinator', '--workers', '1', '--spawn', '--steps', String(total), '--batch-size', String(s.batch),
    '--arch', arch, '--backend', backend, '--port', '0', '--no-metrics', '--sample-every', '0', '--log-every', '1', '--log-format', 'json', '--out', out]);
  if (r.code !== 0) throw new Error(`1-worker run (${backend}) exited with ${r.code}:\n${r.stderr.slice(-2000)}`);
  const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as { workerBackends: string[]; steps: number };
  if (summary.steps !== total) throw new Error(`the 1-worker run trained ${summary.steps} steps, expected ${total}`);
  return { backend: summary.workerBackends.join(','), imagesPerSecond: runImagesPerSecond(jsonRecords(r.stdout + r.stderr), s.batch, s.warmup[arch], s.steps[arch]) };
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

async function main(): Promise<void> {
  let s: PeerSettings;
  try {
    s = peerSettings(process.env);
  } catch (err) {
    console.error(`bench:peer: ${(err as Error).message}`);
    process.exit(2);
  }
  const taskset = spawnSync('taskset', ['-c', String(s.core), 'true']);
  if (taskset.error || taskset.status !== 0) {
    console.error(`bench:peer: cannot pin to core ${s.core} with taskset (util-linux; BENCH_CORE picks another core): ${taskset.error?.message ?? taskset.stderr.toString().trim()}`);
    process.exit(2);
  }
  const peer = checkPeer(s);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-peer-'));
  try {
    for (const arch of s.archs) {
      const torch = await pytorch(s, arch);
      const torchRate = Number(torch.imagesPerSecond);
      process.stderr.write(`${arch}: PyTorch ${torchRate.toFixed(0)} img/s\n`);
      const trainer = [];
      for (const requested of s.backends) {
        const bare = await bareStep(s, arch, requested);
        process.stderr.write(`${arch}: bare replica step (${bare.backend}) ${bare.imagesPerSecond.toFixed(0)} img/s\n`);
        const run = await oneWorkerRun(s, arch, requested, dir);
        process.stderr.write(`${arch}: 1-worker run (${run.backend}) ${run.imagesPerSecond.toFixed(0)} img/s\n`);
        trainer.push({
          requested, backend: run.backend, bareStepBackend: bare.backend,
          bareStepImagesPerSecond: round(bare.imagesPerSecond, 1), oneWorkerImagesPerSecond: round(run.imagesPerSecond, 1),
          oneWorkerVsPytorch: round(run.imagesPerSecond / torchRate, 3), bareStepVsPytorch: round(bare.imagesPerSecond / torchRate, 3),
          oneWorkerVsBareStep: round(run.imagesPerSecond / bare.imagesPerSecond, 3),
        });
      }
      console.log(JSON.stringify({
        bench: 'peer', arch, batch: s.batch, warmupSteps: s.warmup[arch], steps: s.steps[arch], core: s.core, cpus: os.cpus().length, data: torch.data,
        pytorch: { imagesPerSecond: round(torchRate, 1), torch: peer.torch, threads: torch.threads, blas: peer.blas, referenceBlas: peer.referenceBlas },
        trainer,
      }));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (err) {
  console.error(`bench:peer: ${(err as Error).message}`);
  process.exit(1);
}
