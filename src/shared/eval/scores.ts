import { CLASSES } from './classifier.js';

function softmaxRow(logits: Float32Array, row: number, out: Float64Array): void {
  let max = -Infinity;
  for (let c = 0; c < CLASSES; c++) max = Math.max(max, logits[row * CLASSES + c]!);
  let sum = 0;
  for (let c = 0; c < CLASSES; c++) {
    out[c] = Math.exp(logits[row * CLASSES + c]! - max);
    sum += out[c]!;
  }
  for (let c = 0; c < CLASSES; c++) out[c]! /= sum;
}

/**
 * The classifier-based Inception Score: exp(E_x KL(p(y|x) ‖ p(y))). 1 when every
 * sample gets the same prediction (or none is confident); 10 at best, for
 * confident predictions spread evenly over the digits.
 */
export function inceptionScore(logits: Float32Array, count: number): number {
  const probs = new Float64Array(count * CLASSES);
  const p = new Float64Array(CLASSES);
  const marginal = new Float64Array(CLASSES);
  for (let i = 0; i < count; i++) {
    softmaxRow(logits, i, p);
    probs.set(p, i * CLASSES);
    for (let c = 0; c < CLASSES; c++) marginal[c]! += p[c]! / count;
  }
  let kl = 0;
  for (let i = 0; i < count; i++) {
    for (let c = 0; c < CLASSES; c++) {
      const q = probs[i * CLASSES + c]!;
      if (q > 0) kl += q * Math.log(q / marginal[c]!);
    }
  }
  return Math.exp(kl / count);
}

export interface ModeCoverage {
  /** Fraction of samples the classifier assigns to each digit (arg-max). */
  fractions: number[];
  /** KL(fractions ‖ uniform), in nats: 0 when every digit is equally frequent, ln 10 ≈ 2.30 when only one appears. */
  klFromUniform: number;
  /** Digits with at least 5% of the samples. */
  digitsAtLeast5Percent: number;
  /** Mean of the classifier's largest probability per sample. */
  meanConfidence: number;
}

export function modeCoverage(logits: Float32Array, count: number): ModeCoverage {
  const counts = new Array<number>(CLASSES).fill(0);
  const p = new Float64Array(CLASSES);
  let confidence = 0;
  for (let i = 0; i < count; i++) {
    softmaxRow(logits, i, p);
    let best = 0;
    for (let c = 1; c < CLASSES; c++) if (p[c]! > p[best]!) best = c;
    counts[best]!++;
    confidence += p[best]!;
  }
  const fractions = counts.map((n) => n / count);
  const klFromUniform = fractions.reduce((s, f) => (f > 0 ? s + f * Math.log(f * CLASSES) : s), 0);
  return { fractions, klFromUniform, digitsAtLeast5Percent: fractions.filter((f) => f >= 0.05).length, meanConfidence: confidence / count };
}
