/**
 * The learning rates at each step (the discriminator may have its own, --d-lr): constant, then (with --lr-decay F) falling
 * linearly over the last F of the run's steps towards zero. Annealing is the
 * usual cure for a GAN whose FID stalls at a constant rate (it lowered the
 * DCGAN's mid-run, though not its final FID: docs/results.md). A function of the
 * step alone, so every replica, a resumed run and a rolled-back step agree on it.
 */
export interface LrSchedule {
  lr: number;
  /** The discriminator's own rate (TrainConfig.dLr); absent: lr. */
  dLr?: number;
  /** The run's last step (TrainConfig.steps). */
  steps: number;
  /** Fraction of the steps over which the rate decays; 0 or absent: constant. */
  lrDecay?: number;
}

/** Steps at the end of the run over which the rate decays. */
export function decaySteps(s: LrSchedule): number {
  return Math.round((s.lrDecay ?? 0) * s.steps);
}

/**
 * The rate of `model` for 1-based step `step`: its lr until the decay starts, then
 * lr·(steps − step + 1)/(D + 1) over its D steps, so it falls evenly and the last
 * step still moves (lr/(D + 1)). Rounded to float32 as the kernels use it.
 */
export function learningRateAt(s: LrSchedule, step: number, model: 'generator' | 'discriminator' = 'generator'): number {
  const lr = model === 'discriminator' ? s.dLr ?? s.lr : s.lr;
  const d = decaySteps(s);
  const start = s.steps - d;
  if (d === 0 || step <= start) return Math.fround(lr);
  return Math.fround(lr * (Math.max(0, s.steps - step + 1) / (d + 1)));
}
