/** A worker that answered an abort: it rolled back to the state after step `completed`. */
export interface Survivor {
  id: number;
  completed: number;
}

export interface ResumePoint {
  /** The step the next generation continues after. */
  step: number;
  /** A survivor whose replica holds the state after `step`; undefined: no survivor does, use the coordinator's last checkpoint. */
  source: number | undefined;
  /** Survivors one step behind `step`: they need the state sent, like joiners. */
  behind: number[];
}

/**
 * Where training continues after a membership change. Survivors of a ring can
 * differ by at most one completed step (finishing a step's all-reduce needs
 * everyone's gradients of that step), so the most advanced one's state is the
 * latest state that exists: continue from it, and send it to anyone behind.
 * With no survivor at all, only the last checkpoint (`fallbackStep`) remains.
 */
export function resumePoint(survivors: readonly Survivor[], fallbackStep: number): ResumePoint {
  if (survivors.length === 0) return { step: fallbackStep, source: undefined, behind: [] };
  const step = Math.max(...survivors.map((s) => s.completed));
  const source = survivors.find((s) => s.completed === step)!.id;
  return { step, source, behind: survivors.filter((s) => s.completed < step).map((s) => s.id) };
}

/**
 * The next roster: survivors first, in their old rank order (so the ring moves
 * as little as possible), then waiting workers in arrival order, up to the
 * capacity. `enough` says whether it reaches --min-workers.
 */
export function nextRoster<T>(survivors: readonly T[], waiting: readonly T[], capacity: number, minWorkers: number): { roster: T[]; enough: boolean } {
  const roster = [...survivors, ...waiting].slice(0, capacity);
  return { roster, enough: roster.length >= minWorkers };
}
