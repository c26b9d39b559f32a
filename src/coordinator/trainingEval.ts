import { Worker } from 'node:worker_threads';
import type { Logger } from '../shared/logger.js';
import type { Scores } from '../evaluate/evaluate.js';
import type { EvalReply, EvalRequest, EvalThreadOptions } from './evalThread.js';

export interface EvalRecord {
  step: number;
  fid: number;
  fidLogits: number;
  inceptionScore: number;
  digitsAtLeast5Percent: number;
  meanConfidence: number;
  /** Seconds since training started when rank 0 reached this step. */
  trainSeconds: number;
  /** How long the evaluation took, in its own thread. */
  evalSeconds: number;
}

export interface TrainingEvalSummary {
  every: number;
  count: number;
  featureSize: number;
  history: EvalRecord[];
  /** Evaluations dropped because they fell behind training. */
  skipped: number;
  best: { step: number; fid: number } | undefined;
}

interface Job {
  step: number;
  generator: Float32Array;
  at: number;
}

/** Requests that may wait while one evaluation runs; beyond, the oldest is dropped (counted, logged once). */
const MAX_PENDING = 4;

/**
 * MNIST-FID during training, in a thread of its own. Evaluations run one at a
 * time, in step order; training never waits for them. Keeps the best
 * generator's weights for --keep-best.
 */
export class TrainingEval {
  private readonly thread: Worker;
  private readonly history: EvalRecord[] = [];
  /** Waiting requests, oldest first; at most MAX_PENDING. */
  private pending: Job[] = [];
  private skipped = 0;
  /** The evaluation the thread is running, if any. */
  private inFlight: Job | undefined;
  private idle: Array<() => void> = [];
  private failed: string | undefined;
  private readonly ready: Promise<void>;
  best: { step: number; fid: number; generator: Float32Array } | undefined;

  constructor(private readonly options: EvalThreadOptions & { every: number; featureSize: number }, private readonly logger: Logger, private readonly onScores: (r: EvalRecord) => void) {
    this.thread = new Worker(new URL('./evalThread.js', import.meta.url), { workerData: options });
    let resolveReady!: () => void;
    this.ready = new Promise((resolve) => { resolveReady = resolve; });
    this.thread.on('message', (m: EvalReply) => {
      if (m.kind === 'ready') {
        logger.log('info', `MNIST-FID every ${options.every} steps on ${options.count} samples (backend ${m.backend}, own thread)`, { evalEvery: options.every, evalCount: options.count });
        resolveReady();
      } else if (m.kind === 'scores') {
        this.record(m.step, m.scores, m.ms);
      } else {
        this.failed = m.message;
        logger.log('warn', `evaluation${m.step === undefined ? '' : ` at step ${m.step}`} failed: ${m.message}`);
        resolveReady();
        this.inFlight = undefined;
        this.pump();
      }
    });
    this.thread.on('error', (err) => {
      this.failed = err.message;
      logger.log('warn', `evaluation thread failed: ${err.message}`);
      resolveReady();
      this.inFlight = undefined;
      this.flushIdle();
    });
  }

  /** Queues rank 0's generator state after `step`; `at`: training seconds at that step. */
  submit(step: number, generator: Float32Array, at: number): void {
    if (this.failed) return;
    this.pending.push({ step, generator, at });
    if (this.pending.length > MAX_PENDING) {
      const dropped = this.pending.shift()!;
      if (this.skipped++ === 0) this.logger.log('warn', `evaluations fall behind training: skipped step ${dropped.step} (raise --eval-every or lower --eval-count)`, { step: dropped.step });
    }
    void this.ready.then(() => this.pump());
  }

  /** Starts the waiting evaluation if none runs. */
  private pump(): void {
    if (this.inFlight) return;
    const job = this.pending.shift();
    if (!job || this.failed) {
      this.flushIdle();
      return;
    }
    this.inFlight = job;
    this.thread.postMessage({ step: job.step, generator: job.generator } satisfies EvalRequest);
  }

  private record(step: number, s: Scores, ms: number): void {
    const job = this.inFlight!;
    const r: EvalRecord = {
      step, fid: s.fid, fidLogits: s.fidLogits, inceptionScore: s.inceptionScore, digitsAtLeast5Percent: s.coverage.digitsAtLeast5Percent,
      meanConfidence: s.coverage.meanConfidence, trainSeconds: job.at, evalSeconds: ms / 1000,
    };
    this.history.push(r);
    if (!this.best || r.fid < this.best.fid) this.best = { step, fid: r.fid, generator: job.generator };
    this.logger.log('info', `step ${step}: MNIST-FID ${r.fid.toFixed(3)} (logits ${r.fidLogits.toFixed(3)}), IS ${r.inceptionScore.toFixed(2)}, ${r.digitsAtLeast5Percent} digits ≥5%, confidence ${r.meanConfidence.toFixed(3)}; best ${this.best.fid.toFixed(3)} at step ${this.best.step}`, { ...r, bestStep: this.best.step, bestFid: this.best.fid });
    this.onScores(r);
    this.inFlight = undefined;
    this.pump();
  }

  private flushIdle(): void {
    for (const w of this.idle) w();
    this.idle = [];
  }

  /** Waits for the queued and running evaluations; then the summary. */
  async finish(): Promise<TrainingEvalSummary> {
    await this.ready;
    if (this.inFlight || this.pending.length > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    return {
      every: this.options.every, count: this.options.count, featureSize: this.options.featureSize,
      history: this.history, skipped: this.skipped, best: this.best ? { step: this.best.step, fid: this.best.fid } : undefined,
    };
  }

  async close(): Promise<void> {
    this.thread.postMessage('stop' satisfies EvalRequest);
    const timer = setTimeout(() => void this.thread.terminate(), 2000);
    await new Promise((resolve) => this.thread.once('exit', resolve));
    clearTimeout(timer);
  }
}
