import type { Survivor } from './reformPlan.js';

/**
 * One abandoned generation: which members were told to abort, and the step each
 * rolled back to. Pure: the coordinator feeds it answers and losses, and asks
 * whether everyone still alive has answered.
 */
export class AbortRound {
  private readonly expected: Set<number>;
  private readonly answers = new Map<number, number>();

  /** `members`: the roster's ids in rank order. */
  constructor(readonly gen: number, private readonly members: readonly number[]) {
    this.expected = new Set(members);
  }

  /** Records an answer; false if it is not one this round waits for (another generation, a stranger, a repeat). */
  answer(id: number, gen: number, completed: number): boolean {
    if (gen !== this.gen || !this.expected.has(id) || this.answers.has(id)) return false;
    this.answers.set(id, completed);
    return true;
  }

  /** A member lost before answering is no longer waited for. */
  forget(id: number): void {
    this.expected.delete(id);
    this.answers.delete(id);
  }

  /** Members still expected that have not answered. */
  silent(): number[] {
    return [...this.expected].filter((id) => !this.answers.has(id));
  }

  get complete(): boolean {
    return this.silent().length === 0;
  }

  /** Those who answered, in their old rank order. */
  survivors(): Survivor[] {
    return this.members.flatMap((id) => (this.answers.has(id) ? [{ id, completed: this.answers.get(id)! }] : []));
  }
}
