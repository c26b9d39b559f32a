#include "args.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

napi_value fail(napi_env env, const char *message) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, "ERR_TRAINER_NATIVE", message);
  return NULL;
}

bool float32_array(napi_env env, napi_value value, float **data, size_t *length) {
  bool typed = false;
  napi_typedarray_type type;
  void *raw = NULL;
  if (napi_is_typedarray(env, value, &typed) != napi_ok || !typed || napi_get_typedarray_info(env, value, &type, length, &raw, NULL, NULL) != napi_ok || type != napi_float32_array) return false;
  *data = raw;
  return true;
}

bool float32_arrays(napi_env env, napi_value array, uint32_t min, size_t length, const float **parts, uint32_t *count) {
  bool is_array = false;
  if (napi_is_array(env, array, &is_array) != napi_ok || !is_array || napi_get_array_length(env, array, count) != napi_ok || *count < min || *count > MAX_PARTS) return false;
  for (uint32_t r = 0; r < *count; r++) {
    napi_value part;
    float *data = NULL;
    size_t n = 0;
    if (napi_get_element(env, array, r, &part) != napi_ok || !float32_array(env, part, &data, &n) || n != length) return false;
    parts[r] = data;
  }
  return true;
}

bool call_init(napi_env env, napi_callback_info info, size_t expected, call_t *call) {
  call->env = env;
  call->argc = MAX_ARGS;
  if (napi_get_cb_info(env, info, &call->argc, call->argv, NULL, NULL) != napi_ok) return fail(env, "trainer_native: cannot read arguments"), false;
  if (call->argc != expected) {
    char msg[96];
    snprintf(msg, sizeof msg, "trainer_native: expected %zu arguments, got %zu", expected, call->argc);
    return fail(env, msg), false;
  }
  bool is_ab = false;
  napi_is_arraybuffer(env, call->argv[0], &is_ab);
  if (!is_ab) return fail(env, "trainer_native: argument 0 must be the wasm heap's ArrayBuffer"), false;
  void *data = NULL;
  if (napi_get_arraybuffer_info(env, call->argv[0], &data, &call->heap_bytes) != napi_ok) return fail(env, "trainer_native: cannot read the heap"), false;
  call->heap = data;
  return true;
}

bool arg_double(call_t *call, size_t i, double *out) {
  if (napi_get_value_double(call->env, call->argv[i], out) != napi_ok) {
    char msg[64];
    snprintf(msg, sizeof msg, "trainer_native: argument %zu must be a number", i);
    return fail(call->env, msg), false;
  }
  return true;
}

bool arg_int(call_t *call, size_t i, int64_t lo, int64_t hi, int64_t *out) {
  double d;
  if (!arg_double(call, i, &d)) return false;
  if (!(d == floor(d)) || d < (double)lo || d > (double)hi) {
    char msg[128];
    snprintf(msg, sizeof msg, "trainer_native: argument %zu = %g is not an integer in [%lld, %lld]", i, d, (long long)lo, (long long)hi);
    return fail(call->env, msg), false;
  }
  *out = (int64_t)d;
  return true;
}

bool arg_floats(call_t *call, size_t i, size_t count, bool optional, float **out) {
  return arg_region(call, i, count, sizeof(float), optional, (void **)out);
}

bool arg_region(call_t *call, size_t i, size_t count, size_t size, bool optional, void **out) {
  int64_t offset;
  if (!arg_int(call, i, optional ? -1 : 0, INT64_C(1) << 52, &offset)) return false;
  if (offset < 0) {
    *out = NULL;
    return true;
  }
  size_t bytes = count * size;
  if (count > SIZE_MAX / size || (size_t)offset % size != 0 || (size_t)offset > call->heap_bytes || bytes > call->heap_bytes - (size_t)offset) {
    char msg[160];
    snprintf(msg, sizeof msg, "trainer_native: argument %zu: %zu values of %zu bytes at byte %lld do not lie (aligned) inside the %zu-byte heap", i, count, size, (long long)offset, call->heap_bytes);
    return fail(call->env, msg), false;
  }
  *out = call->heap + offset;
  return true;
}

bool arg_int32s(call_t *call, size_t i, size_t count, int32_t **out) {
  napi_typedarray_type type;
  size_t length;
  void *data;
  bool is_ta = false;
  napi_is_typedarray(call->env, call->argv[i], &is_ta);
  if (!is_ta || napi_get_typedarray_info(call->env, call->argv[i], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_int32_array || length != count) {
    char msg[96];
    snprintf(msg, sizeof msg, "trainer_native: argument %zu must be an Int32Array of %zu", i, count);
    return fail(call->env, msg), false;
  }
  *out = data;
  return true;
}

#define SCRATCH_SLOTS 9
static float *scratch_data[SCRATCH_SLOTS];
static size_t scratch_count[SCRATCH_SLOTS];

float *scratch(size_t slot, size_t count) {
  if (slot >= SCRATCH_SLOTS) return NULL;
  if (count > scratch_count[slot]) {
    free(scratch_data[slot]);
    scratch_data[slot] = aligned_alloc(64, ((count * sizeof(float) + 63) / 64) * 64);
    scratch_count[slot] = scratch_data[slot] ? count : 0;
  }
  return scratch_data[slot];
}
