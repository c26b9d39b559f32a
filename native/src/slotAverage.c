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

#include <stddef.h>

#include "args.h"

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
  float acc[BLOCK];
  for (size_t start = 0; start < n; start += BLOCK) {
    const size_t len = n - start < BLOCK ? n - start : BLOCK;
    const float *restrict p0 = parts[0] + start;
    const float *restrict p1 = parts[1] + start;
    for (size_t i = 0; i < len; i++) acc[i] = p0[i] + p1[i];
    for (uint32_t r = 2; r < count; r++) {
      const float *restrict p = parts[r] + start;
      for (size_t i = 0; i < len; i++) acc[i] += p[i];
    }
    float *restrict o = out + start;
    for (size_t i = 0; i < len; i++) o[i] = (float)((double)acc[i] * factor);
  }
  return NULL;
}
