/*
 * The trainer's batch-norm op on the wasm heap: x is rows × channels (NHWC with
 * the leading axes as rows); the batch statistics of a channel are the mean
 * and the variance about it over the rows (as tfjs's moments), summed in
 * double. Every kernel forms them again instead of passing them between
 * kernels, as the webgpu programs do (each kernel has one output).
 */
#include "batchNorm.h"

#include <math.h>
#include <stdint.h>

#include "args.h"

/*
 * Mean and variance of each channel, into mean[] and var[] (channels doubles each). The loops run across
 * channels, each channel's sum in row order: the same sums on every instruction set (built for AVX-512, AVX2
 * and plain x86-64 as adam.c is; C11 forbids contracting into multiply-adds).
 */
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void moments(const float *restrict x, int64_t rows, int64_t channels, double *restrict mean, double *restrict var) {
  for (int64_t c = 0; c < channels; c++) mean[c] = 0.0, var[c] = 0.0;
  for (int64_t r = 0; r < rows; r++) {
    const float *restrict row = x + r * channels;
    for (int64_t c = 0; c < channels; c++) mean[c] += (double)row[c];
  }
  for (int64_t c = 0; c < channels; c++) mean[c] /= (double)rows;
  for (int64_t r = 0; r < rows; r++) {
    const float *restrict row = x + r * channels;
    for (int64_t c = 0; c < channels; c++) {
      const double d = (double)row[c] - mean[c];
      var[c] += d * d;
    }
  }
  for (int64_t c = 0; c < channels; c++) var[c] /= (double)rows;
}

/* Reads (heap, xOff, rows, channels) at arguments 0, 1 and `dims`, dims + 1; the statistics go to scratch. */
static bool read_x(call_t *call, size_t dims, float **x, int64_t *rows, int64_t *channels, double **mean, double **var) {
  if (!arg_int(call, dims, 1, (INT64_C(1) << 31) - 1, rows) || !arg_int(call, dims + 1, 1, 1 << 24, channels)) return false;
  if ((uint64_t)*rows * (uint64_t)*channels > (UINT64_C(1) << 31)) return fail(call->env, "trainer_native batchNorm: too large"), false;
  if (!arg_floats(call, 1, (size_t)(*rows * *channels), false, x)) return false;
  /* Two doubles a channel for each statistic: scratch hands out floats. */
  *mean = (double *)scratch(0, (size_t)*channels * 2);
  *var = (double *)scratch(1, (size_t)*channels * 2);
  if (!*mean || !*var) return fail(call->env, "trainer_native batchNorm: out of memory"), false;
  moments(*x, *rows, *channels, *mean, *var);
  return true;
}

/*
 * batchNorm(heap, xOff, gammaOff, betaOff, yOff, rows, channels, epsilon, relu):
 * y = act((x − mean)·(γ/√(var + ε)) + β).
 */
napi_value batch_norm(napi_env env, napi_callback_info info) {
  call_t call;
  float *x, *gamma, *beta, *y;
  int64_t rows, channels, relu;
  double *mean, *var, eps;
  if (!call_init(env, info, 9, &call) || !read_x(&call, 5, &x, &rows, &channels, &mean, &var) || !arg_double(&call, 7, &eps) || !arg_int(&call, 8, 0, 1, &relu)
      || !arg_floats(&call, 2, (size_t)channels, false, &gamma) || !arg_floats(&call, 3, (size_t)channels, false, &beta)
      || !arg_floats(&call, 4, (size_t)(rows * channels), false, &y)) return NULL;
  float *scale = scratch(2, (size_t)channels), *shift = scratch(3, (size_t)channels);
  if (!scale || !shift) return fail(env, "trainer_native batchNorm: out of memory");
  for (int64_t c = 0; c < channels; c++) {
    const float inv = (float)(1.0 / sqrt(var[c] + eps));
    scale[c] = inv * gamma[c];
    shift[c] = (float)mean[c];
  }
  const float *restrict sc = scale, *restrict sh = shift, *restrict bt = beta;
  for (int64_t r = 0; r < rows; r++) {
    const float *restrict xr = x + r * channels;
    float *restrict yr = y + r * channels;
    if (relu) for (int64_t c = 0; c < channels; c++) { const float v = (xr[c] - sh[c]) * sc[c] + bt[c]; yr[c] = v < 0.0f ? 0.0f : v; }
    else for (int64_t c = 0; c < channels; c++) yr[c] = (xr[c] - sh[c]) * sc[c] + bt[c];
  }
  return NULL;
}

/*
 * batchNormMoving(heap, xOff, movingOff, outOff, rows, channels, which, decay):
 * out = moving − (moving − statistic)·decay, the statistic the batch's mean
 * (which 0) or variance (which 1): tfjs-layers' update, decay = 1 − momentum.
 */
napi_value batch_norm_moving(napi_env env, napi_callback_info info) {
  call_t call;
  float *x, *moving, *out;
  int64_t rows, channels, which;
  double *mean, *var, decay;
  if (!call_init(env, info, 8, &call) || !read_x(&call, 4, &x, &rows, &channels, &mean, &var) || !arg_int(&call, 6, 0, 1, &which) || !arg_double(&call, 7, &decay)
      || !arg_floats(&call, 2, (size_t)channels, false, &moving) || !arg_floats(&call, 3, (size_t)channels, false, &out)) return NULL;
  const double *stat = which ? var : mean;
  for (int64_t c = 0; c < channels; c++) out[c] = moving[c] - (moving[c] - (float)stat[c]) * (float)decay;
  return NULL;
}

