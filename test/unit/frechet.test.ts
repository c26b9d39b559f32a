import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Gaussian, fitGaussian, frechetDistance } from '../../src/shared/eval/frechet.js';
import { inceptionScore, modeCoverage } from '../../src/shared/eval/scores.js';
import { Rng } from '../../src/shared/rng.js';

function samples(count: number, dim: number, seed: number, scale = 1, shift = 0): Float32Array {
  const rng = new Rng(seed);
  // Correlated features: each is a mix of the previous one and fresh noise.
  const out = new Float32Array(count * dim);
  for (let i = 0; i < count; i++) {
    let prev = 0;
    for (let j = 0; j < dim; j++) {
      prev = 0.6 * prev + rng.normal();
      out[i * dim + j] = scale * prev + shift;
    }
  }
  return out;
}

const diagonal = (mean: number[], variances: number[]): Gaussian => {
  const d = mean.length;
  const cov = new Float64Array(d * d);
  variances.forEach((v, i) => { cov[i * d + i] = v; });
  return { dim: d, mean: Float64Array.from(mean), cov };
};

test('the Fréchet distance of a set with itself is 0, and it matches the closed form for diagonal covariances', () => {
  const x = samples(2000, 16, 1);
  const g = fitGaussian(x, 2000, 16);
  assert.ok(frechetDistance(g, g) < 1e-9, `self distance ${frechetDistance(g, g)}`);
  // Diagonal: |Δμ|² + Σ (√a − √b)².
  const a = diagonal([0, 1, 2], [1, 4, 9]);
  const b = diagonal([1, 1, 0], [4, 4, 1]);
  const expected = 1 + 0 + 4 + (1 - 2) ** 2 + 0 + (3 - 1) ** 2;
  assert.ok(Math.abs(frechetDistance(a, b) - expected) < 1e-9, `${frechetDistance(a, b)} vs ${expected}`);
  assert.ok(Math.abs(frechetDistance(a, b) - frechetDistance(b, a)) < 1e-9, 'symmetric');
});

test('the Fréchet distance grows with a shift or a change of scale of the features', () => {
  const ref = fitGaussian(samples(3000, 16, 2), 3000, 16);
  const same = frechetDistance(fitGaussian(samples(3000, 16, 3), 3000, 16), ref);
  const shifted = frechetDistance(fitGaussian(samples(3000, 16, 3, 1, 0.5), 3000, 16), ref);
  const scaled = frechetDistance(fitGaussian(samples(3000, 16, 3, 1.5), 3000, 16), ref);
  // Two draws of one distribution differ only by sampling noise.
  assert.ok(same < 0.5, `same distribution: ${same}`);
  assert.ok(shifted > same + 16 * 0.25 * 0.8, `shifted by 0.5 in 16 dimensions: ${shifted}`);
  assert.ok(scaled > same + 1, `scaled: ${scaled}`);
  assert.throws(() => fitGaussian(new Float32Array(16), 1, 16), /at least 2 samples/);
});

/** Logits whose arg-max is `labels[i]`, with `margin` between it and the rest. */
function logitsFor(labels: number[], margin: number): Float32Array {
  const out = new Float32Array(labels.length * 10);
  labels.forEach((l, i) => { out[i * 10 + l] = margin; });
  return out;
}

test('Inception Score and mode coverage: 1 and one digit for a collapsed set, 10 and all digits for a confident even one', () => {
  const collapsed = logitsFor(new Array<number>(1000).fill(3), 20);
  assert.ok(Math.abs(inceptionScore(collapsed, 1000) - 1) < 1e-6);
  const c = modeCoverage(collapsed, 1000);
  assert.equal(c.digitsAtLeast5Percent, 1);
  assert.equal(c.fractions[3], 1);
  assert.ok(Math.abs(c.klFromUniform - Math.log(10)) < 1e-12);
  const even = logitsFor(Array.from({ length: 1000 }, (_, i) => i % 10), 30);
  assert.ok(Math.abs(inceptionScore(even, 1000) - 10) < 1e-6);
  const e = modeCoverage(even, 1000);
  assert.equal(e.digitsAtLeast5Percent, 10);
  assert.ok(e.klFromUniform < 1e-12);
  assert.ok(e.meanConfidence > 0.999);
  // Unsure predictions score low however they spread.
  assert.ok(inceptionScore(logitsFor(Array.from({ length: 1000 }, (_, i) => i % 10), 0.1), 1000) < 1.01);
});
