import { ReplicaMismatchError } from '../shared/errors.js';
import { RankSlots } from '../shared/rankSlots.js';
import type { StepDone } from '../shared/protocol.js';

export interface CompletedStep {
  step: number;
  dLoss: number;
  gLoss: number;
  dReal: number;
  dFake: number;
  /** The slowest rank's compute and all-reduce times. */
  maxComputeMs: number;
  maxReduceMs: number;
  /** The rank that computed longest: the one the others waited for. */
  slowestRank: number;
  /** Set when this step carried replica hashes (all equal, else an error was thrown). */
  hash: string | undefined;
  /** Phases every replica skipped for non-finite gradients. */
  skipped: string[];
}

/**
 * Collects every rank's report of a step; when the last one arrives, returns
 * the global losses (mean over ranks, each rank's batch being the same size)
 * and checks that all replica hashes agree. Every mismatch it finds is passed
 * to `onMismatch` (the metric) before it is thrown.
 */
export class StepTracker {
  private readonly slots: RankSlots<number, StepDone>;
  /** Each rank's last reported step: a rank computes its steps one after another from the generation's start. */
  private readonly last: number[];

  constructor(world: number, private readonly onMismatch: () => void = () => undefined, after = 0) {
    this.slots = new RankSlots(world, 'step report', (step) => `step ${step}`);
    this.last = new Array<number>(world).fill(after);
  }

  /**
   * Why `rank`'s report of `step` is out of order, if it is. Ranks' reports reach
   * the coordinator in any order among ranks, but one rank's come over one
   * connection in the order it computed them; a gap would leave a step that
   * never completes while later ones do.
   */
  orderRefusal(rank: number, step: number): string | undefined {
    const last = this.last[rank];
    if (last === undefined || step === last + 1) return undefined;
    return `step ${step} after its report of step ${last} (a rank reports every step, in order)`;
  }

  report(rank: number, done: StepDone): CompletedStep | undefined {
    if (rank < this.last.length) this.last[rank] = done.step;
    const all = this.slots.add(done.step, rank, done);
    return all && this.summarize(done.step, all.map((d, r) => ({ rank: r, done: d })));
  }

  /**
   * Completes `step` from the reports it has (a rank was lost before reporting it,
   * but survivors finished it): losses are the reporters' mean, their hashes must
   * agree. Undefined if nobody reported it.
   */
  flush(step: number): CompletedStep | undefined {
    const present = this.slots.take(step).map(({ rank, value }) => ({ rank, done: value }));
    return present.length === 0 ? undefined : this.summarize(step, present);
  }

  /** Ranks whose report for `step` is missing. */
  missing(step: number): number[] {
    return this.slots.missing(step);
  }

  private summarize(step: number, reports: Array<{ rank: number; done: StepDone }>): CompletedStep {
    try {
      return summarize(step, reports);
    } catch (err) {
      if (err instanceof ReplicaMismatchError) this.onMismatch();
      throw err;
    }
  }
}

/**
 * Why a rank's report of `step` cannot be genuine, if so. A rank computes a step
 * only with its batch, and batches go out through the last completed step plus
 * --prefetch: that is how far ranks can drift. The all-reduce keeps them within
 * a step of each other, but each rank's reports travel on its own connection
 * (rank 0's behind its multi-MB weights), so the coordinator may hear of any
 * shipped step first.
 */
export function stepReportRefusal(step: number, lastCompleted: number, lastShipped: number): string | undefined {
  if (step <= lastCompleted) return `step ${step}, which is already complete`;
  if (step > lastShipped) return `step ${step}, which was never shipped (batches went out through step ${lastShipped})`;
  return undefined;
}

/** The step's global figures from these ranks' reports. */
function summarize(step: number, reports: Array<{ rank: number; done: StepDone }>): CompletedStep {
  const all = reports.map((r) => r.done);
  const ranks = reports.map((r) => r.rank);
  const mean = (f: (s: StepDone) => number): number => all.reduce((a, s) => a + f(s), 0) / all.length;
  const slowest = reports.reduce((best, r) => (r.done.computeMs > best.done.computeMs ? r : best), reports[0]!);
  return {
    step,
    dLoss: mean((s) => s.dLoss),
    gLoss: mean((s) => s.gLoss),
    dReal: mean((s) => s.dReal),
    dFake: mean((s) => s.dFake),
    maxComputeMs: Math.max(...all.map((s) => s.computeMs)),
    maxReduceMs: Math.max(...all.map((s) => s.reduceMs)),
    slowestRank: slowest.rank,
    hash: checkReplicaHashes(step, all.map((s) => s.hash), ranks),
    skipped: agreedSkips(step, all.map((s) => (s.skipped ?? []).join(',')), ranks),
  };
}

/**
 * All ranks must report the same hash, or none. Ranks that disagree with the
 * most common hash are named (with two ranks, the one that differs from the
 * first). `ranks[i]` is the rank that sent `hashes[i]` (after a loss, not i).
 */
export function checkReplicaHashes(step: number, hashes: Array<string | undefined>, ranks: number[] = hashes.map((_, i) => i)): string | undefined {
  if (hashes.every((h) => h === undefined)) return undefined;
  const counts = new Map<string, number>();
  for (const h of hashes) if (h !== undefined) counts.set(h, (counts.get(h) ?? 0) + 1);
  let majority = hashes[0];
  let best = majority === undefined ? 0 : (counts.get(majority) ?? 0);
  for (const [h, c] of counts) if (c > best) [majority, best] = [h, c];
  const bad = hashes.flatMap((h, i) => (h === majority ? [] : [ranks[i]!]));
  if (bad.length > 0) {
    throw new ReplicaMismatchError(`replicas diverged at step ${step}: rank${bad.length > 1 ? 's' : ''} ${bad.join(', ')} differ${bad.length > 1 ? '' : 's'} from rank ${ranks[hashes.indexOf(majority)]}`, bad);
  }
  return majority;
}

/**
 * Replicas skip a phase when the averaged gradients they all received are not
 * finite; they must agree, since disagreeing replicas have diverged. `ranks`
 * as for checkReplicaHashes.
 */
export function agreedSkips(step: number, skips: string[], ranks: number[] = skips.map((_, i) => i)): string[] {
  const first = skips[0] ?? '';
  const odd = skips.flatMap((s, i) => (s === first ? [] : [ranks[i]!]));
  if (odd.length > 0) throw new ReplicaMismatchError(`replicas disagree on skipping step ${step}: rank ${ranks[0]} skipped [${first}], rank${odd.length > 1 ? 's' : ''} ${odd.join(', ')} did not`, odd);
  return first === '' ? [] : first.split(',');
}
