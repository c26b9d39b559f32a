#ifndef TRAINER_NATIVE_MATMUL_H
#define TRAINER_NATIVE_MATMUL_H
#include <node_api.h>
napi_value matmul(napi_env env, napi_callback_info info);
#endif
