import { ConfigError } from '../shared/errors.js';
import { Rng } from '../shared/rng.js';

/** Which training images the classifier learns from and which it is chosen on. */
export interface ValidationSplit {
  /** Indices into the training set, ascending. */
  train: Uint32Array;
  /** Held out: never in an epoch's order; ascending. */
  validation: Uint32Array;
}

/** Fisher–Yates with the project's seeded generator: the same order on every platform. */
export function shuffled(indices: Uint32Array, rng: Rng): Uint32Array {
  const order = Uint32Array.from(indices);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/**
 * Holds out `validation` of the `count` training images, picked by a seeded shuffle (its own stream,
 * so the split does not move when the epoch shuffles change).
 */
export function splitValidation(count: number, validation: number, seed: number): ValidationSplit {
  if (!Number.isInteger(validation) || validation < 1 || validation >= count) {
    throw new ConfigError(`--validation must be in [1, ${count - 1}], got ${validation}`);
  }
  const all = Uint32Array.from({ length: count }, (_, i) => i);
  const order = shuffled(all, new Rng(seed ^ 0x5eed_0a1d));
  return {
    validation: order.slice(0, validation).sort(),
    train: order.slice(validation).sort(),
  };
}

/** The epoch with the best validation accuracy; the earliest of equals (fewer epochs, same score). */
export function chooseEpoch(validationAccuracy: readonly number[]): number {
  if (validationAccuracy.length === 0) throw new RangeError('no epoch to choose from');
  let best = 0;
  validationAccuracy.forEach((a, i) => {
    if (a > validationAccuracy[best]!) best = i;
  });
  return best + 1;
}
