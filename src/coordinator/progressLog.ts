import type { Logger } from '../shared/logger.js';
import type { CompletedStep } from './stepTracker.js';

export interface ProgressSettings {
  steps: number;
  /** The first step this run trains (after a resume, not 1). */
  firstStep: number;
  stepsPerEpoch: number;
  globalBatch: number;
  /** A record every this many steps; 0: about one a second. */
  logEvery: number;
}

/** The 'step' progress records: the first, the last, and every --log-every steps (or about one a second). */
export class ProgressLog {
  private startedAt = 0;
  private lastCompletedAt = 0;
  private lastLogAt = 0;
  private lastLogStep = 0;

  constructor(private readonly logger: Logger, private readonly s: ProgressSettings) {}

  start(now: number): void {
    this.startedAt = now;
  }

  /** Logs `done` if a record is due; returns its epoch and the wall time since the previous completed step. */
  completed(done: CompletedStep, now: number): { epoch: number; stepSeconds: number } {
    const { s } = this;
    const epoch = Math.floor((done.step - 1) / s.stepsPerEpoch) + 1;
    const stepSeconds = (now - (this.lastCompletedAt || this.startedAt)) / 1000;
    this.lastCompletedAt = now;
    const due = s.logEvery > 0 ? done.step % s.logEvery === 0 : now - this.lastLogAt >= 1000;
    if (done.step === s.steps || done.step === s.firstStep || due) {
      const rate = this.lastLogAt === 0
        ? (s.globalBatch * (done.step - s.firstStep + 1) * 1000) / (now - this.startedAt)
        : (s.globalBatch * (done.step - this.lastLogStep) * 1000) / (now - this.lastLogAt);
      this.logger.log('info', 'step', {
        step: done.step, steps: s.steps, epoch,
        dLoss: done.dLoss, gLoss: done.gLoss, dReal: done.dReal, dFake: done.dFake, imagesPerSecond: rate,
        computeMs: done.maxComputeMs, reduceMs: done.maxReduceMs, slowestRank: done.slowestRank,
      });
      this.lastLogAt = now;
      this.lastLogStep = done.step;
    }
    return { epoch, stepSeconds };
  }
}