/* Σ dz and Σ dz·x̂ per channel, dz = dy, or 0 where the ReLU's output y is not positive (y NULL: no ReLU). */
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void grad_sums(const float *restrict x, const float *restrict dy, const float *restrict y, const float *restrict mean, const float *restrict inv,
                      int64_t rows, int64_t channels, double *restrict sum_dz, double *restrict sum_dz_xhat) {
  for (int64_t r = 0; r < rows; r++) {
    const float *restrict xr = x + r * channels, *restrict dyr = dy + r * channels;
    if (y) {
      const float *restrict yr = y + r * channels;
      for (int64_t c = 0; c < channels; c++) {
        const float dz = yr[c] > 0.0f ? dyr[c] : 0.0f;
        sum_dz[c] += (double)dz;
        sum_dz_xhat[c] += (double)(dz * ((xr[c] - mean[c]) * inv[c]));
      }
    } else {
      for (int64_t c = 0; c < channels; c++) {
        sum_dz[c] += (double)dyr[c];
        sum_dz_xhat[c] += (double)(dyr[c] * ((xr[c] - mean[c]) * inv[c]));
      }
    }
  }
}

/* dx = scale·(m·dz − a − x̂·b) per value, a = Σdz and b = Σdz·x̂ of its channel. */
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void grad_input(const float *restrict x, const float *restrict dy, const float *restrict y, const float *restrict mean, const float *restrict inv,
                       const float *restrict scale, const float *restrict a, const float *restrict b, float m, int64_t rows, int64_t channels, float *restrict out) {
  for (int64_t r = 0; r < rows; r++) {
    const float *restrict xr = x + r * channels, *restrict dyr = dy + r * channels;
    float *restrict o = out + r * channels;
    if (y) {
      const float *restrict yr = y + r * channels;
      for (int64_t c = 0; c < channels; c++) {
        const float dz = yr[c] > 0.0f ? dyr[c] : 0.0f;
        o[c] = scale[c] * ((m * dz - a[c]) - ((xr[c] - mean[c]) * inv[c]) * b[c]);
      }
    } else {
      for (int64_t c = 0; c < channels; c++) o[c] = scale[c] * ((m * dyr[c] - a[c]) - ((xr[c] - mean[c]) * inv[c]) * b[c]);
    }
  }
}

/*
 * batchNormGrad(heap, xOff, dyOff, yOff, gammaOff, outOff, rows, channels, epsilon, which):
 * with dz = dy (yOff −1: no ReLU) or dy·step(y) (ReLU), which 0: dx = γ·σ⁻¹/m·(m·dz − Σdz − x̂·Σdz·x̂)
 * (the batch statistics depend on x); which 1: dγ = Σ dz·x̂; which 2: dβ = Σ dz (per channel).
 */
napi_value batch_norm_grad(napi_env env, napi_callback_info info) {
  call_t call;
  float *x, *dy, *y = NULL, *gamma, *out;
  int64_t rows, channels, which;
  double *mean, *var, eps;
  if (!call_init(env, info, 10, &call) || !read_x(&call, 6, &x, &rows, &channels, &mean, &var) || !arg_double(&call, 8, &eps) || !arg_int(&call, 9, 0, 2, &which)
      || !arg_floats(&call, 2, (size_t)(rows * channels), false, &dy) || !arg_floats(&call, 3, (size_t)(rows * channels), true, &y)
      || !arg_floats(&call, 4, (size_t)channels, false, &gamma) || !arg_floats(&call, 5, (size_t)(which == 0 ? rows * channels : channels), false, &out)) return NULL;
  double *restrict sum_dz = (double *)scratch(2, (size_t)channels * 2), *restrict sum_dz_xhat = (double *)scratch(3, (size_t)channels * 2);
  float *restrict inv = scratch(4, (size_t)channels), *restrict meanf = scratch(5, (size_t)channels);
  if (!sum_dz || !sum_dz_xhat || !inv || !meanf) return fail(env, "trainer_native batchNormGrad: out of memory");
  for (int64_t c = 0; c < channels; c++) sum_dz[c] = 0.0, sum_dz_xhat[c] = 0.0, inv[c] = (float)(1.0 / sqrt(var[c] + eps)), meanf[c] = (float)mean[c];
  grad_sums(x, dy, y, meanf, inv, rows, channels, sum_dz, sum_dz_xhat);
  if (which == 1 || which == 2) {
    for (int64_t c = 0; c < channels; c++) out[c] = (float)(which == 1 ? sum_dz_xhat[c] : sum_dz[c]);
    return NULL;
  }
  /* dx = scale·(m·dz − Σdz − x̂·Σdz·x̂), scale = γ·σ⁻¹/m, with the sums as floats. */
  float *restrict scale = scratch(6, (size_t)channels), *restrict a = scratch(7, (size_t)channels), *restrict b = scratch(8, (size_t)channels);
  if (!a || !b || !scale) return fail(env, "trainer_native batchNormGrad: out of memory");
  for (int64_t c = 0; c < channels; c++) {
    scale[c] = gamma[c] * inv[c] / (float)rows;
    a[c] = (float)sum_dz[c];
    b[c] = (float)sum_dz_xhat[c];
  }
  grad_input(x, dy, y, meanf, inv, scale, a, b, (float)rows, rows, channels, out);
  return NULL;
}
