/* Matrix products: tfjs's BatchMatMul and _FusedMatMul as OpenBLAS sgemm calls on the wasm heap. */
#include "matmul.h"

#include <cblas.h>

#include "args.h"
#include "elementwise.h"

#define DIM_MAX (INT64_C(1) << 31) - 1

/*
 * matmul(heap, aOff, bOff, cOff, batchA, batchB, m, n, k, transA, transB, biasOff, biasSize, act, alpha)
 * c[i] = act(op(a[i or 0]) · op(b[i or 0]) + bias) for i < max(batchA, batchB), row-major,
 * op(a) m × k and op(b) k × n; a batch of 1 is broadcast. biasOff < 0: no bias.
 */
napi_value matmul(napi_env env, napi_callback_info info) {
  call_t call;
  if (!call_init(env, info, 15, &call)) return NULL;
  int64_t batch_a, batch_b, m, n, k, trans_a, trans_b, bias_size, act;
  double alpha;
  if (!arg_int(&call, 4, 1, DIM_MAX, &batch_a) || !arg_int(&call, 5, 1, DIM_MAX, &batch_b) || !arg_int(&call, 6, 1, DIM_MAX, &m)
      || !arg_int(&call, 7, 1, DIM_MAX, &n) || !arg_int(&call, 8, 1, DIM_MAX, &k) || !arg_int(&call, 9, 0, 1, &trans_a)
      || !arg_int(&call, 10, 0, 1, &trans_b) || !arg_int(&call, 12, 0, DIM_MAX, &bias_size) || !arg_int(&call, 13, 0, ACT_COUNT - 1, &act)
      || !arg_double(&call, 14, &alpha)) return NULL;
  if (batch_a != batch_b && batch_a != 1 && batch_b != 1) return fail(env, "trainer_native matmul: batches differ and neither is 1");
  const int64_t batch = batch_a > batch_b ? batch_a : batch_b;
  /* Keeps the size arithmetic below exact; the heap checks then bound every region. */
  if ((double)batch * (double)m * (double)k > 0x1p40 || (double)batch * (double)k * (double)n > 0x1p40 || (double)batch * (double)m * (double)n > 0x1p40)
    return fail(env, "trainer_native matmul: too large");
  float *a, *b, *c, *bias;
  if (!arg_floats(&call, 1, (size_t)(batch_a * m * k), false, &a) || !arg_floats(&call, 2, (size_t)(batch_b * k * n), false, &b)
      || !arg_floats(&call, 3, (size_t)(batch * m * n), false, &c) || !arg_floats(&call, 11, (size_t)bias_size, true, &bias)) return NULL;
  if (bias && bias_size != n && bias_size != 1) return fail(env, "trainer_native matmul: bias must hold n values or one");
  for (int64_t i = 0; i < batch; i++) {
    const float *ai = a + (batch_a == 1 ? 0 : i * m * k);
    const float *bi = b + (batch_b == 1 ? 0 : i * k * n);
    float *ci = c + i * m * n;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k,
                1.0f, ai, trans_a ? (int)m : (int)k, bi, trans_b ? (int)k : (int)n, 0.0f, ci, (int)n);
    if (bias || act != ACT_LINEAR) bias_activation(ci, (size_t)m, (size_t)n, bias, (size_t)bias_size, (int)act, (float)alpha);
  }
  return NULL;
}
