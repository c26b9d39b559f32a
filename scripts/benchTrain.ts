/**
 * bench:train — images/s of the GAN (BENCH_ARCH, default mlp; batch 64 per worker, wasm) with 1 and
 * with 2 spawned workers in the same run, the scaling efficiency, the same step
 * (the replica's own, on the same data) in a bare loop (no coordinator, sockets or all-reduce), and the
 * peak resident memory of the coordinator (full 60k training set) and workers,
 * and what metrics, timeline and sample grids cost (2 workers with and without).
 * What the host itself allows 2 ranks, with none of the trainer's machinery: two bare loops at once
 * (apart: what sharing the cores and memory costs) and two in lockstep (each on its half of the batch,
 * averaging gradients through a shared segment with the workers' own shared-memory all-reduce and
 * barrier: what synchronous data parallelism costs here). Their ratios to twice one bare loop are the
 * ceilings the 2-worker scaling efficiency is measured against.
 * BENCH_ALLREDUCE passes --allreduce to the distributed runs (default: the coordinator's, auto).
 * Prints one JSON line on stdout; progress goes to stderr.
 *
 * Throughput is counted two ways, the same way everywhere: images over the wall time of all steps,
 * first step included, from the moment the models exist; and in the steady state, images over the
 * wall time of the steps after the first BENCH_WARMUP (default 20), where start-up (the first
 * kernels, the first all-reduce's connections, two processes loading at once on two cores) no
 * longer counts. Scaling efficiency is reported both ways; the steady one is the usual definition.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initialWeights } from '../src/shared/gan/architecture.js';
import { archSpecs } from '../src/shared/gan/archs.js';
import { GanReplica, type GradientsInto } from '../src/shared/gan/replica.js';
import { type Reduce, trainStep } from '../src/shared/gan/trainStep.js';
import { DataFeeder } from '../src/shared/data/dataFeeder.js';
import { loadTrainingSet } from '../src/shared/data/dataset.js';
import { stepsPerEpoch } from '../src/shared/data/sharding.js';
import { trainConfig } from '../test/fixtures/trainConfig.js';
import { selectBackend } from '../src/shared/gan/backend.js';
import { tf } from '../src/shared/gan/tf.js';
import { silentLogger } from '../src/shared/logger.js';
import { ConfigError } from '../src/shared/errors.js';
import { ARCHS, type Arch, type BackendName, DEFAULT_EMA_DECAY } from '../src/shared/config.js';
import { jsonRecords } from '../src/cli/logFormat.js';
import { median } from '../src/worker/stepStats.js';
import { STEP_RECORDS_FILE } from '../src/coordinator/stepRecords.js';
import { sharedCoreFlags } from '../src/coordinator/sharedCores.js';
import { SharedMemoryGeneration, barrierWord, loadSharedMemory } from '../src/shared/transport/sharedMemory.js';
import { errorMessage } from '../src/shared/errors.js';

const SELF = fileURLToPath(import.meta.url);
const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const STEPS = Number(process.env.BENCH_STEPS ?? 200);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 20);
if (!(Number.isInteger(WARMUP) && WARMUP >= 1 && WARMUP < STEPS)) throw new Error(`BENCH_WARMUP must be an integer from 1 to BENCH_STEPS - 1, got ${process.env.BENCH_WARMUP}`);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BATCH = Number(process.env.BENCH_BATCH ?? 64);
// 'wasm-default': the wasm backend with tfjs's own matrix kernels, for bench:backends.
const BACKEND_ENV = process.env.BENCH_BACKEND ?? 'wasm';
const BACKEND = (BACKEND_ENV === 'wasm-default' ? 'wasm' : BACKEND_ENV) as BackendName;
const ARCH = (process.env.BENCH_ARCH ?? 'mlp') as Arch;
const ALLREDUCE = process.env.BENCH_ALLREDUCE ? ['--allreduce', process.env.BENCH_ALLREDUCE] : [];
if (!ARCHS.includes(ARCH)) throw new Error(`BENCH_ARCH must be one of ${ARCHS.join(', ')}`);
const LATENT = 100;
const MB = 1e6;

/**
 * The worker's own step with nothing around it: GanReplica and trainStep on real MNIST batches, as one worker
 * trains them, with the identity for the all-reduce (one rank) and no coordinator, sockets or messages. So
 * `machineryOverhead` compares the same work with and without the distributed machinery.
 */
