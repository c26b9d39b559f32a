import { PROTOCOL_VERSION } from '../shared/protocol.js';
import { type CheckpointState, type RunState, arm } from './runState.js';

// The steady part of training: batches shipped ahead, the step deadline, checkpoints, the finish.

/** Ships every step up to `step` not shipped yet, stopping at a pending join or stop, and at the last step. */
export function shipThrough(s: RunState, step: number): void {
  if (s.phase !== 'training') return;
  const { config } = s.settings;
  const to = s.membership.roster().map((m) => ({ peer: m.peer, rank: m.rank! }));
  for (; s.nextShipped <= Math.min(step, s.stopAfter ?? config.steps, s.joinAt ?? Infinity); s.nextShipped++) {
    s.out.push({ kind: 'ship', gen: s.gen, step: s.nextShipped, to });
  }
}

/** Every phase must make progress within its deadline; in training, the next step within --timeout. */
export function rearmStep(s: RunState): void {
  s.progressAt = s.lastCompleted;
  arm(s, 'step', s.settings.config.timeoutMs);
}

export function writeCheckpoint(s: RunState, state: CheckpointState): void {
  s.out.push({ kind: 'checkpoint', state });
  s.fallback = state;
}

export function maybeFinished(s: RunState): void {
  if (s.lastCompleted === s.settings.config.steps && s.finalWeights) finish(s);
}

function finish(s: RunState): void {
  s.out.push({ kind: 'finish' });
  s.over = true;
}

/** Asks rank 0 of the roster for its state after `step` (the checkpoint a stop ends with). */
export function askRank0(s: RunState, step: number): void {
  const rank0 = s.membership.roster()[0];
  if (rank0) s.out.push({ kind: 'send', peer: rank0.peer, msg: { t: 'checkpoint', v: PROTOCOL_VERSION, step } });
}

/** Among ranks that did not report, the one heard from least recently: usually the one the others wait for. */
export function quietest(s: RunState, ranks: number[], now: number): string {
  const ids = ranks.flatMap((r) => { const m = s.membership.roster()[r]; return m ? [m.id] : []; });
  if (ids.length < 2) return '';
  const ages = s.liveness.ages(ids, now);
  const i = ages.indexOf(Math.max(...ages));
  return ` (rank ${ranks[i]} last heard from ${(ages[i]! / 1000).toFixed(1)} s ago)`;
}
