import path from 'node:path';
import { writeAtomic } from '../shared/atomicFile.js';

/** One completed step as the run saw it: what `trainer plot` draws losses and throughput from. */
export interface StepRecord {
  step: number;
  /** Images trained on since this run started, this step included. */
  images: number;
  /** Seconds since training started, when the step completed. */
  seconds: number;
  dLoss: number;
  gLoss: number;
  dReal: number;
  dFake: number;
}

/** The run's file of step records, one JSON object a line. */
export const STEP_RECORDS_FILE = 'steps.jsonl';

/** Collects every completed step in memory (about 100 bytes each) and writes them once, with the outputs. */
export class StepRecords {
  private readonly records: StepRecord[] = [];
  private images = 0;

  add(r: Omit<StepRecord, 'images'> & { batchImages: number }): void {
    this.images += r.batchImages;
    this.records.push({ step: r.step, images: this.images, seconds: r.seconds, dLoss: r.dLoss, gLoss: r.gLoss, dReal: r.dReal, dFake: r.dFake });
  }

  get count(): number {
    return this.records.length;
  }

  write(runDir: string): string {
    const file = path.join(runDir, STEP_RECORDS_FILE);
    writeAtomic(file, this.records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    return file;
  }
}
