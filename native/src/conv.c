/*
 * 2-D convolutions, NHWC, dilation 1, as im2col/col2im and OpenBLAS sgemm on the
 * wasm heap. The patch matrix P has one row per output pixel (b, oh, ow) and one
 * column per (kh, kw, c), which is the filter's [kH, kW, inC, outC] layout seen
 * as K × outC:  y = P·W,  dW = Pᵀ·dy,  dx = col2im(dy·Wᵀ).
 * Rows are processed in chunks so the patch matrix stays a few megabytes.
 */
#include "conv.h"

#include <cblas.h>
#include <string.h>

#include "args.h"
#include "elementwise.h"

typedef struct {
  int64_t batch, in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w, stride_h, stride_w, pad_top, pad_left;
} geometry_t;

/* Floats in one chunk of the patch matrix. */
#define CHUNK_FLOATS (1 << 20)

static bool read_geometry(call_t *call, size_t i, geometry_t *g) {
  int32_t *v;
  if (!arg_int32s(call, i, 13, &v)) return false;
  int64_t *f = &g->batch;
  for (int j = 0; j < 13; j++) f[j] = v[j];
  /* Memory safety rests on the sizes checked against the heap; these bounds keep the index arithmetic in range. */
  for (int j = 0; j < 13; j++) {
    if (f[j] < (j < 11 ? 1 : 0) || f[j] > (1 << 24)) return fail(call->env, "trainer_native conv: geometry sizes must lie in [1, 2^24], paddings in [0, 2^24]"), false;
  }
  /* Keeps the size arithmetic exact (each product fits in 2^40); the heap checks then bound every region. */
  const double rows = (double)g->batch * (double)g->out_h * (double)g->out_w, k = (double)g->k_h * (double)g->k_w * (double)g->in_c;
  if (rows > 0x1p31 - 1 || k > 0x1p24 || rows * (double)g->out_c > 0x1p40 || k * (double)g->out_c > 0x1p40
      || (double)g->batch * (double)g->in_h * (double)g->in_w * (double)g->in_c > 0x1p40) return fail(call->env, "trainer_native conv: too large"), false;
  return true;
}

static int64_t rows_per_chunk(const geometry_t *g, int64_t k) {
  const int64_t total = g->batch * g->out_h * g->out_w;
  int64_t rows = CHUNK_FLOATS / k;
  if (rows < 1) rows = 1;
  return rows < total ? rows : total;
}

/* Rows [r0, r0 + rows) of the patch matrix of x into p (rows × K). */
static void im2col(const float *x, const geometry_t *g, int64_t r0, int64_t rows, float *p) {
  const int64_t c = g->in_c, ohw = g->out_h * g->out_w;
  for (int64_t r = r0; r < r0 + rows; r++) {
    const int64_t b = r / ohw, oh = (r % ohw) / g->out_w, ow = r % g->out_w;
    const float *xb = x + b * g->in_h * g->in_w * c;
    for (int64_t kh = 0; kh < g->k_h; kh++) {
      const int64_t ih = oh * g->stride_h + kh - g->pad_top;
      for (int64_t kw = 0; kw < g->k_w; kw++, p += c) {
        const int64_t iw = ow * g->stride_w + kw - g->pad_left;
        if (ih < 0 || ih >= g->in_h || iw < 0 || iw >= g->in_w) memset(p, 0, (size_t)c * sizeof(float));
        else memcpy(p, xb + (ih * g->in_w + iw) * c, (size_t)c * sizeof(float));
      }
    }
  }
}

/* The adjoint: adds rows [r0, r0 + rows) of p back into dx (entries over the padding are dropped). */
static void col2im(const float *p, const geometry_t *g, int64_t r0, int64_t rows, float *dx) {
  const int64_t c = g->in_c, ohw = g->out_h * g->out_w;
  for (int64_t r = r0; r < r0 + rows; r++) {
    const int64_t b = r / ohw, oh = (r % ohw) / g->out_w, ow = r % g->out_w;
    float *xb = dx + b * g->in_h * g->in_w * c;
    for (int64_t kh = 0; kh < g->k_h; kh++) {
      const int64_t ih = oh * g->stride_h + kh - g->pad_top;
      for (int64_t kw = 0; kw < g->k_w; kw++, p += c) {
        const int64_t iw = ow * g->stride_w + kw - g->pad_left;
        if (ih < 0 || ih >= g->in_h || iw < 0 || iw >= g->in_w) continue;
        float *d = xb + (ih * g->in_w + iw) * c;
        for (int64_t j = 0; j < c; j++) d[j] += p[j];
      }
    }
  }
}

