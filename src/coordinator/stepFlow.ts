import { PROTOCOL_VERSION } from '../shared/protocol.js';
import { type CheckpointState, type RunState, arm } from './runState.js';

// The steady part of training: batches shipped ahead, the step deadline, checkpoints, the finish.

/**
 * Steps one go-ahead grants with --data local (or --prefetch, if more). A go-ahead carries no data, so
 * granting several steps at once costs nothing but the boundary of a join or a stop, which moves up to
 * this many steps later; it divides the messages the coordinator sends per step (bench:scale).
 */
export const LOCAL_GRANT_STEPS = 8;

/**
 * Ships ahead of the last completed step, stopping at a pending join or stop, and at the last step.
 * Batches (--data coordinator): every step up to --prefetch ahead, one effect per step range, one
 * message per step and worker. Go-aheads (--data local): one message for a range of steps, up to
 * LOCAL_GRANT_STEPS ahead, renewed only once at most half of that is still granted.
 */
export function shipAhead(s: RunState): void {
  if (s.phase !== 'training') return;
  const { config, prefetch } = s.settings;
  const local = config.data === 'local';
  const ahead = local ? Math.max(prefetch, LOCAL_GRANT_STEPS) : prefetch;
  if (local && s.nextShipped - 1 - s.lastCompleted > ahead / 2) return;
  const through = Math.min(s.lastCompleted + ahead, s.stopAfter ?? config.steps, s.joinAt ?? Infinity);
  if (s.nextShipped > through) return;
  const to = s.membership.roster().map((m) => ({ peer: m.peer, rank: m.rank! }));
  s.out.push({ kind: 'ship', gen: s.gen, step: s.nextShipped, through, to });
  s.nextShipped = through + 1;
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
