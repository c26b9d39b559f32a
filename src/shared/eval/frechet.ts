import { EigenvalueDecomposition, Matrix } from 'ml-matrix';

/** Mean and (unbiased) covariance of `count` rows of `dim` features, in float64. */
export interface Gaussian {
  dim: number;
  mean: Float64Array;
  /** dim × dim, row-major. */
  cov: Float64Array;
}

export function fitGaussian(rows: Float32Array, count: number, dim: number): Gaussian {
  if (count < 2) throw new RangeError(`a covariance needs at least 2 samples, got ${count}`);
  if (rows.length !== count * dim) throw new RangeError(`${rows.length} values are not ${count} × ${dim}`);
  const mean = new Float64Array(dim);
  for (let i = 0; i < count; i++) for (let j = 0; j < dim; j++) mean[j]! += rows[i * dim + j]!;
  for (let j = 0; j < dim; j++) mean[j]! /= count;
  const cov = new Float64Array(dim * dim);
  const centered = new Float64Array(dim);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < dim; j++) centered[j] = rows[i * dim + j]! - mean[j]!;
    for (let a = 0; a < dim; a++) {
      const ca = centered[a]!;
      if (ca === 0) continue;
      for (let b = a; b < dim; b++) cov[a * dim + b]! += ca * centered[b]!;
    }
  }
  for (let a = 0; a < dim; a++) {
    for (let b = a; b < dim; b++) {
      const v = cov[a * dim + b]! / (count - 1);
      cov[a * dim + b] = v;
      cov[b * dim + a] = v;
    }
  }
  return { dim, mean, cov };
}

const toMatrix = (flat: Float64Array, dim: number): Matrix => new Matrix(Array.from({ length: dim }, (_, i) => Array.from(flat.subarray(i * dim, (i + 1) * dim))));

/** The symmetric positive semi-definite square root, through an eigendecomposition (rounding's negative eigenvalues clamped to 0). */
function sqrtPsd(m: Matrix): Matrix {
  const eig = new EigenvalueDecomposition(m, { assumeSymmetric: true });
  const v = eig.eigenvectorMatrix;
  const root = eig.realEigenvalues.map((x) => Math.sqrt(Math.max(x, 0)));
  return v.mmul(Matrix.diag(root)).mmul(v.transpose());
}

/**
 * Fréchet distance between two Gaussians:
 * |μ1 − μ2|² + tr(Σ1) + tr(Σ2) − 2 tr((Σ1 Σ2)^½).
 * tr((Σ1 Σ2)^½) is computed as the sum of the square roots of the eigenvalues
 * of the symmetric Σ1^½ Σ2 Σ1^½, which has the same spectrum and, unlike
 * Σ1 Σ2, a symmetric eigendecomposition.
 */
export function frechetDistance(a: Gaussian, b: Gaussian): number {
  if (a.dim !== b.dim) throw new RangeError(`feature sizes differ: ${a.dim} vs ${b.dim}`);
  const d = a.dim;
  let meanTerm = 0;
  for (let i = 0; i < d; i++) meanTerm += (a.mean[i]! - b.mean[i]!) ** 2;
  let traces = 0;
  for (let i = 0; i < d; i++) traces += a.cov[i * d + i]! + b.cov[i * d + i]!;
  const rootA = sqrtPsd(toMatrix(a.cov, d));
  const inner = rootA.mmul(toMatrix(b.cov, d)).mmul(rootA);
  // Symmetrize away rounding before the symmetric solver.
  const sym = inner.add(inner.transpose()).div(2);
  const eig = new EigenvalueDecomposition(sym, { assumeSymmetric: true });
  const crossTrace = eig.realEigenvalues.reduce((s, x) => s + Math.sqrt(Math.max(x, 0)), 0);
  // Identical inputs can land a hair below 0.
  return Math.max(0, meanTerm + traces - 2 * crossTrace);
}