static int64_t in_size(const geometry_t *g) { return g->batch * g->in_h * g->in_w * g->in_c; }
static int64_t out_rows(const geometry_t *g) { return g->batch * g->out_h * g->out_w; }
static int64_t patch_cols(const geometry_t *g) { return g->k_h * g->k_w * g->in_c; }

/* conv2d(heap, geometry, xOff, filterOff, yOff, biasOff, act, alpha): y = act(conv(x, W) + bias). */
napi_value conv2d(napi_env env, napi_callback_info info) {
  call_t call;
  geometry_t g;
  int64_t act;
  double alpha;
  if (!call_init(env, info, 8, &call) || !read_geometry(&call, 1, &g) || !arg_int(&call, 6, 0, ACT_COUNT - 1, &act) || !arg_double(&call, 7, &alpha)) return NULL;
  const int64_t m = out_rows(&g), k = patch_cols(&g), n = g.out_c;
  float *x, *w, *y, *bias;
  if (!arg_floats(&call, 2, (size_t)in_size(&g), false, &x) || !arg_floats(&call, 3, (size_t)(k * n), false, &w)
      || !arg_floats(&call, 4, (size_t)(m * n), false, &y) || !arg_floats(&call, 5, (size_t)n, true, &bias)) return NULL;
  const int64_t chunk = rows_per_chunk(&g, k);
  float *p = scratch(0, (size_t)(chunk * k));
  if (!p) return fail(env, "trainer_native conv2d: out of memory");
  for (int64_t r0 = 0; r0 < m; r0 += chunk) {
    const int64_t rows = m - r0 < chunk ? m - r0 : chunk;
    im2col(x, &g, r0, rows, p);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)n, (int)k, 1.0f, p, (int)k, w, (int)n, 0.0f, y + r0 * n, (int)n);
  }
  if (bias || act != ACT_LINEAR) bias_activation(y, (size_t)m, (size_t)n, bias, (size_t)n, (int)act, (float)alpha);
  return NULL;
}

/* conv2dBackpropInput(heap, geometry, dyOff, filterOff, dxOff): dx = col2im(dy · Wᵀ). */
napi_value conv2d_backprop_input(napi_env env, napi_callback_info info) {
  call_t call;
  geometry_t g;
  if (!call_init(env, info, 5, &call) || !read_geometry(&call, 1, &g)) return NULL;
  const int64_t m = out_rows(&g), k = patch_cols(&g), n = g.out_c;
  float *dy, *w, *dx;
  if (!arg_floats(&call, 2, (size_t)(m * n), false, &dy) || !arg_floats(&call, 3, (size_t)(k * n), false, &w)
      || !arg_floats(&call, 4, (size_t)in_size(&g), false, &dx)) return NULL;
  const int64_t chunk = rows_per_chunk(&g, k);
  float *p = scratch(0, (size_t)(chunk * k));
  if (!p) return fail(env, "trainer_native conv2dBackpropInput: out of memory");
  memset(dx, 0, (size_t)in_size(&g) * sizeof(float));
  for (int64_t r0 = 0; r0 < m; r0 += chunk) {
    const int64_t rows = m - r0 < chunk ? m - r0 : chunk;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)k, (int)n, 1.0f, dy + r0 * n, (int)n, w, (int)n, 0.0f, p, (int)k);
    col2im(p, &g, r0, rows, dx);
  }
  return NULL;
}

/* conv2dBackpropFilter(heap, geometry, xOff, dyOff, dwOff): dW = Pᵀ · dy, summed over the chunks. */
napi_value conv2d_backprop_filter(napi_env env, napi_callback_info info) {
  call_t call;
  geometry_t g;
  if (!call_init(env, info, 5, &call) || !read_geometry(&call, 1, &g)) return NULL;
  const int64_t m = out_rows(&g), k = patch_cols(&g), n = g.out_c;
  float *x, *dy, *dw;
  if (!arg_floats(&call, 2, (size_t)in_size(&g), false, &x) || !arg_floats(&call, 3, (size_t)(m * n), false, &dy)
      || !arg_floats(&call, 4, (size_t)(k * n), false, &dw)) return NULL;
  const int64_t chunk = rows_per_chunk(&g, k);
  float *p = scratch(0, (size_t)(chunk * k));
  if (!p) return fail(env, "trainer_native conv2dBackpropFilter: out of memory");
  for (int64_t r0 = 0; r0 < m; r0 += chunk) {
    const int64_t rows = m - r0 < chunk ? m - r0 : chunk;
    im2col(x, &g, r0, rows, p);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)n, (int)rows, 1.0f, p, (int)k, dy + r0 * n, (int)n, r0 == 0 ? 0.0f : 1.0f, dw, (int)n);
  }
  return NULL;
}
