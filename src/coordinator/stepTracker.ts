import { ReplicaMismatchError } from '../shared/errors.js';
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
 * and checks that all replica hashes agree.
 */
export class StepTracker {
  private readonly reports = new Map<number, Array<StepDone | undefined>>();

  constructor(private readonly world: number) {}

  report(rank: number, done: StepDone): CompletedStep | undefined {
    let slots = this.reports.get(done.step);
    if (!slots) {
      slots = new Array<StepDone | undefined>(this.world).fill(undefined);
      this.reports.set(done.step, slots);
    }
    if (slots[rank]) throw new Error(`rank ${rank} reported step ${done.step} twice`);
    slots[rank] = done;
    if (slots.some((s) => s === undefined)) return undefined;
    this.reports.delete(done.step);
    return summarize(done.step, (slots as StepDone[]).map((d, rank) => ({ rank, done: d })));
  }

  /**
   * Completes `step` from the reports it has (a rank was lost before reporting it,
   * but survivors finished it): losses are the reporters' mean, their hashes must
   * agree. Undefined if nobody reported it.
   */
  flush(step: number): CompletedStep | undefined {
    const slots = this.reports.get(step);
    this.reports.delete(step);
    const present = (slots ?? []).flatMap((d, rank) => (d ? [{ rank, done: d }] : []));
    return present.length === 0 ? undefined : summarize(step, present);
  }

  /** Ranks whose report for `step` is missing. */
  missing(step: number): number[] {
    const slots = this.reports.get(step);
    const out: number[] = [];
    for (let r = 0; r < this.world; r++) if (!slots?.[r]) out.push(r);
    return out;
  }
}

/** The step's global figures from these ranks' reports. */
function summarize(step: number, reports: Array<{ rank: number; done: StepDone }>): CompletedStep {
  const all = reports.map((r) => r.done);
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
    hash: checkReplicaHashes(step, all.map((s) => s.hash)),
    skipped: agreedSkips(step, all.map((s) => (s.skipped ?? []).join(','))),
  };
}

/**
 * All ranks must report the same hash, or none. Ranks that disagree with the
 * most common hash are named (with two ranks, the one that differs from rank 0).
 */
export function checkReplicaHashes(step: number, hashes: Array<string | undefined>): string | undefined {
  if (hashes.every((h) => h === undefined)) return undefined;
  const counts = new Map<string, number>();
  for (const h of hashes) if (h !== undefined) counts.set(h, (counts.get(h) ?? 0) + 1);
  let majority = hashes[0];
  let best = majority === undefined ? 0 : (counts.get(majority) ?? 0);
  for (const [h, c] of counts) if (c > best) [majority, best] = [h, c];
  const bad = hashes.flatMap((h, rank) => (h === majority ? [] : [rank]));
  if (bad.length > 0) {
    throw new ReplicaMismatchError(`replicas diverged at step ${step}: rank${bad.length > 1 ? 's' : ''} ${bad.join(', ')} differ${bad.length > 1 ? '' : 's'} from rank ${hashes.indexOf(majority)}`, bad);
  }
  return majority;
}

/**
 * Replicas skip a phase when the averaged gradients they all received are not
 * finite; they must agree, since disagreeing replicas have diverged.
 */
export function agreedSkips(step: number, skips: string[]): string[] {
  const first = skips[0] ?? '';
  const odd = skips.flatMap((s, rank) => (s === first ? [] : [rank]));
  if (odd.length > 0) throw new ReplicaMismatchError(`replicas disagree on skipping step ${step}: rank 0 skipped [${first}], rank${odd.length > 1 ? 's' : ''} ${odd.join(', ')} did not`, odd);
  return first === '' ? [] : first.split(',');
}
