/* Element-wise work: bias and activation after a product. */
#include "elementwise.h"

#include <math.h>
#include <stdint.h>

#include "args.h"

/*
 * tanh: the MLP generator's last activation (64×784 values twice a step), as tanh(heap, xOff, outOff, n)
 * and as the dense op's ACT_TANH.
 * glibc's tanhf is scalar and took about as long as wasm's (~19 ns a value); this is Eigen's
 * rational approximation (odd degree-13 over even degree-6 polynomial on [-7.9988, 7.9988],
 * x itself below 4e-4), branch-free so the loop vectorizes: ~1.5 ns a value, within 4e-7
 * relative of tanh in double over [-12, 12] (swept in steps of 1e-5) and down to 1e-38.
 * NaN stays NaN, ±Infinity gives ±1, -0 stays -0.
 */
static inline float tanh_approx(float v) {
  const float clamp = 7.99881172180175781f;
  const float c = v > clamp ? clamp : (v < -clamp ? -clamp : v);
  const float c2 = c * c;
  float p = -2.76076847742355e-16f;
  p = p * c2 + 2.00018790482477e-13f;
  p = p * c2 - 8.60467152213735e-11f;
  p = p * c2 + 5.12229709037114e-08f;
  p = p * c2 + 1.48572235717979e-05f;
  p = p * c2 + 6.37261928875436e-04f;
  p = p * c2 + 4.89352455891786e-03f;
  float q = 1.19825839466702e-06f;
  q = q * c2 + 1.18534705686654e-04f;
  q = q * c2 + 2.26843463243900e-03f;
  q = q * c2 + 4.89352518554385e-03f;
  const float r = (p * c) / q;
  return fabsf(v) < 4e-4f ? v : r;
}

void bias_activation(float *c, size_t rows, size_t cols, const float *bias, size_t bias_size, int act, float alpha) {
  for (size_t r = 0; r < rows; r++, c += cols) {
    if (bias) {
      if (bias_size == 1) for (size_t j = 0; j < cols; j++) c[j] += bias[0];
      else for (size_t j = 0; j < cols; j++) c[j] += bias[j];
    }
    switch (act) {
      case ACT_RELU: for (size_t j = 0; j < cols; j++) c[j] = c[j] > 0.0f ? c[j] : 0.0f; break;
      case ACT_RELU6: for (size_t j = 0; j < cols; j++) c[j] = c[j] < 0.0f ? 0.0f : (c[j] > 6.0f ? 6.0f : c[j]); break;
      case ACT_LEAKYRELU: for (size_t j = 0; j < cols; j++) c[j] = c[j] < 0.0f ? alpha * c[j] : c[j]; break;
      case ACT_SIGMOID: for (size_t j = 0; j < cols; j++) c[j] = 1.0f / (1.0f + expf(-c[j])); break;
      case ACT_TANH: for (size_t j = 0; j < cols; j++) c[j] = tanh_approx(c[j]); break;
      default: break;
    }
  }
}

/*
 * sumRows(heap, xOff, outOff, rows, cols, mean): out[c] = Σ_r x[r, c] (divided by
 * rows when mean is 1): tfjs's Sum and Mean over the leading axes, as bias and
 * batch-norm gradients ask for on NHWC tensors, in one pass without the
 * transpose wasm's kernels make first.
 */
napi_value sum_rows(napi_env env, napi_callback_info info) {
  call_t call;
  if (!call_init(env, info, 6, &call)) return NULL;
  int64_t rows, cols, mean;
  if (!arg_int(&call, 3, 1, (INT64_C(1) << 31) - 1, &rows) || !arg_int(&call, 4, 1, (INT64_C(1) << 31) - 1, &cols) || !arg_int(&call, 5, 0, 1, &mean)) return NULL;
  float *x, *out;
  if ((uint64_t)rows * (uint64_t)cols > (UINT64_C(1) << 31)) return fail(env, "trainer_native sumRows: too large");
  if (!arg_floats(&call, 1, (size_t)(rows * cols), false, &x) || !arg_floats(&call, 2, (size_t)cols, false, &out)) return NULL;
  for (int64_t c = 0; c < cols; c++) out[c] = 0.0f;
  for (int64_t r = 0; r < rows; r++) {
    const float *row = x + r * cols;
    for (int64_t c = 0; c < cols; c++) out[c] += row[c];
  }
  if (mean) for (int64_t c = 0; c < cols; c++) out[c] /= (float)rows;
  return NULL;
}

/*
 * The element-wise kernels of LeakyReLU and its gradient (mask = x > 0, then
 * select): exact operations, so the same bits as wasm's, without its broadcast
 * machinery. n values each; `b_size` of greater is n or 1 (a scalar).
 */
napi_value leaky_relu(napi_env env, napi_callback_info info) {
  call_t call;
  int64_t n;
  double alpha;
  float *x, *out;
  if (!call_init(env, info, 5, &call) || !arg_int(&call, 3, 1, (INT64_C(1) << 31) - 1, &n) || !arg_double(&call, 4, &alpha)
      || !arg_floats(&call, 1, (size_t)n, false, &x) || !arg_floats(&call, 2, (size_t)n, false, &out)) return NULL;
  const float a = (float)alpha;
  /* Branch-free (both sides computed) and unaliased: the loop vectorizes; signs are random, a branch would mispredict. */
  const float *restrict in = x;
  float *restrict o = out;
  for (int64_t i = 0; i < n; i++) {
    const float v = in[i], scaled = a * v;
    o[i] = v < 0.0f ? scaled : v;
  }
  return NULL;
}

