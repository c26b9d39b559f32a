/** One completed step, as this worker saw it. */
export interface StepSample {
  /** From asking for the batch to the committed update. */
  stepMs: number;
  computeMs: number;
  /** Both all-reduces, waiting for peers included. */
  reduceMs: number;
  /** Part of reduceMs before any peer data arrived: the slowest rank's lateness, not the network's. */
  peerWaitMs: number;
  /** Both optimizer updates. */
  applyMs: number;
  /** Waiting for the step's batch (or go-ahead) from the coordinator. */
  dataWaitMs: number;
  /** All-reduce bytes this worker sent in the step. */
  sentBytes: number;
}

export type StepStatsSummary = { steps: number } & { [K in keyof StepSample as `median${Capitalize<K>}`]: number } & {
  /** Median over steps of reduceMs − peerWaitMs: the all-reduce's time on the wire (not the difference of the two medians). */
  medianWireMs: number;
};

/**
 * Medians of the recent steps (a window, so a long run holds bounded memory
 * and the first steps' warm-up fades out), for the worker's closing record.
 */
export class StepStats {
  private readonly window: StepSample[] = [];
  private count = 0;

  constructor(private readonly size = 1000) {}

  record(s: StepSample): void {
    this.count++;
    this.window.push(s);
    if (this.window.length > this.size) this.window.shift();
  }

  summary(): StepStatsSummary | undefined {
    if (this.window.length === 0) return undefined;
    const med = (k: keyof StepSample): number => median(this.window.map((s) => s[k]));
    return {
      steps: this.count,
      medianStepMs: med('stepMs'),
      medianComputeMs: med('computeMs'),
      medianReduceMs: med('reduceMs'),
      medianPeerWaitMs: med('peerWaitMs'),
      medianApplyMs: med('applyMs'),
      medianDataWaitMs: med('dataWaitMs'),
      medianSentBytes: med('sentBytes'),
      medianWireMs: median(this.window.map((s) => s.reduceMs - s.peerWaitMs)),
    };
  }
}

export function median(values: readonly number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}
