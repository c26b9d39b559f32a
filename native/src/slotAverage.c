/*
 * The shared-memory all-reduce's own work: a rank's chunk averaged over every
 * rank's slot. The same arithmetic as the JavaScript it replaces
 * (sharedMemoryReduce.ts, averageSlotsJs), so the bits are the same: the parts
 * added left to right in float32, then one multiply by the factor in double,
 * rounded to float32 (what Math.fround and a Float32Array store do). Double
 * arithmetic on float32 operands rounds like float32 arithmetic for + and ×
 * (53 ≥ 2·24 + 2 bits), so this equals the JavaScript whatever the compiler
 * vectorizes, as long as it keeps IEEE semantics (no -ffast-math).
 */
#include "slotAverage.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "args.h"

/*
 * g[0, len) = the average of the parts over [at, at + len), the arithmetic above, and whether a
 * value of it is not finite (NaN fails every comparison; ±∞ exceeds FLT_MAX), with no branch per value so
 * that the loops vectorize, for the widest vectors the CPU has.
 */
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
uint32_t average_block(size_t len, const float *const *parts, uint32_t count, size_t at, double factor, float *restrict g) {
  const float *restrict p0 = parts[0] + at;
  if (count == 1) {
    for (size_t i = 0; i < len; i++) g[i] = (float)((double)p0[i] * factor);
  } else {
    const float *restrict p1 = parts[1] + at;
    for (size_t i = 0; i < len; i++) g[i] = p0[i] + p1[i];
    for (uint32_t r = 2; r < count; r++) {
      const float *restrict p = parts[r] + at;
      for (size_t i = 0; i < len; i++) g[i] += p[i];
    }
    for (size_t i = 0; i < len; i++) g[i] = (float)((double)g[i] * factor);
  }
  uint32_t bad = 0;
  for (size_t i = 0; i < len; i++) bad |= fabsf(g[i]) <= FLT_MAX ? 0u : 1u;
  return bad;
}

/* averageSlots(out, parts, factor): out[i] = float(float(…float(p0[i] + p1[i]) + …) · factor), every part as long as out. */
napi_value average_slots(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  const char *usage = "trainer_native averageSlots: expected (out: Float32Array, parts: Float32Array[] of 2 to 256, each as long as out, factor: number)";
  uint32_t count = 0;
  double factor = 0;
  float *out = NULL;
  size_t n = 0;
  const float *parts[MAX_PARTS];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3 || !float32_array(env, argv[0], &out, &n)
      || !float32_arrays(env, argv[1], 2, n, parts, &count) || napi_get_value_double(env, argv[2], &factor) != napi_ok)
    return fail(env, usage);
  /* Blocks that stay in L1 while every part is added into them. */
  enum { BLOCK = 2048 };
  for (size_t start = 0; start < n; start += BLOCK) average_block(n - start < BLOCK ? n - start : BLOCK, parts, count, start, factor, out + start);
  return NULL;
}
