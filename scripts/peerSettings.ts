import { ARCHS, type Arch, BACKENDS, type BackendName } from '../src/shared/config.js';

/** What one `bench:peer` invocation measures; read from the environment by `peerSettings`. */
export interface PeerSettings {
  archs: Arch[];
  /** Trainer backends as asked for; each is measured side by side with the same PyTorch figure. */
  backends: BackendName[];
  batch: number;
  /** Timed steps and untimed warm-up steps before them, per architecture. */
  steps: Record<Arch, number>;
  warmup: Record<Arch, number>;
  /** The CPU every measured process is pinned to (taskset -c). */
  core: number;
  /** The interpreter that runs scripts/peer.py. */
  python: string;
}

/** About a minute of timed work per measurement for wasm on an idle 2-core machine; PyTorch takes far less. */
const DEFAULT_STEPS: Record<Arch, number> = { mlp: 200, dcgan: 30 };
/** The first steps compile kernels and fill caches; they are run but not timed. */
const DEFAULT_WARMUP: Record<Arch, number> = { mlp: 10, dcgan: 3 };

function list<T extends string>(name: string, value: string, allowed: readonly T[]): T[] {
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new Error(`${name} is empty; give a comma list of ${allowed.join(', ')}`);
  for (const item of items) if (!allowed.includes(item as T)) throw new Error(`${name}: '${item}' is not one of ${allowed.join(', ')}`);
  if (new Set(items).size !== items.length) throw new Error(`${name}: '${value}' names one more than once`);
  return items as T[];
}

function integer(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer of at least ${min}, got '${value}'`);
  return n;
}

/**
 * Settings from BENCH_ARCHS (mlp,dcgan), BENCH_BACKENDS (auto), BENCH_BATCH (64), BENCH_STEPS and
 * BENCH_WARMUP (per-architecture defaults; BENCH_STEPS_MLP etc. set one architecture), BENCH_CORE (1)
 * and PEER_PYTHON (/usr/bin/python3). Throws a one-line error on a value it cannot use.
 */
export function peerSettings(env: Record<string, string | undefined>): PeerSettings {
  const archs = list('BENCH_ARCHS', env.BENCH_ARCHS ?? ARCHS.join(','), ARCHS);
  const backends = list('BENCH_BACKENDS', env.BENCH_BACKENDS ?? 'auto', BACKENDS);
  const perArch = (what: 'STEPS' | 'WARMUP', defaults: Record<Arch, number>, min: number): Record<Arch, number> => {
    const shared = integer(`BENCH_${what}`, env[`BENCH_${what}`], Number.NaN, min);
    const pick = (arch: Arch): number => integer(`BENCH_${what}_${arch.toUpperCase()}`, env[`BENCH_${what}_${arch.toUpperCase()}`], Number.isNaN(shared) ? defaults[arch] : shared, min);
    return { mlp: pick('mlp'), dcgan: pick('dcgan') };
  };
  return {
    archs,
    backends,
    batch: integer('BENCH_BATCH', env.BENCH_BATCH, 64, 1),
    steps: perArch('STEPS', DEFAULT_STEPS, 1),
    // The first step compiles the kernels on every side: it is never timed.
    warmup: perArch('WARMUP', DEFAULT_WARMUP, 1),
    core: integer('BENCH_CORE', env.BENCH_CORE, 1, 0),
    python: env.PEER_PYTHON || '/usr/bin/python3',
  };
}