/** One of two bare loops in lockstep: its rank, and the shared segment both map. */
interface Lockstep {
  rank: number;
  segment: string;
}

/**
 * The workers' shared-memory all-reduce between the two lockstep loops: their SharedMemoryGeneration, with
 * the segment's barrier and no peer link (a worker's link carries only fallback barriers, not needed here).
 */
function lockstepReduce({ rank, segment }: Lockstep, capacity: number): { reduce: Reduce; gradientsInto: GradientsInto } {
  const addon = loadSharedMemory();
  const word = barrierWord(addon);
  if (!word) throw new ConfigError('the native addon has no shared-memory barrier: rebuild it with npm run build:native');
  const generation = new SharedMemoryGeneration(addon, segment, rank, 2, capacity, silentLogger, word);
  const noMessages = (): Promise<never> => Promise.reject(new Error('the lockstep loops meet at the segment\'s barrier, never by message'));
  const link = { timeoutMs: 60_000, assertLive: () => undefined, send: noMessages, recv: noMessages };
  return {
    reduce: (step, phase, grads, times) => generation.reduce(grads, link, step, phase, times),
    gradientsInto: (length) => generation.nextSlot(length),
  };
}

async function bareLoop(lockstep?: Lockstep): Promise<void> {
  let backend: Awaited<ReturnType<typeof selectBackend>>;
  try {
    backend = await selectBackend(BACKEND, silentLogger, { wasmFastPath: BACKEND_ENV !== 'wasm-default' });
  } catch (err) {
    // A backend this host cannot load is not a failure of the bench: say so, and measure nothing.
    if (!(err instanceof ConfigError)) throw err;
    process.stdout.write(`${JSON.stringify({ arch: ARCH, backend: BACKEND_ENV, unavailable: err.message })}\n`);
    return;
  }
  const data = loadTrainingSet();
  // The worker's step as the CLI's defaults make it, the generator's weight average included.
  const world = lockstep ? 2 : 1;
  const config = trainConfig({ arch: ARCH, latentDim: LATENT, batchSize: BATCH, world, steps: STEPS, stepsPerEpoch: stepsPerEpoch(data.count, BATCH * world), emaDecay: DEFAULT_EMA_DECAY });
  const feeder = new DataFeeder(data, config);
  const specs = archSpecs(ARCH, LATENT);
  const replica = new GanReplica(tf, config);
  replica.setWeights(initialWeights(specs.generator, config.seed), initialWeights(specs.discriminator, config.seed));
  const identity: Reduce = async (_step, _phase, grads) => grads;
  let reduce = identity;
  let gradientsInto: GradientsInto | undefined;
  if (lockstep) {
    try {
      ({ reduce, gradientsInto } = lockstepReduce(lockstep, Math.max(replica.reduceSizes.d, replica.reduceSizes.g)));
    } catch (err) {
      process.stdout.write(`${JSON.stringify({ arch: ARCH, backend: BACKEND_ENV, unavailable: `no shared memory for the lockstep loops: ${errorMessage(err)}` })}\n`);
      return;
    }
  }
  const rank = lockstep?.rank ?? 0;
  const t0 = performance.now();
  let tWarm = t0;
  for (let step = 1; step <= STEPS; step++) {
    // The step reads its losses back, as the trainer does to report them.
    await trainStep(replica, config, feeder.batchFor(step, rank, world), reduce, { world, ...(gradientsInto ? { gradientsInto } : {}) });
    replica.commit();
    if (step === WARMUP) tWarm = performance.now();
  }
  const t1 = performance.now();
  // Lockstep loops hand back their replicas' hashes: equal only if both really averaged every step.
  const hash = lockstep ? await replica.stateHash() : undefined;
  replica.dispose();
  process.stdout.write(`${JSON.stringify({
    arch: ARCH, backend: BACKEND_ENV === 'wasm-default' ? 'wasm-default' : backend.name, imagesPerSecond: (STEPS * BATCH) / ((t1 - t0) / 1000),
    steadyImagesPerSecond: ((STEPS - WARMUP) * BATCH) / ((t1 - tWarm) / 1000), peakRssBytes: process.resourceUsage().maxRSS * 1024, ...(hash ? { hash } : {}),
  })}\n`);
}

