/**
 * When each rank was last heard from, and which have been silent too long.
 * Pure: the caller supplies the clock.
 */
export class Liveness {
  private readonly last: number[];

  constructor(world: number, private readonly timeoutMs: number, now: number) {
    this.last = new Array<number>(world).fill(now);
  }

  seen(rank: number, now: number): void {
    if (rank >= 0 && rank < this.last.length) this.last[rank] = Math.max(this.last[rank]!, now);
  }

  /** How long ago each of these ranks was last heard from, in ms. */
  ages(ranks: number[], now: number): number[] {
    return ranks.map((r) => now - (this.last[r] ?? now));
  }

  /** Ranks silent for longer than the timeout, longest first. */
  silent(now: number): Array<{ rank: number; ms: number }> {
    return this.last.flatMap((t, rank) => (now - t > this.timeoutMs ? [{ rank, ms: now - t }] : [])).sort((a, b) => b.ms - a.ms);
  }
}