napi_value tanh_values(napi_env env, napi_callback_info info) {
  call_t call;
  int64_t n;
  float *x, *out;
  if (!call_init(env, info, 4, &call) || !arg_int(&call, 3, 1, (INT64_C(1) << 31) - 1, &n)
      || !arg_floats(&call, 1, (size_t)n, false, &x) || !arg_floats(&call, 2, (size_t)n, false, &out)) return NULL;
  const float *restrict in = x;
  float *restrict o = out;
  for (int64_t i = 0; i < n; i++) o[i] = tanh_approx(in[i]);
  return NULL;
}

/*
 * activationGrad(heap, dyOff, yOff, outOff, n, act, alpha): the dense op's
 * activation gradient from the layer's output y, as tfjs's gradients form it:
 * ReLU dy·step(y), LeakyReLU y > 0 ? dy : α·dy (y has the input's sign), tanh
 * dy·(1 − y²). Branch-free: the loops vectorize.
 */
napi_value activation_grad(napi_env env, napi_callback_info info) {
  call_t call;
  int64_t n, act;
  double alpha;
  float *dy, *y, *out;
  if (!call_init(env, info, 7, &call) || !arg_int(&call, 4, 1, (INT64_C(1) << 31) - 1, &n) || !arg_int(&call, 5, 0, ACT_COUNT - 1, &act)
      || !arg_double(&call, 6, &alpha) || !arg_floats(&call, 1, (size_t)n, false, &dy) || !arg_floats(&call, 2, (size_t)n, false, &y)
      || !arg_floats(&call, 3, (size_t)n, false, &out)) return NULL;
  const float *restrict d = dy, *restrict t = y;
  float *restrict o = out;
  const float a = (float)alpha;
  switch (act) {
    case ACT_RELU: for (int64_t i = 0; i < n; i++) o[i] = t[i] > 0.0f ? d[i] : 0.0f; break;
    case ACT_LEAKYRELU: for (int64_t i = 0; i < n; i++) { const float scaled = d[i] * a; o[i] = t[i] > 0.0f ? d[i] : scaled; } break;
    case ACT_TANH: for (int64_t i = 0; i < n; i++) o[i] = d[i] * (1.0f - t[i] * t[i]); break;
    default: return fail(env, "trainer_native activationGrad: the activation must be relu, leakyrelu or tanh");
  }
  return NULL;
}

/* greater(heap, aOff, bOff, outOff, n, bSize): out[i] = a[i] > b[i or 0], one byte each. */
napi_value greater(napi_env env, napi_callback_info info) {
  call_t call;
  int64_t n, b_size;
  float *a, *b;
  void *out;
  if (!call_init(env, info, 6, &call) || !arg_int(&call, 4, 1, (INT64_C(1) << 31) - 1, &n) || !arg_int(&call, 5, 1, (INT64_C(1) << 31) - 1, &b_size)) return NULL;
  if (b_size != 1 && b_size != n) return fail(env, "trainer_native greater: b must hold n values or one");
  if (!arg_floats(&call, 1, (size_t)n, false, &a) || !arg_floats(&call, 2, (size_t)b_size, false, &b) || !arg_region(&call, 3, (size_t)n, 1, false, &out)) return NULL;
  uint8_t *restrict o = out;
  const float *restrict av = a;
  if (b_size == 1) {
    const float s = b[0];
    for (int64_t i = 0; i < n; i++) o[i] = av[i] > s;
  } else {
    for (int64_t i = 0; i < n; i++) o[i] = av[i] > b[i];
  }
  return NULL;
}

/* select(heap, conditionOff, tOff, eOff, outOff, n): out[i] = condition[i] ? t[i] : e[i]. */
napi_value select_values(napi_env env, napi_callback_info info) {
  call_t call;
  int64_t n;
  void *condition;
  float *t, *e, *out;
  if (!call_init(env, info, 6, &call) || !arg_int(&call, 5, 1, (INT64_C(1) << 31) - 1, &n) || !arg_region(&call, 1, (size_t)n, 1, false, &condition)
      || !arg_floats(&call, 2, (size_t)n, false, &t) || !arg_floats(&call, 3, (size_t)n, false, &e) || !arg_floats(&call, 4, (size_t)n, false, &out)) return NULL;
  const uint8_t *restrict c = condition;
  const float *restrict tv = t, *restrict ev = e;
  float *restrict o = out;
  for (int64_t i = 0; i < n; i++) {
    const float a = tv[i], b = ev[i];
    o[i] = c[i] ? a : b;
  }
  return NULL;
}

/*
 * allFinite(values: Float32Array): whether no value is NaN or ±Infinity (exponent bits all ones).
 * A JS Float32Array, not the heap: the check runs on the all-reduce's average before it is applied.
 * No early exit, so the loop vectorizes; a non-finite average is rare (and then the whole phase is skipped).
 */
napi_value all_finite(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  size_t length = 0;
  float *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || !float32_array(env, argv[0], &data, &length))
    return fail(env, "trainer_native allFinite: expected one Float32Array");
  const uint32_t *restrict bits = (const uint32_t *)data;
  uint32_t bad = 0;
  for (size_t i = 0; i < length; i++) bad |= (bits[i] & UINT32_C(0x7f800000)) == UINT32_C(0x7f800000);
  napi_value out;
  napi_get_boolean(env, bad == 0, &out);
  return out;
}
