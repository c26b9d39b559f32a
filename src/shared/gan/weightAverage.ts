import type { Tf, Tensor } from './tf.js';
import type { VarList } from './paramGroup.js';

/**
 * Steps between updates of the average. An update is a few passes over the generator's state
 * (6.7 ms for the MLP's 1.5M floats on a core shared with a training run here, against a 27 ms step), so it runs every
 * 8th step with the decay raised to the 8th power: the same horizon at an eighth of the cost.
 */
export const AVERAGE_EVERY = 8;

/**
 * The factor the average keeps at an update after `step`. Early in a run the average forgets
 * faster, (1 + step) / (10 + step) as TensorFlow's ExponentialMovingAverage does with
 * num_updates, so that it is not dominated by the initial weights.
 */
export function averageKeeps(decay: number, step: number, every = AVERAGE_EVERY): number {
  return Math.min(decay, (1 + step) / (10 + step)) ** every;
}

/**
 * An exponential moving average of the generator's full state (parameters and batch-norm
 * statistics, in `paramShapes` order) over training steps: what samples, evaluations and the
 * exported generator use when --ema-decay is on. Averaged weights give markedly better samples
 * than the last iterate of a GAN's oscillating game (Yazıcı et al., "The Unusual Effectiveness
 * of Averaging in GAN Training", ICLR 2019). Updated from the step number alone, so every
 * replica holds the same bits, and a rollback or a resume restores it like any other state.
 */
export class WeightAverage {
  private value: Tensor | undefined;

  constructor(private readonly tf: Tf, readonly decay: number) {
    if (!(decay > 0 && decay < 1)) throw new RangeError(`weight average decay must be in (0, 1), got ${decay}`);
  }

  /** Starts the average at the state as it is now (a fresh run's initial weights, or a state without an average). */
  reset(vars: VarList): void {
    this.replace(this.tf.tidy(() => this.flat(vars)));
  }

  /** Moves the average toward the state after `step`, on every AVERAGE_EVERY-th step. */
  update(step: number, vars: VarList): void {
    if (step % AVERAGE_EVERY !== 0) return;
    const avg = this.current();
    const step1 = 1 - averageKeeps(this.decay, step);
    this.replace(this.tf.tidy(() => avg.add(this.flat(vars).sub(avg).mul(step1))));
  }

  set(flat: Float32Array): void {
    this.replace(this.tf.tensor1d(flat));
  }

  async read(): Promise<Float32Array> {
    return new Float32Array(await this.current().data());
  }

  /** The average's tensor itself (read, never dispose): what read() copies out. */
  tensor(): Tensor {
    return this.current();
  }

  /** The average as it is, to restore later: tensors are immutable, so a reference (kept) suffices. */
  snapshot(): Tensor {
    return this.tf.keep(this.current().clone());
  }

  restore(snapshot: Tensor): void {
    this.replace(this.tf.keep(snapshot.clone()));
  }

  dispose(): void {
    this.value?.dispose();
    this.value = undefined;
  }

  private flat(vars: VarList): Tensor {
    return this.tf.concat(vars.vars.map((v) => v.reshape([-1])));
  }

  private current(): Tensor {
    if (!this.value) throw new Error('weight average read before the weights were set');
    return this.value;
  }

  private replace(next: Tensor): void {
    this.value?.dispose();
    this.value = this.tf.keep(next);
  }
}