function run(args: string[], nodeFlags: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

interface BareResult {
  backend: string;
  imagesPerSecond: number;
  steadyImagesPerSecond: number;
  peakRssBytes: number;
  hash?: string;
  unavailable?: string;
}

/** One bare loop (`bare`) or one of a lockstep pair; throws if it failed or cannot run here. */
async function bareRun(args: string[], nodeFlags: string[] = []): Promise<BareResult> {
  const r = await run([SELF, ...args], nodeFlags);
  if (r.code !== 0) throw new Error(`bare loop (${args.join(' ')}) failed:\n${r.stderr.slice(-2000)}`);
  const b = JSON.parse(r.stdout.trim().split('\n').pop()!) as BareResult;
  if (b.unavailable !== undefined) throw new Error(b.unavailable);
  return b;
}

/**
 * Two bare loops at once, apart or in lockstep, with the node flags spawned workers get when they fill
 * the cores (sharedCores.ts): images per second of both together. Lockstep loops must end with
 * identical replicas, or they did not average.
 */
async function barePair(lockstep: boolean, round: number): Promise<{ imagesPerSecond: number; steadyImagesPerSecond: number }> {
  const { flags } = sharedCoreFlags(2, os.cpus().length);
  const segment = `/trainer-bench-${process.pid}-${round}`;
  const pair = await Promise.all([0, 1].map((rank) => bareRun(lockstep ? ['lockstep', String(rank), segment] : ['bare'], flags)));
  if (lockstep && pair[0]!.hash !== pair[1]!.hash) throw new Error(`the lockstep loops ended with different replicas (${pair[0]!.hash} and ${pair[1]!.hash})`);
  return { imagesPerSecond: pair[0]!.imagesPerSecond + pair[1]!.imagesPerSecond, steadyImagesPerSecond: pair[0]!.steadyImagesPerSecond + pair[1]!.steadyImagesPerSecond };
}

interface DistributedResult {
  imagesPerSecond: number;
  /** Over the steps after BENCH_WARMUP, from the coordinator's steps.jsonl. */
  steadyImagesPerSecond: number;
  coordinatorPeakRssBytes: number;
  workerPeakRssBytes: number[];
}

/** Images per second over the steps after WARMUP, from the run's steps.jsonl (seconds since training began at each step's end). */
function steadyRate(out: string): number {
  const records = readFileSync(path.join(out, STEP_RECORDS_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; images: number; seconds: number });
  const at = (step: number): { images: number; seconds: number } => {
    const r = records.find((x) => x.step === step);
    if (!r) throw new Error(`steps.jsonl of ${out} has no record of step ${step}`);
    return r;
  };
  const from = at(WARMUP);
  const to = at(STEPS);
  return (to.images - from.images) / (to.seconds - from.seconds);
}

/** `observe`: Prometheus metrics on, a timeline written and sample grids at the default interval; otherwise all off. */
async function distributed(workers: number, dir: string, observe = false): Promise<DistributedResult> {
  const out = path.join(dir, `w${workers}${observe ? '-observed' : ''}`);
  const observability = observe ? ['--metrics-port', '0', '--timeline', path.join(out, 'trace.json'), '--sample-every', '200'] : ['--no-metrics', '--sample-every', '0'];
  const r = await run([CLI, 'coordinator', '--workers', String(workers), '--spawn', '--steps', String(STEPS), '--batch-size', String(BATCH),
    '--arch', ARCH, '--backend', BACKEND, '--port', '0', '--log-format', 'json', '--out', out, ...ALLREDUCE, ...observability]);
  if (r.code !== 0) throw new Error(`coordinator with ${workers} workers exited with ${r.code}:\n${r.stderr.slice(-2000)}`);
  const records = jsonRecords(r.stdout + r.stderr);
  const coordinator = records.find((x) => x.component === 'coordinator' && typeof x.peakRssBytes === 'number');
  const workerRss = records.filter((x) => x.component === 'worker' && x.msg === 'training finished').map((x) => Number(x.peakRssBytes));
  if (!coordinator || workerRss.length !== workers) throw new Error(`missing peak RSS records in the logs of the ${workers}-worker run`);
  const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as { imagesPerSecond: number; dataset: { examples: number } };
  if (summary.dataset.examples !== 60_000) throw new Error(`expected the full 60k training set, the run loaded ${summary.dataset.examples}`);
  return { imagesPerSecond: summary.imagesPerSecond, steadyImagesPerSecond: steadyRate(out), coordinatorPeakRssBytes: Number(coordinator.peakRssBytes), workerPeakRssBytes: workerRss };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-train-'));
  try {
    // Rounds interleave the three setups so that drift on a shared machine hits them alike; medians are reported.
    const bare: number[] = [];
    const bareSteady: number[] = [];
    const one: DistributedResult[] = [];
    const two: DistributedResult[] = [];
    const twoObserved: DistributedResult[] = [];
    let backend = '';
    let bareRss = 0;
    const apart: number[] = [];
    const lockstep: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const b = await bareRun(['bare']);
      backend = b.backend;
      bareRss = Math.max(bareRss, b.peakRssBytes);
      bare.push(b.imagesPerSecond);
      bareSteady.push(b.steadyImagesPerSecond);
      const pairApart = await barePair(false, round);
      const pairLockstep = await barePair(true, round);
      apart.push(pairApart.steadyImagesPerSecond);
      lockstep.push(pairLockstep.steadyImagesPerSecond);
      one.push(await distributed(1, dir));
      two.push(await distributed(2, dir));
      twoObserved.push(await distributed(2, dir, true));
      const both = (r: { imagesPerSecond: number; steadyImagesPerSecond: number }): string => `${r.imagesPerSecond.toFixed(0)} (steady ${r.steadyImagesPerSecond.toFixed(0)}) img/s`;
      process.stderr.write(`round ${round}/${ROUNDS}: bare ${both(b)}, two bare apart ${both(pairApart)}, in lockstep ${both(pairLockstep)}, 1 worker ${both(one.at(-1)!)}, 2 workers ${both(two.at(-1)!)}, 2 workers with metrics + timeline ${both(twoObserved.at(-1)!)}\n`);
    }
    const rate = (rs: DistributedResult[]): number[] => rs.map((r) => r.imagesPerSecond);
    const steady = (rs: DistributedResult[]): number[] => rs.map((r) => r.steadyImagesPerSecond);
    const mb = (b: number): number => Math.round(b / MB);
    const [bareM, oneM, twoM, observedM] = [median(bare), median(rate(one)), median(rate(two)), median(rate(twoObserved))];
    const [bareS, oneS, twoS, apartS, lockstepS] = [median(bareSteady), median(steady(one)), median(steady(two)), median(apart), median(lockstep)];
    console.log(JSON.stringify({
      bench: 'train', arch: ARCH, backend, allreduce: process.env.BENCH_ALLREDUCE ?? 'auto', batchPerWorker: BATCH, steps: STEPS, warmupSteps: WARMUP, rounds: ROUNDS, cpus: os.cpus().length,
      steady: {
        bareImagesPerSecond: bareS, oneWorkerImagesPerSecond: oneS, twoWorkersImagesPerSecond: twoS,
        scalingEfficiency: twoS / (2 * oneS), machineryOverhead: 1 - oneS / bareS,
        // What the host allows 2 ranks with none of the trainer's machinery, against twice one bare loop,
        // and what the machinery costs 2 workers against 2 bare loops in lockstep.
        twoBareApartImagesPerSecond: apartS, twoBareLockstepImagesPerSecond: lockstepS,
        apartEfficiency: apartS / (2 * bareS), lockstepEfficiency: lockstepS / (2 * bareS), twoWorkersMachineryOverhead: 1 - twoS / lockstepS,
      },
      bareImagesPerSecond: bareM,
      oneWorkerImagesPerSecond: oneM,
      twoWorkersImagesPerSecond: twoM,
      scalingEfficiency: twoM / (2 * oneM),
      machineryOverhead: 1 - oneM / bareM,
      twoWorkersObservedImagesPerSecond: observedM,
      observabilityCost: 1 - observedM / twoM,
      samples: { bare, oneWorker: rate(one), twoWorkers: rate(two), twoWorkersObserved: rate(twoObserved) },
      steadySamples: { bare: bareSteady, twoBareApart: apart, twoBareLockstep: lockstep, oneWorker: steady(one), twoWorkers: steady(two), twoWorkersObserved: steady(twoObserved) },
      peakRssMB: {
        coordinator: mb(Math.max(...[...one, ...two, ...twoObserved].map((r) => r.coordinatorPeakRssBytes))),
        worker: mb(Math.max(...[...one, ...two, ...twoObserved].flatMap((r) => r.workerPeakRssBytes))),
        bareLoop: mb(bareRss),
      },
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'bare') await bareLoop();
else if (process.argv[2] === 'lockstep') await bareLoop({ rank: Number(process.argv[3]), segment: process.argv[4]! });
else await main();
