/**
 * bench:native — the bare replica step (both phases' gradients, read back, and
 * both Adam updates; no all-reduce) on the wasm backend and on the native one,
 * side by side in one process on the same replica, rounds alternating so that
 * a load change on the host hits both alike. BENCH_ARCHS (mlp,dcgan),
 * BENCH_BATCH (64), BENCH_STEPS per round (mlp 20, dcgan 5), BENCH_ROUNDS (3),
 * BENCH_BACKENDS (wasm,native; speedups are printed when both ran).
 * Per-step wall and CPU time (the process's user + system time: the fairer
 * figure on a host that other processes load) are medians over the rounds.
 * One JSON line per architecture.
 */
import { ARCHS, type Arch } from '../src/shared/config.js';
import { selectBackend } from '../src/shared/gan/backend.js';
import { seededReplica } from './seededReplica.js';
import { tf } from '../src/shared/gan/tf.js';
import { silentLogger } from '../src/shared/logger.js';
import { trainConfig } from '../test/fixtures/trainConfig.js';

const archs = (process.env.BENCH_ARCHS ?? 'mlp,dcgan').split(',') as Arch[];
for (const a of archs) if (!ARCHS.includes(a)) throw new Error(`BENCH_ARCHS: ${a} is not one of ${ARCHS.join(', ')}`);
const BATCH = Number(process.env.BENCH_BATCH ?? 64);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'wasm,native').split(',');
for (const b of BACKENDS) if (b !== 'wasm' && b !== 'native') throw new Error(`BENCH_BACKENDS: ${b} is not wasm or native`);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

for (const arch of archs) {
  const steps = Number(process.env.BENCH_STEPS ?? (arch === 'mlp' ? 20 : 5));
  const config = trainConfig({ arch, batchSize: BATCH, steps, stepsPerEpoch: 1 });
  await selectBackend('wasm', silentLogger);
  const { replica, z, images } = seededReplica(tf, config);
  const step = async (): Promise<void> => {
    replica.applyDiscriminator((await replica.discriminatorGradients(images, z)).grads, 1);
    replica.applyGenerator((await replica.generatorGradients(z)).grads, 1);
  };
  const samples: Record<string, { wall: number[]; cpu: number[] }> = Object.fromEntries(BACKENDS.map((b) => [b, { wall: [], cpu: [] }]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const backend of BACKENDS) {
      await selectBackend(backend as 'wasm' | 'native', silentLogger);
      await step(); // warm-up: first calls compile and allocate
      const w0 = performance.now();
      const c0 = cpuMs();
      for (let i = 0; i < steps; i++) await step();
      samples[backend]!.wall.push((performance.now() - w0) / steps);
      samples[backend]!.cpu.push((cpuMs() - c0) / steps);
    }
  }
  replica.dispose();
  const result = Object.fromEntries(BACKENDS.map((b) => [b, { wallMs: Number(median(samples[b]!.wall).toFixed(1)), cpuMs: Number(median(samples[b]!.cpu).toFixed(1)) }]));
  const both = result.wasm && result.native;
  const speedup = (k: 'wallMs' | 'cpuMs'): number => Number((result.wasm![k] / result.native![k]).toFixed(2));
  console.log(JSON.stringify({ bench: 'native', arch, batch: BATCH, steps, rounds: ROUNDS, ...result, ...(both ? { speedupWall: speedup('wallMs'), speedupCpu: speedup('cpuMs') } : {}) }));
}
