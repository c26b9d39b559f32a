/* The addon's registration: one JS function per kernel, plus the BLAS thread count, shared memory and its slot average. */
#include <cblas.h>
#include <node_api.h>

#include "adam.h"
#include "args.h"
#include "batchNorm.h"
#include "conv.h"
#include "elementwise.h"
#include "matmul.h"
#include "shm.h"
#include "shmBarrier.h"
#include "slotAverage.h"

/* setThreads(n): OpenBLAS threads for every later product. */
static napi_value set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t n = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1 || n > 1024)
    return fail(env, "trainer_native setThreads: expected one integer in [1, 1024]");
  openblas_set_num_threads(n);
  return NULL;
}

static napi_value get_threads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_int32(env, openblas_get_num_threads(), &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  const napi_property_descriptor fns[] = {
    {"matmul", NULL, matmul, NULL, NULL, NULL, napi_enumerable, NULL},
    {"conv2d", NULL, conv2d, NULL, NULL, NULL, napi_enumerable, NULL},
    {"conv2dBackpropInput", NULL, conv2d_backprop_input, NULL, NULL, NULL, napi_enumerable, NULL},
    {"conv2dBackpropFilter", NULL, conv2d_backprop_filter, NULL, NULL, NULL, napi_enumerable, NULL},
    {"adam", NULL, adam_update, NULL, NULL, NULL, napi_enumerable, NULL},
    {"adamParts", NULL, adam_parts, NULL, NULL, NULL, napi_enumerable, NULL},
    {"sumRows", NULL, sum_rows, NULL, NULL, NULL, napi_enumerable, NULL},
    {"leakyRelu", NULL, leaky_relu, NULL, NULL, NULL, napi_enumerable, NULL},
    {"greater", NULL, greater, NULL, NULL, NULL, napi_enumerable, NULL},
    {"select", NULL, select_values, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tanh", NULL, tanh_values, NULL, NULL, NULL, napi_enumerable, NULL},
    {"activationGrad", NULL, activation_grad, NULL, NULL, NULL, napi_enumerable, NULL},
    {"batchNorm", NULL, batch_norm, NULL, NULL, NULL, napi_enumerable, NULL},
    {"batchNormMoving", NULL, batch_norm_moving, NULL, NULL, NULL, napi_enumerable, NULL},
    {"batchNormGrad", NULL, batch_norm_grad, NULL, NULL, NULL, napi_enumerable, NULL},
    {"allFinite", NULL, all_finite, NULL, NULL, NULL, napi_enumerable, NULL},
    {"setThreads", NULL, set_threads, NULL, NULL, NULL, napi_enumerable, NULL},
    {"getThreads", NULL, get_threads, NULL, NULL, NULL, napi_enumerable, NULL},
    {"shmMap", NULL, shm_map, NULL, NULL, NULL, napi_enumerable, NULL},
    {"shmUnlink", NULL, shm_unlink_name, NULL, NULL, NULL, napi_enumerable, NULL},
    {"shmArrive", NULL, shm_arrive, NULL, NULL, NULL, napi_enumerable, NULL},
    {"shmWait", NULL, shm_wait, NULL, NULL, NULL, napi_enumerable, NULL},
    {"averageSlots", NULL, average_slots, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns) != napi_ok) return NULL;
  /* Each worker owns one core: one BLAS thread unless asked for more. */
  openblas_set_num_threads(1);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
