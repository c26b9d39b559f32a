/* Adam's update (FlatAdam, src/shared/gan/flatAdam.ts) in one pass over its operands, the same bits as its tfjs kernels. */
#include "adam.h"

#include <math.h>
#include <stdint.h>

#include "args.h"
#include "slotAverage.h"

/*
 * The update's loop, built for AVX-512, AVX2 and plain x86-64, picked at load time: division and
 * square root dominate it, and wider vectors do more of them per cycle. The same IEEE float32
 * operations in the same order on every path (C11 forbids contracting them into multiply-adds),
 * so the same bits whichever the CPU.
 */
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void adam_loop(size_t count, const float *restrict g_in, const float *restrict m_in, const float *restrict v_in, const float *restrict value_in,
                      float *restrict value_out, float *restrict m_out, float *restrict v_out, float b1, float b2, float c1, float c2,
                      float one_minus_acc1, float one_minus_acc2, float neg_lr, float eps) {
  /* The outputs are fresh tensors: nothing aliases them, which lets the loop vectorize. */
  for (size_t i = 0; i < count; i++) {
    const float g = g_in[i];
    const float new_m = m_in[i] * b1 + g * c1;
    const float new_v = v_in[i] * b2 + (g * g) * c2;
    const float corrected_m = new_m / one_minus_acc1;
    const float corrected_v = new_v / one_minus_acc2;
    m_out[i] = new_m;
    v_out[i] = new_v;
    value_out[i] = (corrected_m / (sqrtf(corrected_v) + eps)) * neg_lr + value_in[i];
  }
}

/*
 * adam(heap, n, valueOff, gradOff, mOff, vOff, accBeta1Off, accBeta2Off, outValueOff, outMOff, outVOff, beta1, beta2, lr, epsilon)
 * One pass of FlatAdam's update (src/shared/gan/flatAdam.ts) over n floats, with
 * the same float32 operations in the same order as its tfjs kernels, so the same
 * bits: every replica applies the same update whichever backend it runs (the
 * build keeps ISO C's no-contraction rule: no fused multiply-adds).
 */
napi_value adam_update(napi_env env, napi_callback_info info) {
  call_t call;
  if (!call_init(env, info, 15, &call)) return NULL;
  int64_t n;
  double beta1, beta2, lr, epsilon;
  if (!arg_int(&call, 1, 1, (INT64_C(1) << 31) - 1, &n) || !arg_double(&call, 11, &beta1) || !arg_double(&call, 12, &beta2) || !arg_double(&call, 13, &lr)
      || !arg_double(&call, 14, &epsilon)) return NULL;
  float *value, *grad, *m, *v, *acc1, *acc2, *out_value, *out_m, *out_v;
  const size_t count = (size_t)n;
  if (!arg_floats(&call, 2, count, false, &value) || !arg_floats(&call, 3, count, false, &grad) || !arg_floats(&call, 4, count, false, &m)
      || !arg_floats(&call, 5, count, false, &v) || !arg_floats(&call, 6, 1, false, &acc1) || !arg_floats(&call, 7, 1, false, &acc2)
      || !arg_floats(&call, 8, count, false, &out_value) || !arg_floats(&call, 9, count, false, &out_m) || !arg_floats(&call, 10, count, false, &out_v)) return NULL;
  /* The scalars as tfjs makes them: JS doubles (1 − beta1 computed in double) rounded to float32. */
  const float b1 = (float)beta1, b2 = (float)beta2, c1 = (float)(1.0 - beta1), c2 = (float)(1.0 - beta2), neg_lr = (float)(-lr), eps = (float)epsilon;
  const float one_minus_acc1 = 1.0f - *acc1, one_minus_acc2 = 1.0f - *acc2;
  adam_loop(count, grad, m, v, value, out_value, out_m, out_v, b1, b2, c1, c2, one_minus_acc1, one_minus_acc2, neg_lr, eps);
  return NULL;
}

/*
 * adamParts(heap, parts, factor, layout, mOff, vOff, accBeta1Off, accBeta2Off, outMOff, outVOff, beta1, beta2, lr, epsilon)
 *
 * The same update as adam(), over a model's variables as they lie in the heap (layout: a Float64Array of
 * [valueOff, outValueOff, size] per variable, in the order of the flat gradient, m and v), with the gradient
 * formed here from `parts` (Float32Arrays outside the heap, each as long as the sizes' sum):
 * g = float(double(float(…(p0 + p1) + …)) · factor), what averageSlots writes (slotAverage.c), so a replica that
 * averages first and one that averages here apply the same bits. One part with factor 1 is the gradient as it is.
 * Saves what the flat path costs around its one pass: the variables concatenated, the gradient uploaded, the
 * result split, and (for ranks sharing memory) the averaged gradient written and read back.
 *
 * Returns whether every gradient was finite. The outputs are fresh tensors, written either way: when it returns
 * false the caller drops them and keeps the state as it was, as the flat path does after its finite check.
 */
