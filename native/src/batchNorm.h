/* Batch norm in training mode over the last axis (NHWC), with an optional ReLU: the trainer's batch-norm op. */
#ifndef TRAINER_NATIVE_BATCH_NORM_H
#define TRAINER_NATIVE_BATCH_NORM_H

#include <node_api.h>

napi_value batch_norm(napi_env env, napi_callback_info info);
napi_value batch_norm_moving(napi_env env, napi_callback_info info);
napi_value batch_norm_grad(napi_env env, napi_callback_info info);

#endif
