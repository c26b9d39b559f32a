/**
 * Images per second of a training run after its warm-up, from the coordinator's 'step' records of a
 * run with `--log-every 1 --log-format json`: with a record every step, each record's imagesPerSecond
 * is one global batch over the wall time since the previous step completed (ProgressLog), so the
 * time of step k is globalBatch / imagesPerSecond.
 */
export function runImagesPerSecond(records: Array<Record<string, unknown>>, globalBatch: number, warmup: number, steps: number): number {
  const byStep = new Map<number, number>();
  for (const r of records) {
    if (r.component !== 'coordinator' || r.msg !== 'step') continue;
    const step = Number(r.step);
    const rate = Number(r.imagesPerSecond);
    if (!Number.isInteger(step) || !(rate > 0) || !Number.isFinite(rate)) throw new Error(`a step record without a step number or a positive rate: ${JSON.stringify(r)}`);
    byStep.set(step, rate);
  }
  let seconds = 0;
  for (let step = warmup + 1; step <= warmup + steps; step++) {
    const rate = byStep.get(step);
    if (rate === undefined) throw new Error(`no step record for step ${step} (was the run started with --log-every 1 --log-format json?)`);
    seconds += globalBatch / rate;
  }
  return (globalBatch * steps) / seconds;
}