napi_value adam_parts(napi_env env, napi_callback_info info) {
  call_t call;
  if (!call_init(env, info, 14, &call)) return NULL;
  double factor, beta1, beta2, lr, epsilon;
  if (!arg_double(&call, 2, &factor) || !arg_double(&call, 10, &beta1) || !arg_double(&call, 11, &beta2) || !arg_double(&call, 12, &lr)
      || !arg_double(&call, 13, &epsilon)) return NULL;
  /* The layout: [valueOff, outValueOff, size] per variable. */
  napi_typedarray_type type;
  size_t layout_len = 0;
  void *layout_raw = NULL;
  bool typed = false;
  if (napi_is_typedarray(env, call.argv[3], &typed) != napi_ok || !typed || napi_get_typedarray_info(env, call.argv[3], &type, &layout_len, &layout_raw, NULL, NULL) != napi_ok
      || type != napi_float64_array || layout_len == 0 || layout_len % 3 != 0)
    return fail(env, "trainer_native adamParts: the layout must be a Float64Array of [valueOff, outValueOff, size] per variable");
  const double *layout = layout_raw;
  const size_t vars = layout_len / 3;
  size_t total = 0;
  for (size_t k = 0; k < vars; k++) {
    const double size = layout[3 * k + 2];
    if (!(size >= 1 && size <= 2147483647.0 && size == floor(size))) return fail(env, "trainer_native adamParts: a variable's size must be an integer in [1, 2^31)");
    total += (size_t)size;
  }
  /* Each variable's value and output inside the heap, float-aligned. */
  for (size_t k = 0; k < vars; k++) {
    const size_t bytes = (size_t)layout[3 * k + 2] * sizeof(float);
    for (int j = 0; j < 2; j++) {
      const double off = layout[3 * k + j];
      if (!(off >= 0 && off == floor(off) && off <= (double)call.heap_bytes) || (size_t)off % sizeof(float) != 0 || bytes > call.heap_bytes - (size_t)off)
        return fail(env, "trainer_native adamParts: a variable's value or output does not lie (aligned) inside the heap");
    }
  }
  float *m, *v, *acc1, *acc2, *out_m, *out_v;
  if (!arg_floats(&call, 4, total, false, &m) || !arg_floats(&call, 5, total, false, &v) || !arg_floats(&call, 6, 1, false, &acc1) || !arg_floats(&call, 7, 1, false, &acc2)
      || !arg_floats(&call, 8, total, false, &out_m) || !arg_floats(&call, 9, total, false, &out_v)) return NULL;
  const float *parts[MAX_PARTS];
  uint32_t count = 0;
  if (!float32_arrays(env, call.argv[1], 1, total, parts, &count))
    return fail(env, "trainer_native adamParts: parts must be an array of 1 to 256 Float32Arrays, each as long as the variables' sizes together");

  /* The scalars as adam() makes them (see there). */
  const float b1 = (float)beta1, b2 = (float)beta2, c1 = (float)(1.0 - beta1), c2 = (float)(1.0 - beta2), neg_lr = (float)(-lr), eps = (float)epsilon;
  const float one_minus_acc1 = 1.0f - *acc1, one_minus_acc2 = 1.0f - *acc2;
  /* Blocks of the gradient that stay in L1 between being formed and being used. */
  enum { BLOCK = 2048 };
  float g[BLOCK];
  uint32_t nonfinite = 0;
  size_t flat = 0;
  for (size_t k = 0; k < vars; k++) {
    const float *value = (const float *)(call.heap + (size_t)layout[3 * k]);
    float *out_value = (float *)(call.heap + (size_t)layout[3 * k + 1]);
    const size_t size = (size_t)layout[3 * k + 2];
    for (size_t start = 0; start < size; start += BLOCK) {
      const size_t len = size - start < BLOCK ? size - start : BLOCK;
      const size_t at = flat + start;
      nonfinite |= average_block(len, parts, count, at, factor, g);
      adam_loop(len, g, m + at, v + at, value + start, out_value + start, out_m + at, out_v + at, b1, b2, c1, c2, one_minus_acc1, one_minus_acc2, neg_lr, eps);
    }
    flat += size;
  }
  napi_value out;
  napi_get_boolean(env, nonfinite == 0, &out);
  return out;
}
